"""The spool: inputs read back in the order they were added, a chunk at a time, one owner per
output; on disk past its page cache, in a file nobody else can see (deleted as it is opened,
so even a killed run leaves nothing behind), freed once it is closed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lampyris.storage.locations import SourceFile
from lampyris.workflows import spool as spool_module
from lampyris.workflows.spool import Spool, Spooled


def source(n: int) -> SourceFile:
    return SourceFile(path=f"/in/{n:05d}.png", rel=f"{n:05d}.png", size=n, stamp=f"{n}:x",
                      modified=None if n % 2 else float(n))


def deleted_files() -> list[str]:
    """What this process holds open that is no longer in any folder (Linux)."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            held.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue  # closed meanwhile (the listing's own)
    return [path for path in held if path.endswith(" (deleted)")]


def test_rows_come_back_in_order_across_chunks() -> None:
    count = spool_module.CHUNK * 2 + 17
    with Spool() as spool:
        for n in range(count):
            spool.add(source(n), f"memory://in/{n:05d}.png", f"memory://out/{n:05d}.png",
                      "clash" if n == 3 else None)
        assert len(spool) == count
        rows = list(spool)
        assert rows == list(spool)  # read again from the start
    assert [row.source for row in rows] == [source(n) for n in range(count)]
    assert rows[3] == Spooled(source(3), "memory://in/00003.png", "memory://out/00003.png",
                              "clash")
    assert [row.clash for row in rows].count(None) == count - 1


def test_an_output_has_one_owner() -> None:
    with Spool() as spool:
        spool.add(source(1), "memory://in/a.jpg", "memory://out/a.png")
        assert spool.owner("memory://out/a.png") == "memory://in/a.jpg"
        assert spool.owner("memory://out/b.png") is None
        with pytest.raises(sqlite3.IntegrityError):  # naming asks first; the index insists
            spool.add(source(2), "memory://in/a.gif", "memory://out/a.png")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
def test_past_its_cache_the_spool_is_a_deleted_file_until_closed() -> None:
    before = deleted_files()
    spool = Spool()
    long = "x" * 200
    for n in range(spool_module.CACHE_KIB * 1024 // 200 * 2):  # twice what the cache holds
        spool.add(source(n), f"memory://in/{n}/{long}.png", f"memory://out/{n}/{long}.png")
    assert len(list(spool)) == len(spool)
    spilled = [path for path in deleted_files() if path not in before]
    assert len(spilled) == 1, spilled  # on disk, yet in no folder
    spool.close()
    spool.close()  # twice is fine
    assert spool.closed and spilled[0] not in deleted_files()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
def test_a_killed_run_leaves_no_spool_behind(tmp_path: Path) -> None:
    """SIGKILL runs no cleanup: the spool must not depend on one."""
    child = f"""
import os, signal, sys
sys.path[:0] = {[str(Path(__file__).parent)]!r}
from test_spool import deleted_files, source
from lampyris.workflows.spool import CACHE_KIB, Spool
spool = Spool()
for n in range(CACHE_KIB * 1024 // 200 * 2):
    spool.add(source(n), f"in/{{n}}/{{'x' * 200}}", f"out/{{n}}/{{'x' * 200}}")
print(deleted_files(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          env={**os.environ, "SQLITE_TMPDIR": str(tmp_path)}, timeout=120,
                          check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert f"'{tmp_path}/" in done.stdout  # the spool spilled into the folder given…
    assert list(tmp_path.iterdir()) == []  # …and left nothing there
