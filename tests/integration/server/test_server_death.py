"""A server's worker pool lives and dies with it, with either start method: ``kill -9`` of the
server's main process leaves no worker, forkserver or resource tracker behind (they used to
stay, re-parented to init, ~1.4 GB with their models, after the restart too), a restart on the
same data dir works, and a start and stop leaves no ``pymp-*`` folder in the temp dir."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from support.lampyris_server import LampyrisServer
from support.procs import remove_tree, short_tempdir, stop_group, unregister_cleanup, wait_until

DEADLINE = 10.0  # seconds the pool may take to follow its server


@pytest.fixture(params=["forkserver", "spawn"])
def temp_dir(request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    """The server's own TMPDIR: short, so it uses a forkserver, or 150 bytes long, too long
    for the forkserver's Unix socket, so it spawns its workers (as under ``.ci/run``)."""
    base = short_tempdir("lampyris-tmp-")
    folder = base
    if request.param == "spawn":
        folder = base / ("d" * (150 - len(str(base)) - 1))
        folder.mkdir()
    try:
        yield request.param, folder
    finally:
        remove_tree(base)


def _pool(server: psutil.Process) -> list[psutil.Process]:
    """The server's descendants once its two workers are up: workers, forkserver, tracker."""
    def ready() -> bool:
        workers = [p for p in server.children(recursive=True)
                   if ("forkserver" in " ".join(p.cmdline()) and p.ppid() != server.pid)
                   or "multiprocessing.spawn" in " ".join(p.cmdline())]
        return len(workers) >= 2

    wait_until(ready, timeout=60, what="the worker pool")
    return server.children(recursive=True)


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    left = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                left.append(process)
        except psutil.NoSuchProcess:
            pass
    return left


def test_kill_9_takes_the_pool_with_the_server_and_a_restart_works(
    fresh_server_dir: Path, temp_dir: tuple[str, Path]
):
    method, tmp = temp_dir
    live = LampyrisServer(fresh_server_dir, env={"TMPDIR": str(tmp)}, workers=2).start()
    server = psutil.Process(live.proc.pid)
    pool = _pool(server)
    commands = " ".join(" ".join(p.cmdline()) for p in pool)
    assert f"multiprocessing.{method}" in commands, commands
    assert "resource_tracker" in commands, commands

    os.kill(server.pid, signal.SIGKILL)  # as the OOM killer would: nothing runs on the way out
    live.proc.wait(10)
    killed = time.monotonic()
    while _alive(pool) and time.monotonic() - killed < DEADLINE:
        time.sleep(0.05)
    left = [" ".join(p.cmdline())[:120] for p in _alive(pool)]
    print(f"\n{method}: {len(pool)} processes gone {time.monotonic() - killed:.2f} s after "
          "kill -9 of their server" if not left else f"\n{method}: left {left}")
    stop_group(server.pid, sig=signal.SIGKILL, grace=5)  # whatever did stay, for the next tests
    unregister_cleanup(server.pid)
    live.proc = None
    assert left == [], f"still running {DEADLINE:.0f} s after kill -9 of their server: {left}"

    live.start()
    try:
        assert len(_pool(psutil.Process(live.proc.pid))) >= 3
        assert httpx.get(f"{live.url}/health", timeout=10).json()["status"] == "ok"
        assert live.token()
    finally:
        live.stop()


def test_start_and_stop_leave_no_pymp_folder(fresh_server_dir: Path,
                                             temp_dir: tuple[str, Path]):
    _, tmp = temp_dir
    live = LampyrisServer(fresh_server_dir, env={"TMPDIR": str(tmp)}, workers=2).start()
    try:
        _pool(psutil.Process(live.proc.pid))
    finally:
        live.stop()
    assert list(tmp.glob("pymp-*")) == []
