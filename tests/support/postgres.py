"""A throw-away PostgreSQL 15 cluster on 127.0.0.1 (trust auth, user ``postgres``).

Uses the server binaries under /usr/lib/postgresql/15/bin. PostgreSQL refuses to run as root, so
when the tests run as root the cluster runs as the ``postgres`` user (``runuser``) and its temp
directory is chowned to it. Starts in well under a second.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from support.procs import (
    ServerStartError,
    free_port,
    register_cleanup,
    remove_tree,
    short_tempdir,
    stop_group,
    unregister_cleanup,
)

PG_BIN = Path(os.environ.get("LAMPYRIS_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
RUN_AS = "postgres"


def available() -> bool:
    return (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists()


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ServerStartError("postgres: running as root but `runuser` is not available")
    return [runuser, "-u", RUN_AS, "--", *argv]


def _run(argv: list[str], *, what: str, timeout: float, cwd: Path) -> None:
    try:
        res = subprocess.run(
            _as_server_user(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServerStartError(f"postgres: {what} timed out after {timeout:.0f} s") from exc
    if res.returncode != 0:
        raise ServerStartError(
            f"postgres: {what} failed ({res.returncode}): {(res.stderr or res.stdout).strip()}"
        )


@dataclass
class Postgres:
    """A running cluster; ``url`` is a SQLAlchemy URL (psycopg 3 driver)."""

    url: str
    host: str
    port: int
    user: str
    database: str
    data_dir: Path
    socket_dir: Path
    base_dir: Path
    start_seconds: float = 0.0
    pid: int | None = None

    def stop(self) -> None:
        unregister_cleanup(id(self))
        if (self.data_dir / "postmaster.pid").exists():
            # A throw-away cluster: immediate shutdown, no checkpoint. Falls back to signals.
            with contextlib.suppress(ServerStartError):
                _run(
                    [str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w",
                     "-t", "10", "stop"],
                    what="pg_ctl stop", timeout=15, cwd=self.base_dir,
                )  # fmt: skip
        if self.pid is not None:
            # pg_ctl starts the postmaster in its own session: its PID is its group id.
            stop_group(self.pid, sig=signal.SIGQUIT, grace=3.0)
            self.pid = None
        remove_tree(self.base_dir)


def start_postgres(*, timeout: float = 30.0) -> Postgres:
    if not available():
        raise ServerStartError(f"postgres: no initdb/pg_ctl under {PG_BIN}")
    t0 = time.monotonic()
    base = short_tempdir("lampyris-pg-")
    data, sock = base / "data", base / "sock"
    data.mkdir(mode=0o700)
    sock.mkdir()
    if os.geteuid() == 0:
        try:
            ent = pwd.getpwnam(RUN_AS)
        except KeyError as exc:
            remove_tree(base)
            raise ServerStartError(f"postgres: running as root but no `{RUN_AS}` user") from exc
        for p in (base, data, sock):
            os.chown(p, ent.pw_uid, ent.pw_gid)
    port = free_port()
    server = Postgres(
        url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
        host="127.0.0.1",
        port=port,
        user="postgres",
        database="postgres",
        data_dir=data,
        socket_dir=sock,
        base_dir=base,
    )
    register_cleanup(id(server), server.stop)
    try:
        _run(
            [str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            what="initdb", timeout=60, cwd=base,
        )  # fmt: skip
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        _run(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "postgres.log"),
             "-o", opts, "-w", "-t", str(int(timeout)), "start"],
            what="pg_ctl start", timeout=timeout + 5, cwd=base,
        )  # fmt: skip
        server.pid = int((data / "postmaster.pid").read_text().split()[0])
    except BaseException as exc:
        log = base / "postgres.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        server.stop()
        if isinstance(exc, ServerStartError) and detail:
            raise ServerStartError(f"{exc}\n{detail}") from exc
        raise
    server.start_seconds = time.monotonic() - t0
    return server
