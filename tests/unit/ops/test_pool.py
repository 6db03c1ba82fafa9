"""The workers' start method: a forkserver where its Unix socket fits under the temp dir, spawn
where the temp dir is too deep for it (Linux caps a socket path at 107 bytes)."""

from __future__ import annotations

import multiprocessing
import socket
import tempfile
from pathlib import Path

import pytest

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
