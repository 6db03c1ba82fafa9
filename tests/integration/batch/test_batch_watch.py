"""``--watch``: new and changed files in the source are processed as they arrive; idle passes
are silent; files still being copied are waited for."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import time
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


def test_watch_is_silent_when_idle_and_waits_for_a_file_being_copied(tmp_path: Path):
    """Idle passes print nothing and add no ``runs`` row; a file still being written (a
    truncated JPEG that keeps growing) is neither failed nor recorded until it is whole."""
    source, dest = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    photos = distinct_products(2)
    (source / "a.jpg").write_bytes(photos[0])
    os.utime(source / "a.jpg", (time.time() - 60, time.time() - 60))  # copied a minute ago
    log = tmp_path / "watch.log"
    ledger = dest / ".lampyris" / "ledger.db"
    proc = spawn([sys.executable, "-m", "lampyris.cli.app", "batch", str(source), str(dest),
                  "--watch", "--interval", "0.3", "--settle", "1.5", "--heartbeat", "0",
                  "--jobs", "1"], log=log)
    try:
        wait_until((dest / "a.png").exists, timeout=120, what="first pass", alive=[proc],
                   log=log)
        time.sleep(3)  # about ten idle passes
        assert len(_runs(ledger)) == 1
        quiet = log.read_text()

        data, copying = photos[1], source / "b.jpg"
        for part in range(1, 6):  # a slow copy: a growing, truncated JPEG for 2.5 s
            copying.write_bytes(data[: len(data) * part // 6])
            time.sleep(0.5)
            assert _status(ledger, str(copying)) is None, "a file being written was touched"
        copying.write_bytes(data)
        wait_until((dest / "b.png").exists, timeout=60, what="the copied file", alive=[proc],
                   log=log)
        time.sleep(1)
    finally:
        os.kill(proc.pid, signal.SIGINT)
        code = proc.wait(60)
    assert code in (0, 130), log.read_text()[-2000:]
    assert _status(ledger, str(copying)) == "done"
    assert len(_runs(ledger)) == 2  # the first pass and the one that did b.jpg
    text = log.read_text()
    assert "failed 1" not in text and "✗" not in text
    assert len(quiet.splitlines()) <= 3, quiet  # 'watching…', the pass's counts, its report
    assert len(text.splitlines()) <= 7, text


def _runs(ledger: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(ledger) as db:
        return db.execute("SELECT id, outcome FROM runs").fetchall()


def _status(ledger: Path, input_url: str) -> str | None:
    with sqlite3.connect(ledger) as db:
        row = db.execute("SELECT status FROM items WHERE input_url = ?", (input_url,)).fetchone()
    return None if row is None else str(row[0])
