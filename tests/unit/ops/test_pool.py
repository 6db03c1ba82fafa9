"""The workers' start method: a forkserver where its Unix socket fits under the temp dir, spawn
where the temp dir is too deep for it (Linux caps a socket path at 107 bytes). The one pool:
a death fails the calls it held and the pool goes on, deaths in a row stop it, the thread cap
arrives as a setting; and its in-process twin does the same without processes."""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import pytest

from lampyris.errors import JobError
from lampyris.ops import pool

HAS_FORKSERVER = "forkserver" in multiprocessing.get_all_start_methods()


def _tempdir_of_length(n: int) -> str:
    return "/" + "t" * (n - 1)


@pytest.mark.skipif(not HAS_FORKSERVER, reason="no forkserver on this platform")
def test_forkserver_while_its_socket_path_fits(monkeypatch: pytest.MonkeyPatch):
    longest = pool._SOCKET_PATH_MAX - pool._SOCKET_SUFFIX
    monkeypatch.setattr(tempfile, "tempdir", _tempdir_of_length(longest))
    assert pool.worker_context().get_start_method() == "forkserver"


def test_spawn_where_the_temp_dir_is_too_deep(monkeypatch: pytest.MonkeyPatch):
    too_long = pool._SOCKET_PATH_MAX - pool._SOCKET_SUFFIX + 1
    monkeypatch.setattr(tempfile, "tempdir", _tempdir_of_length(too_long))
    assert pool.worker_context().get_start_method() == "spawn"


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")
def test_the_limit_is_the_kernels():
    """A socket path of _SOCKET_PATH_MAX bytes binds; one byte more does not."""
    base = Path(tempfile.mkdtemp(dir="/tmp", prefix="lp-"))
    try:
        path = str(base / "s")
        path += "x" * (pool._SOCKET_PATH_MAX - len(path))
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(path)
        with socket.socket(socket.AF_UNIX) as s, pytest.raises(OSError):
            s.bind(path + "x")
    finally:
        for p in base.iterdir():
            p.unlink()
        base.rmdir()


# -- WorkerPool and InlinePool ------------------------------------------------------------------
# What the workers run must be importable there: module-level functions of this module.
def _square(x: int) -> int:
    return x * x


def _die() -> None:
    os._exit(3)  # as the OOM killer would: nothing runs on the way out


def _die_soon() -> None:
    time.sleep(0.3)  # long enough for a second call to be in flight with this one
    os._exit(3)


def _fail() -> None:
    raise ValueError("the call's own error")


def _setup_fails() -> None:
    raise RuntimeError("the model crashes on load")


def _threads_seen(model: str) -> tuple[str | None, int, int, int, int]:
    """In a worker: the environment variable, the cap as the models see it, and the inference
    runtime's and OpenCV's own thread counts, after a call that names no options (as ops do)."""
    from lampyris.models import get_session, resolve_spec
    from lampyris.models.session import _sessions

    session = get_session(resolve_spec(model))
    return (os.environ.get("LAMPYRIS_MODELS_INTRA_OP_THREADS"), session.options.intra_op_threads,
            session.engine.threads, cv2.getNumThreads(),
            len(_sessions))


def test_a_worker_that_dies_fails_only_its_call_and_the_pool_keeps_serving():
    workers = pool.WorkerPool(1, restarts=pool.RestartPolicy("file"))
    try:
        assert workers.submit(_square, 3).result(timeout=60) == 9
        with pytest.raises(pool.WorkerDied) as died:
            workers.submit(_die).result(timeout=60)
        assert str(died.value) == (
            "a worker process died while this file was in progress (out of memory?)")
        assert isinstance(died.value, JobError)
        assert workers.submit(_square, 4).result(timeout=60) == 16
        with pytest.raises(ValueError, match="the call's own error"):  # not a death
            workers.submit(_fail).result(timeout=60)
        assert workers.restarts == 1
    finally:
        workers.shutdown()


def test_calls_that_die_together_restart_the_pool_once():
    workers = pool.WorkerPool(2)
    try:
        together = [workers.submit(_die_soon), workers.submit(time.sleep, 30)]
        for future in together:  # which call killed the pool is unknowable: both fail
            with pytest.raises(pool.WorkerDied):
                future.result(timeout=60)
        assert workers.submit(_square, 5).result(timeout=60) == 25
        assert workers.restarts == 1
    finally:
        workers.shutdown()


