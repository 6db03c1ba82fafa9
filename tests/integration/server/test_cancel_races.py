"""Concurrent cancels of running Firefly jobs against a live server, on SQLite and on
PostgreSQL: of eight clients cancelling one job at once exactly one is told it worked (200,
``cancel_pending``) and the others get the documented 409; a job answered ``cancel_pending``
always ends ``cancelled``, never ``succeeded``, even when the cancels land just as its worker
finishes; and a cancelled job leaves no output file behind."""

from __future__ import annotations

import io
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from support.http_server import Reply, ScriptedServer, serve
from support.lampyris_server import LampyrisServer
from support.procs import wait_until

LOOPBACK = {"LAMPYRIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8"}
ROUNDS, CANCELS = 50, 8
UNFINISHED = ("pending", "running", "cancel_pending")


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def source() -> Iterator[ScriptedServer]:
    yield from serve(ScriptedServer(), None)


@pytest.fixture(params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, fresh_server_dir: Path) -> Iterator[LampyrisServer]:
    url = None
    if request.param == "postgresql":
        admin_url: str = request.getfixturevalue("postgres_url")
        database = f"lampyris_{fresh_server_dir.name.replace('-', '_').lower()}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        admin.dispose()
        url = admin_url.rsplit("/", 1)[0] + f"/{database}"
    server = LampyrisServer(fresh_server_dir, env=LOOPBACK, workers=2, database_url=url)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Round:
    job_id: str
    answers: list[httpx.Response]
    final: dict[str, Any]


def _run_round(live: LampyrisServer, source: ScriptedServer, index: int, photo: bytes,
               mask: str, fetch: float, offsets: list[float]) -> Round:
    """One job whose input arrives ``fetch`` seconds after its worker asks for it, and one
    cancel per offset, sent that many seconds after the worker asked (one barrier)."""
    path = f"/round-{index}.png"
    source.script(path, Reply(body=photo, headers={"Content-Type": "image/png"}, delay=fetch))
    accepted = live.post("/v3/images/fill-async", {
        "image": {"source": {"url": source.url(path)}}, "mask": {"source": {"uploadId": mask}}})
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    wait_until(lambda: source.hits(path) >= 1, timeout=60, what="the worker fetching")
    start = threading.Barrier(len(offsets))
    headers = live.headers()

    def cancel(offset: float) -> httpx.Response:
        start.wait()
        time.sleep(offset)
        return httpx.put(job["cancelUrl"], headers=headers, timeout=60)

    with ThreadPoolExecutor(len(offsets)) as pool:
        answers = list(pool.map(cancel, offsets))
    deadline = time.monotonic() + 60
    while True:
        final = httpx.get(job["statusUrl"], headers=headers, timeout=60).json()
        if final["status"] not in UNFINISHED or time.monotonic() > deadline:
            return Round(job["jobId"], answers, final)
        time.sleep(0.05)


def test_concurrent_cancels_one_winner_and_never_succeeded_after_cancel_pending(
    live: LampyrisServer, source: ScriptedServer
):
    rng = np.random.default_rng(3)
    scene = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    mask_pixels = np.zeros((48, 64), np.uint8)
    mask_pixels[10:20, 10:30] = 255
    upload = httpx.post(f"{live.url}/v2/storage/image", content=_png(mask_pixels),
                        headers={**live.headers(), "Content-Type": "image/png"}, timeout=30)
    assert upload.status_code == 200, upload.text
    mask, photo = upload.json()["images"][0]["id"], _png(scene)
    pick = random.Random(13)

    # A cancel takes 0.1–0.35 s to be answered on a loaded 2-core machine (eight at once,
    # each a committed write): the "at once" rounds keep the job running for 0.6 s.
    fetches = [0.6 if i % 2 == 0 else pick.uniform(0.2, 0.4) for i in range(ROUNDS)]

    def play(index: int) -> Round:
        fetch = fetches[index]  # the job is running all that time
        if index % 2 == 0:  # all at once, long before the job can finish
            offsets = [0.0] * (CANCELS - 1)
        else:  # spread across the moment the worker finishes (fetch, then a few ms of work)
            offsets = [max(0.0, fetch - 0.15 + k * 0.05) for k in range(CANCELS - 1)]
        return _run_round(live, source, index, photo, mask, fetch, [*offsets, fetch + 0.3])

    with ThreadPoolExecutor(live.workers) as pool:
        rounds = list(pool.map(play, range(ROUNDS)))

    objects = live.data_dir / "objects" / "results"
    several_won, none_won, lied, wrong_409, outputs_left = [], [], [], [], []
    outcomes: list[str] = []
    for index, done in enumerate(rounds):
        codes = [a.status_code for a in done.answers]
        assert set(codes) <= {200, 409}, [a.text for a in done.answers]
        wins = [a for a in done.answers if a.status_code == 200]
        refused = {a.json()["error_code"] for a in done.answers if a.status_code == 409}
        if len(wins) > 1:
            several_won.append((index, codes))
        if index % 2 == 0 and not wins:
            none_won.append((index, codes, done.final["status"]))
        if wins:
            assert wins[0].json() == {"jobId": done.job_id, "status": "cancel_pending"}
            if done.final["status"] != "cancelled":
                lied.append((index, codes, done.final["status"]))
            if refused != {"job_already_canceled"}:
                wrong_409.append((index, refused))
            left = list((objects / done.job_id).glob("*")) if objects.is_dir() else []
            outputs_left += left
        else:
            assert done.final["status"] == "succeeded", (index, codes, done.final)
            if refused != {"job_completed"}:
                wrong_409.append((index, refused))
        outcomes.append("won" if wins else "finished first")
    spread = outcomes[1::2]
    print(f"\n{ROUNDS} rounds; of the {len(spread)} spread around the finish, "
          f"{spread.count('won')} cancelled, {spread.count('finished first')} finished first; "
          f"several winners in {len(several_won)}, answered cancel_pending but not cancelled in "
          f"{len(lied)}, outputs left by {len(outputs_left)}")
    assert several_won == [], "more than one concurrent cancel was told it worked"
    assert lied == [], "a job answered cancel_pending did not end cancelled"
    assert none_won == [], "no cancel of a running job was told it worked"
    assert wrong_409 == [], "the losers were not told why"
    assert outputs_left == [], "a job cancelled while running left its output"
