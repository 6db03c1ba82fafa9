"""A live server against hostile storage (issue 13): bombs, trickles, a sink that will not drink,
and SSRF refusals that must not tell how internal names resolve.

The server runs with a 6 s transfer deadline and a 2 s grace before the minimum rate applies
(the defaults are 120 s and 10 s), so each limit shows within seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from support.hostile_http import Answer, HostileServer, MiB, Pace, gzip_of_zeros, stacked_gzip_bomb
from support.images import assert_sane_cutout
from support.lampyris_server import LampyrisServer, running_server

DEADLINE = 6.0
GRACE = 2.0
SLACK = 4.0  # dispatch, polling and two shared cores


@pytest.fixture(scope="module")
def storage(photo: bytes) -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        hostile.answer("/good.jpg", Answer(photo, {"Content-Type": "image/jpeg"}))
        yield hostile


@pytest.fixture(scope="module")
def live(storage: HostileServer) -> Iterator[LampyrisServer]:
    env = {
        "LAMPYRIS_ALLOW_PRIVATE_URLS": "127.0.0.1/32",  # the storage, and no other loopback
        "LAMPYRIS_STORAGE_TRANSFER_DEADLINE": str(DEADLINE),
        "LAMPYRIS_STORAGE_MIN_RATE_GRACE": str(GRACE),
    }
    with running_server("lampyris-hostile-", env=env, workers=2) as server:
        yield server


def _submit(live: LampyrisServer, input_href: str, output_href: str) -> str:
    answer = live.post("/sensei/cutout", {
        "input": {"href": input_href, "storage": "external"},
        "output": {"href": output_href, "storage": "external"},
    })
    assert answer.status_code == 202, answer.text
    return str(answer.json()["_links"]["self"]["href"])


def _finish_all(live: LampyrisServer, urls: dict[str, str],
                timeout: float = 90.0) -> dict[str, tuple[dict[str, Any], float]]:
    """Poll every job until it is done: its last status and when it was first seen done."""
    done: dict[str, tuple[dict[str, Any], float]] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(urls):
        for name, url in urls.items():
            if name in done:
                continue
            body = httpx.get(url, headers=live.headers(), timeout=30).json()
            if body["status"] in ("succeeded", "failed"):
                done[name] = (body, time.monotonic())
        if time.monotonic() > deadline:
            raise AssertionError(f"jobs still running after {timeout} s: {set(urls) - set(done)}")
        time.sleep(0.1)
    return done


def _assert_failed(status: dict[str, Any], code: str, field: str, *words: str) -> str:
    assert status["status"] == "failed", status
    errors = status["errors"]
    assert errors["error_code"] == code, errors
    assert errors["details"][0]["name"] == field, errors
    title = str(errors["title"])
    for word in words:
        assert word in title, errors
    return title


def _peak_rss(live: LampyrisServer) -> dict[int, int]:
    """VmHWM (bytes) of the server and every process under it (forkserver, workers)."""
    assert live.proc is not None
    root = psutil.Process(live.proc.pid)
    peaks: dict[int, int] = {}
    for proc in [root, *root.children(recursive=True)]:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks[proc.pid] = int(line.split()[1]) * 1024
    return peaks


def test_bombs_fail_their_jobs_and_no_worker_grows_past_a_gigabyte(
    live: LampyrisServer, storage: HostileServer
) -> None:
    """Issue 13: ``gzip, gzip`` over 1,827 bytes took a worker from 443 MB to 2.76 GB."""
    storage.answer("/stacked.jpg", Answer(stacked_gzip_bomb(), {"Content-Encoding": "gzip, gzip"}))
    storage.answer("/gzip.jpg", Answer(gzip_of_zeros(1024 * MiB), {"Content-Encoding": "gzip"}))
    jobs = {name: _submit(live, storage.url(f"/{name}.jpg?X-Amz-Signature=SECRET"),
                          storage.url(f"/out/{name}.png"))
            for name in ("stacked", "gzip")}
    done = _finish_all(live, jobs)

    stacked = _assert_failed(done["stacked"][0], "invalid_asset_link", "input.href",
                             "Content-Encoding gzip, gzip", "stacked content-codings are refused")
    gzip_title = _assert_failed(done["gzip"][0], "input_too_large", "input.href",
                                "decodes (Content-Encoding gzip) to over the 209715200-byte limit",
                                "LAMPYRIS_STORAGE_MAX_BYTES")
    assert "SECRET" not in stacked + gzip_title
    peaks = _peak_rss(live)
    print(f"\npeak RSS (VmHWM) per process, MB: { {p: v // 10**6 for p, v in peaks.items()} }")
    assert max(peaks.values()) < 1024 * MiB, peaks
    assert not storage.uploads  # nothing was delivered for a bomb


def test_trickling_inputs_let_go_of_the_workers_and_a_good_job_gets_through(
    live: LampyrisServer, storage: HostileServer, photo: bytes
) -> None:
    """Issue 13: two trickles held both workers for 170 s while a good job waited."""
    storage.answer("/trickle.jpg", Answer(photo, pace=Pace(1, 1.0)))  # a byte a second
    # ~40 KiB/s: above the minimum rate, so only the deadline stops it (4 MiB would take 100 s)
    storage.answer("/dribble.jpg", Answer(photo + bytes(4 * MiB), pace=Pace(4096, 0.1)))
    submitted = time.monotonic()
    jobs = {name: _submit(live, storage.url(f"/{name}.jpg"), storage.url(f"/out/{name}.png"))
            for name in ("trickle", "dribble", "good")}
    done = _finish_all(live, jobs)

    trickle = _assert_failed(done["trickle"][0], "invalid_asset_link", "input.href",
                             "under the minimum transfer rate of 16384 bytes/s",
                             "LAMPYRIS_STORAGE_MIN_TRANSFER_RATE")
    dribble = _assert_failed(done["dribble"][0], "invalid_asset_link", "input.href",
                             "did not finish within the 6 s transfer deadline",
                             "LAMPYRIS_STORAGE_TRANSFER_DEADLINE raises it")
    seconds = {name: round(at - submitted, 1) for name, (_, at) in done.items()}
    print(f"\nseconds from submission to the job's end: {seconds}\n{trickle}\n{dribble}")
    assert seconds["trickle"] < GRACE + 1.0 + SLACK
    assert seconds["dribble"] < DEADLINE + SLACK
    for path in ("/trickle.jpg", "/dribble.jpg"):  # the worker hung up (seen at the next send)
        visit = storage.visits_to(path)[-1]
        give_up = time.monotonic() + 5.0
        while visit.ended is None and time.monotonic() < give_up:
            time.sleep(0.1)
        assert not visit.complete and visit.ended is not None, visit
    assert done["good"][0]["status"] == "succeeded", done["good"][0]
    assert_sane_cutout(storage.uploads["/out/good.png"])


def test_a_sink_that_will_not_drink_fails_the_upload_at_its_limit(
    live: LampyrisServer, storage: HostileServer
) -> None:
    storage.sink("/out/slow.png", pace=Pace(256, 1.0))
    url = _submit(live, storage.url("/good.jpg"), storage.url("/out/slow.png"))
    status, ended = _finish_all(live, {"slow": url})["slow"]
    title = _assert_failed(status, "upload_failed", "output.href", "PUT http://127.0.0.1:")
    assert ("did not finish within the 6 s transfer deadline" in title
            or "under the minimum transfer rate" in title), title
    began = storage.visits_to("/out/slow.png")[0].started
    print(f"\nupload held for {ended - began:.1f} s: {title}")
    assert ended - began < DEADLINE + SLACK
    assert "/out/slow.png" not in storage.uploads


@pytest.mark.parametrize(("host", "address"), [
    ("2130706434", "127.0.0.2"),  # a decimal literal only resolving decodes
    ("0x7f.0.0.3", "127.0.0.3"),
])
def test_ssrf_refusals_name_the_rule_not_the_resolved_address(
    live: LampyrisServer, storage: HostileServer, host: str, address: str
) -> None:
    port = storage.port
    jobs = {
        "input": _submit(live, f"http://{host}:{port}/good.jpg", storage.url("/out/never.png")),
        "output": _submit(live, storage.url("/good.jpg"), f"http://{host}:{port}/out.png"),
    }
    done = _finish_all(live, jobs)
    for stage, (status, _) in done.items():
        title = _assert_failed(status, "forbidden_url", f"{stage}.href",
                               f"refused: the host '{host}' resolves to a loopback address",
                               "LAMPYRIS_ALLOW_PRIVATE_URLS")
        assert address not in title
        assert address not in str(status)