def test_workers_that_keep_dying_stop_the_pool():
    workers = pool.WorkerPool(1, start=pool.WorkerStart(_setup_fails),
                              restarts=pool.RestartPolicy("file"))
    try:
        for _ in range(pool.MAX_BARREN_RESTARTS):  # every worker dies before its first call
            with pytest.raises(pool.WorkerDied):
                workers.submit(_square, 2).result(timeout=60)
        message = "worker processes keep dying before finishing any file"
        with pytest.raises(JobError, match=message) as refused:
            workers.submit(_square, 2)
        assert not isinstance(refused.value, pool.WorkerDied)
        with pytest.raises(JobError, match=message):
            workers.check()
        assert workers.restarts == pool.MAX_BARREN_RESTARTS - 1
    finally:
        workers.shutdown()


def test_a_finished_call_between_deaths_keeps_the_pool_restarting():
    workers = pool.WorkerPool(1, restarts=pool.RestartPolicy(limit=2))
    try:
        for _ in range(3):
            with pytest.raises(pool.WorkerDied):
                workers.submit(_die).result(timeout=60)
            assert workers.submit(_square, 2).result(timeout=60) == 4
        workers.check()
    finally:
        workers.shutdown()


def test_the_thread_cap_reaches_the_session_as_a_setting_not_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.delenv("LAMPYRIS_MODELS_INTRA_OP_THREADS", raising=False)
    before = dict(os.environ)
    workers = pool.WorkerPool(1, start=pool.WorkerStart(model="u2netp", threads=1))
    try:
        workers.start_all()
        env, cap, ort_threads, cv2_threads, sessions = workers.submit(
            _threads_seen, "u2netp").result(timeout=120)
    finally:
        workers.shutdown()
    assert env is None
    assert cap == ort_threads == cv2_threads == 1  # runtimes clamp a cap above the cores
    assert sessions == 1  # the ops' call found the session the worker warmed
    assert dict(os.environ) == before


def test_the_inline_pool_runs_in_the_callers_thread_after_its_setup() -> None:
    calls: list[str] = []

    def call() -> int:
        calls.append(threading.current_thread().name)
        return 7

    inline = pool.InlinePool(start=pool.WorkerStart(calls.append, ("setup",)))
    assert inline.submit(call).result(timeout=0) == 7
    assert calls == ["setup", threading.current_thread().name]
    with pytest.raises(ValueError, match="the call's own error"):
        inline.submit(_fail).result(timeout=0)
    inline.shutdown()
    with pytest.raises(RuntimeError):
        inline.submit(_square, 2)


def test_the_inline_pool_acts_out_a_death_like_the_worker_pool():
    inline = pool.InlinePool(background=True, restarts=pool.RestartPolicy("job", 2))
    gate = threading.Event()
    try:
        running = inline.submit(gate.wait, 30)
        queued = inline.submit(_square, 2)
        inline.die()
        for future in (running, queued):
            with pytest.raises(pool.WorkerDied, match="while this job was in progress"):
                future.result(timeout=10)
        gate.set()
        assert inline.submit(_square, 3).result(timeout=10) == 9  # restarted
        inline.die()  # after a finished call: the count starts again
        hold = threading.Event()
        for _ in range(2):  # two deaths in a row with nothing finished between them
            inline.submit(hold.wait, 30)
            inline.die()
        with pytest.raises(JobError, match="keep dying before finishing any job"):
            inline.submit(_square, 2)
        hold.set()
    finally:
        gate.set()
        inline.shutdown()


def test_the_inline_pools_failing_setup_fails_the_call_with_its_own_error() -> None:
    inline = pool.InlinePool(start=pool.WorkerStart(_setup_fails), background=True)
    try:
        with pytest.raises(RuntimeError, match="crashes on load"):
            inline.submit(_square, 2).result(timeout=10)
    finally:
        inline.shutdown()


@pytest.mark.parametrize("module", [*pool.FORKSERVER_PRELOAD, "lampyris.workflows.item",
                                    "lampyris.jobs.task"])
def test_nothing_the_forkserver_preloads_starts_a_thread(module: str) -> None:
    # A thread in the forkserver can hold an import lock when a worker is forked: the worker
    # then hangs on its first import (openvino's import starts one; it is loaded in workers).
    script = f"import threading, {module}; print(threading.active_count())"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "1", (module, done.stdout, done.stderr)
