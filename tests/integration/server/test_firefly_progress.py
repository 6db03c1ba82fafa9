"""Job progress from real worker processes, on SQLite and on PostgreSQL: each worker opens the
job database itself and writes its jobs' progress into their rows, so a four-seed fill leaves
its last report (95: every render done) in the row, and a poll while it ran saw progress
from 0 to 95 moving forward only. Multipart bodies through uvicorn are here too.

The reports' values, a status between two renders and the store's rules (forward only, only
while held, the column added to an old database): tests/unit/api/
test_firefly_progress_inprocess.py."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import create_engine, text

from support import fill_scenes
from support.fill_scenes import png
from support.lampyris_server import LampyrisServer


def _upload(server: LampyrisServer, data: bytes) -> str:
    answer = httpx.post(f"{server.url}/v2/storage/image", content=data,
                        headers={**server.headers(), "Content-Type": "image/png"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["images"][0]["id"])


def _watch(server: LampyrisServer, status_url: str) -> tuple[dict[str, Any], list[float]]:
    """Poll until the job ends; its last status and every progress seen while it ran."""
    seen: list[float] = []
    deadline = time.monotonic() + 120
    while True:
        answer = httpx.get(status_url, headers=server.headers(), timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.headers["link"].startswith(f"<{status_url}>")
        body: dict[str, Any] = answer.json()
        if body["status"] not in ("pending", "running"):
            return body, seen
        seen.append(body["progress"])
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def _four_seeds(server: LampyrisServer) -> tuple[str, list[float]]:
    """A four-seed fill through the worker processes: its job id and the progress seen."""
    scene = fill_scenes.scene(2)
    accepted = server.post("/v3/images/fill-async", {
        "seeds": [1, 2, 3, 4], "size": {"width": 640, "height": 480},
        "image": {"source": {"uploadId": _upload(server, png(scene))}},
        "mask": {"source": {"uploadId": _upload(server, png(fill_scenes.hole_mask(2)))}}})
    assert accepted.status_code == 202, accepted.text
    status, seen = _watch(server, accepted.json()["statusUrl"])
    assert status["status"] == "succeeded", status
    assert len(status["result"]["outputs"]) == 4
    assert seen == sorted(seen) and all(0 <= p <= 95 for p in seen), seen
    return accepted.json()["jobId"], seen


def _row_progress(url: str, job_id: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            value = conn.execute(text("SELECT progress FROM jobs WHERE id = :id"),
                                 {"id": job_id}).scalar_one()
    finally:
        engine.dispose()
    return int(value)


def test_workers_write_progress_into_the_sqlite_row(server: LampyrisServer):
    job_id, _ = _four_seeds(server)
    assert _row_progress(server.database, job_id) == 95, "the worker's last report"


def test_workers_write_progress_into_the_postgresql_row(postgres_url: str,
                                                         fresh_server_dir: Path):
    database = f"lampyris_{fresh_server_dir.name.replace('-', '_').lower()}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    url = postgres_url.rsplit("/", 1)[0] + f"/{database}"
    live = LampyrisServer(fresh_server_dir, database_url=url, workers=1).start()
    try:
        job_id, _ = _four_seeds(live)
    finally:
        live.stop()
    assert _row_progress(url, job_id) == 95


def test_a_multipart_fill_through_uvicorn(server: LampyrisServer):
    scene, mask = fill_scenes.scene(1), fill_scenes.hole_mask(1)
    request = {"seeds": [5], "size": {"width": 320, "height": 240},
               "lampyris": {"format": "png"}, "image": {"source": {"uploadId": "photo.png"}},
               "mask": {"source": {}}}
    answer = httpx.post(f"{server.url}/v3/images/fill", headers=server.headers(), timeout=60,
                        data={"request": json.dumps(request)},
                        files=[("files", ("m.png", png(mask), "image/png")),
                               ("files", ("photo.png", png(scene), "image/png"))])
    assert answer.status_code == 200, answer.text
    out = fill_scenes.decoded(httpx.get(answer.json()["outputs"][0]["image"]["url"]).content)
    assert np.array_equal(out[mask == 0], scene[mask == 0])
