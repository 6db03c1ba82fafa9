"""An accepted job is never lost: kill -9 the server with 50 jobs accepted and unfinished,
start it again on the same data dir, and every one of them succeeds."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from lampyris.jobs import SqlJobStore
from lampyris.jobs.database import sqlite_url
from support.http_server import Reply, ScriptedServer, serve
from support.images import assert_sane_cutout
from support.lampyris_server import LampyrisServer
from support.procs import wait_until

LOOPBACK = {"LAMPYRIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8"}
JOBS = 50


@pytest.fixture
def files() -> Iterator[ScriptedServer]:
    yield from serve(ScriptedServer(), None)


def pool_workers(server: psutil.Process) -> list[psutil.Process]:
    """The job executor's worker processes, whichever start method its pool uses: the
    forkserver's children, or the server's own ``spawn_main`` children where workers are
    spawned (a TMPDIR too deep for the forkserver's Unix socket)."""
    workers: list[psutil.Process] = []
    for child in server.children():
        command = " ".join(child.cmdline())
        if "multiprocessing.forkserver" in command:
            workers += child.children()
        elif "multiprocessing.spawn" in command:
            workers.append(child)
    return workers


def test_kill_9_with_50_unfinished_jobs_then_restart_runs_all(
    fresh_server_dir: Path, files: ScriptedServer, photo: bytes
):
    jpeg = {"Content-Type": "image/jpeg"}
    # Until the restart, fetching the input hangs: the workers are stuck mid-job.
    files.script("/in.jpg", Reply(200, photo, jpeg, delay=120))
    live = LampyrisServer(fresh_server_dir, env=LOOPBACK, workers=2).start()
    try:
        status_urls = []
        for i in range(JOBS):
            answer = live.post("/sensei/cutout", {
                "input": {"href": files.url("/in.jpg"), "storage": "external"},
                "output": {"href": files.url(f"/out/{i}.png"), "storage": "external"},
            })
            assert answer.status_code == 202, answer.text
            status_urls.append(answer.json()["_links"]["self"]["href"])
        wait_until(lambda: files.hits("/in.jpg") >= 2, timeout=30, what="workers fetching")
        live.kill()

        store = SqlJobStore(sqlite_url(fresh_server_dir))
        states = {state: n for (_, state), n in store.counts().items()}
        store.engine.dispose()
        assert states == {"pending": JOBS - 2, "running": 2}, states

        files.script("/in.jpg", Reply(200, photo, jpeg))
        live.start()
        finished = [live.wait(url, timeout=240) for url in status_urls]
    finally:
        live.stop()

    assert [s["status"] for s in finished] == ["succeeded"] * JOBS, [
        s.get("errors") for s in finished if s["status"] != "succeeded"
    ]
    outputs = sorted(k for k in files.objects if k.startswith("/out/"))
    assert outputs == sorted(f"/out/{i}.png" for i in range(JOBS))
    for key in outputs:
        assert_sane_cutout(files.objects[key].data)


def test_a_killed_worker_costs_one_attempt_not_the_job(
    fresh_server_dir: Path, files: ScriptedServer, photo: bytes
):
    jpeg = {"Content-Type": "image/jpeg"}
    files.script("/in.jpg", Reply(200, photo, jpeg, delay=120))
    live = LampyrisServer(fresh_server_dir, env=LOOPBACK, workers=1).start()
    try:
        answer = live.post("/sensei/cutout", {
            "input": {"href": files.url("/in.jpg"), "storage": "external"},
            "output": {"href": files.url("/out/x.png"), "storage": "external"},
        })
        wait_until(lambda: files.hits("/in.jpg") >= 1, timeout=30, what="worker fetching")
        (worker,) = pool_workers(psutil.Process(live.proc.pid))
        files.script("/in.jpg", Reply(200, photo, jpeg))
        os.kill(worker.pid, signal.SIGKILL)  # as the OOM killer would
        status = live.wait(answer.json()["_links"]["self"]["href"])
        assert status["status"] == "succeeded", status
        assert_sane_cutout(files.objects["/out/x.png"].data)
        store = SqlJobStore(sqlite_url(fresh_server_dir))
        record = store.get(status["jobId"])
        store.engine.dispose()
        assert record is not None and record.attempts == 2
    finally:
        live.stop()


def test_sigterm_puts_running_jobs_back_in_the_queue(
    fresh_server_dir: Path, files: ScriptedServer, photo: bytes
):
    jpeg = {"Content-Type": "image/jpeg"}
    files.script("/in.jpg", Reply(200, photo, jpeg, delay=120))
    live = LampyrisServer(fresh_server_dir, env={**LOOPBACK, "LAMPYRIS_JOBS_LEASE_SECONDS": "600"},
                          workers=1).start()
    answer = live.post("/sensei/cutout", {
        "input": {"href": files.url("/in.jpg"), "storage": "external"},
        "output": {"href": files.url("/out/t.png"), "storage": "external"},
    })
    wait_until(lambda: files.hits("/in.jpg") >= 1, timeout=30, what="worker fetching")
    live.stop()  # SIGTERM: the job cannot finish within the grace period
    store = SqlJobStore(sqlite_url(fresh_server_dir))
    states = {state: n for (_, state), n in store.counts().items()}
    store.engine.dispose()
    assert states == {"pending": 1}, states
    files.script("/in.jpg", Reply(200, photo, jpeg))
    live.start()
    try:
        assert live.wait(answer.json()["_links"]["self"]["href"])["status"] == "succeeded"
    finally:
        live.stop()
    assert_sane_cutout(files.objects["/out/t.png"].data)
