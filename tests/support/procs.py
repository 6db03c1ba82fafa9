"""Process plumbing shared by the server starters: free ports, readiness polling, group kills.

Every server is started in its own session (``start_new_session=True``), so its PID is also its
process-group id and ``stop_group`` takes down the server with everything it forked.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = TESTS_DIR.parent

_registered: dict[int, Callable[[], None]] = {}


class ServerStartError(RuntimeError):
    """A server did not come up; the message carries the tail of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct free ports (all held open at once while choosing)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def short_tempdir(prefix: str) -> Path:
    """A fresh directory directly under the system temp dir.

    Kept short on purpose: Ceph admin sockets and PostgreSQL's socket live inside it and Unix
    socket paths are limited to 107 bytes.
    """
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp" if os.path.isdir("/tmp") else None))


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    alive: Sequence[subprocess.Popen[bytes]] = (),
    log: Path | None = None,
) -> None:
    """Poll ``predicate`` until it is true; fail early when one of ``alive`` has exited."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        for proc in alive:
            if proc.poll() is not None:
                detail = f"\n{tail(log)}" if log else ""
                raise ServerStartError(
                    f"{what}: process {proc.args!r} exited with {proc.returncode}{detail}"
                )
        if time.monotonic() > deadline:
            detail = f"\n{tail(log)}" if log else ""
            raise ServerStartError(f"{what}: not ready after {timeout:.0f} s{detail}")
        time.sleep(interval)


def spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    log: Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session (own process group), output appended to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [os.fspath(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )


def _group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is left in group ``pgid``.

    Zombies count as gone: a daemon that double-forked is reaped by PID 1, which on some
    machines only happens every second or so, and ``killpg(pgid, 0)`` still finds zombies.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop_group(pgid: int, *, sig: signal.Signals = signal.SIGTERM, grace: float = 5.0) -> None:
    """Signal the whole process group ``pgid``; SIGKILL what is left after ``grace`` seconds."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        _reap(pgid)
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(pgid)
        if not _group_alive(pgid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        _reap(pgid)
        if not _group_alive(pgid):
            return
        time.sleep(0.02)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def register_cleanup(key: int, fn: Callable[[], None]) -> None:
    """Run ``fn`` at interpreter exit unless ``unregister_cleanup(key)`` was called first.

    A safety net for servers whose fixture teardown never ran (e.g. a crash mid-session).
    """
    _registered[key] = fn


def unregister_cleanup(key: int) -> None:
    _registered.pop(key, None)


@atexit.register
def _cleanup_all() -> None:
    for fn in list(_registered.values()):
        with contextlib.suppress(Exception):
            fn()
    _registered.clear()
