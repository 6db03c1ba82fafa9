"""A running or finished ``lampyris batch`` as the tests watch it: its command line and what
its ledger (SQLite, read-only while the batch writes it) says."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any


def lampyris(*args: str) -> list[str]:
    """The command line of ``lampyris ARGS`` with this interpreter."""
    return [sys.executable, "-m", "lampyris.cli.app", *args]


def ledger_rows(path: Path) -> list[dict[str, Any]]:
    """Every item row of the ledger at ``path`` (none before the run has made its tables)."""
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM items")]
        except sqlite3.OperationalError:  # the run has not created its tables yet
            return []


def done_count(path: Path) -> int:
    return sum(1 for r in ledger_rows(path) if r["status"] == "done")
