"""``--watch``: new and changed files in the source are processed as they arrive."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from support.images import distinct_products
from support.procs import spawn, wait_until


def test_watch_processes_new_and_changed_files(tmp_path: Path):
    source, dest = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    photos = distinct_products(4)
    (source / "a.jpg").write_bytes(photos[0])
    log = tmp_path / "watch.log"
    proc = spawn([sys.executable, "-m", "lampyris.cli.app", "batch", str(source), str(dest),
                  "--watch", "--interval", "0.5", "--jobs", "1",
                  "--ledger", str(tmp_path / "w.ledger.db")], log=log)
    try:
        wait_until((dest / "a.png").exists, timeout=120, what="first pass", alive=[proc],
                   log=log)
        (source / "sub").mkdir()
        (source / "sub" / "b.jpg").write_bytes(photos[1])
        wait_until((dest / "sub" / "b.png").exists, timeout=60, what="new file", alive=[proc],
                   log=log)
        first = (dest / "a.png").stat().st_mtime_ns
        (source / "a.jpg").write_bytes(photos[2])  # changed content
        wait_until(lambda: (dest / "a.png").stat().st_mtime_ns != first, timeout=60,
                   what="changed file", alive=[proc], log=log)
    finally:
        os.kill(proc.pid, signal.SIGINT)
        code = proc.wait(60)
    assert code in (0, 130), log.read_text()[-2000:]
    assert "watching" in log.read_text()
