"""The batch ledger: what happened to every input, so a re-run does only what is left.

One SQLite file that belongs to the destination (``default_path``), so a run started from any
directory, by cron or by hand, finds the same history. An item is keyed by its input URL and the
destination root, and remembers the input's content hash and listing stamp (size, ETag or
mtime), the fingerprint of the steps and parameters, where the output went, its status, error,
attempts and timings, and the result's ``review`` (its confidence score and whether a person
should look at it: ``imaging.confidence``). A re-run skips an item that is ``done`` with the
same fingerprint whose input is unchanged: same stamp (no download needed), or same content
hash. Besides the items, a run keeps named state per source and destination that a resumed run
must find again (the house look ``--consistent`` measured).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["pending", "running", "done", "failed"]

LEDGER_FOLDER = ".lampyris"  # in a local destination: the ledger, report, summary, thumbnails
STATE_ENV = "LAMPYRIS_STATE_DIR"
LEGACY_BATCH_LEDGER = Path("lampyris-batch.ledger.db")  # batch's ledger before: in the cwd

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    input_url   TEXT NOT NULL,
    dest        TEXT NOT NULL,
    rel         TEXT NOT NULL,
    stamp       TEXT,
    content_hash TEXT,
    fingerprint TEXT NOT NULL,
    output_url  TEXT,
    status      TEXT NOT NULL,
    error       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_id      INTEGER,
    started     REAL,
    finished    REAL,
    seconds     REAL,
    timings     TEXT,
    details     TEXT,
    review      TEXT,
    PRIMARY KEY (input_url, dest)
);
CREATE INDEX IF NOT EXISTS items_status ON items (status);
CREATE INDEX IF NOT EXISTS items_output ON items (dest, output_url);
CREATE TABLE IF NOT EXISTS runs (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    started  REAL NOT NULL,
    finished REAL,
    source   TEXT NOT NULL,
    dest     TEXT NOT NULL,
    steps    TEXT NOT NULL,
    outcome  TEXT
);
CREATE TABLE IF NOT EXISTS state (
    source  TEXT NOT NULL,
    dest    TEXT NOT NULL,
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (source, dest, name)
);
"""

# Columns added after the first release: a ledger written before gets them when it is opened.
_ADDED_COLUMNS = {"review": "TEXT"}

# The review order (worst first): failed, then flagged by score ascending, then the rest by
# score, then the ones without a score, each group by name. In SQL, so a report streams it.
REVIEW_ORDER = (
    "CASE WHEN status = 'failed' THEN 0 "
    "WHEN json_extract(review, '$.flag') THEN 1 ELSE 2 END, "
    "json_extract(review, '$.score') IS NULL, json_extract(review, '$.score'), rel")


@dataclass
class LedgerItem:
    """One input's record. ``details`` holds what the report shows (sizes, thumbnails)."""

    input_url: str
    dest: str
    rel: str
    fingerprint: str
    status: Status = "pending"
    stamp: str | None = None
    content_hash: str | None = None
    output_url: str | None = None
    error: str | None = None
    attempts: int = 0
    run_id: int | None = None
    started: float | None = None
    finished: float | None = None
    seconds: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    review: dict[str, Any] | None = None  # the contract's review object, None when no step has one

    @property
    def flagged(self) -> bool:
        """Done, and a person should look at it (its review's ``flag``)."""
        return self.status == "done" and bool((self.review or {}).get("flag"))


def state_dir() -> Path:
    """Where lampyris keeps per-user state: ``$LAMPYRIS_STATE_DIR``, else
    ``$XDG_STATE_HOME/lampyris``, else ``~/.local/state/lampyris``."""
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV])
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "lampyris"


def default_path(dest: str) -> Path:
    """The ledger of the destination ``dest`` (a local path or a URL).

    A local destination keeps it inside itself, in ``.lampyris/ledger.db``: another working
    directory, another user's cron, a second machine mounting the folder all see it, and it
    moves with the folder. A bucket cannot hold a live SQLite file, so a URL's ledger is in
    the per-user state directory, under ``ledgers/<name>-<hash of the URL>/ledger.db``.
    """
    local = dest[len("file://"):] if dest.startswith("file://") else dest
    if "://" not in local:
        return Path(os.path.abspath(local)) / LEDGER_FOLDER / "ledger.db"
    key = dest.rstrip("/")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", key.split("://", 1)[1])[-60:].strip("_") or "root"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return state_dir() / "ledgers" / f"{name}-{digest}" / "ledger.db"


def adopt(legacy: Path, path: Path, dest: str) -> bool:
    """Copy an older ledger that recorded work for ``dest`` (it lived in the working
    directory) to ``path``, with its thumbnails, when ``path`` has none yet: upgrading never
    processes a destination again. True when it was copied."""
    if path.exists() or not legacy.is_file() or legacy.resolve() == path.resolve():
        return False
    with Ledger(legacy) as old:
        if not old.counts(dest):
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as new:
            old._db.backup(new)
        new.close()
    thumbs = Path(f"{legacy}.thumbs")
    if thumbs.is_dir():
        shutil.copytree(thumbs, Path(f"{path}.thumbs"), dirs_exist_ok=True)
    return True


class Ledger:
    """Thread-safe access to the ledger file; every change is committed at once, so a killed
    run loses nothing it had recorded.

    Usage:
        with Ledger(Path("run.ledger.db")) as ledger:
            run = ledger.start_run("s3://in/", "s3://out/", ["cutout"])
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                   timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._lock = threading.Lock()

    def _migrate(self) -> None:
        """Add the columns an older ledger lacks (``ALTER TABLE``: its rows keep their data,
        the new column is NULL for them)."""
        have = {row["name"] for row in self._db.execute("PRAGMA table_info(items)")}
        for name, kind in _ADDED_COLUMNS.items():
            if name not in have:
                try:
                    self._db.execute(f"ALTER TABLE items ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as exc:  # another process added it meanwhile
                    if "duplicate column" not in str(exc):
                        raise

    @classmethod
    def reading(cls, path: Path, timeout: float = 5.0) -> Ledger:
        """An existing ledger opened read-only (the console reviews runs it must not change:
        nothing is created, not even the tables); ``sqlite3.DatabaseError`` when the file is
        not a ledger, ``sqlite3.OperationalError`` when it cannot be read now (locked)."""
        ledger = cls.__new__(cls)
        ledger.path, ledger._lock = path, threading.Lock()
        ledger._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     check_same_thread=False, timeout=timeout)
        ledger._db.row_factory = sqlite3.Row
        try:
            tables = {name for (name,) in ledger._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"items", "runs"} <= tables:
                raise sqlite3.DatabaseError("it has no items and runs tables")
        except sqlite3.Error:
            ledger.close()
            raise
        return ledger

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ----------------------------------------------------------------------------
    def start_run(self, source: str, dest: str, steps: list[str]) -> int:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO runs (started, source, dest, steps) VALUES (?, ?, ?, ?)",
                (time.time(), source, dest, json.dumps(steps)),
            )
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, outcome: str) -> None:
        with self._lock:
            self._db.execute("UPDATE runs SET finished = ?, outcome = ? WHERE id = ?",
                             (time.time(), outcome, run_id))

    def runs(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM runs ORDER BY id").fetchall()
        return [dict(r) for r in rows]

    # -- state of a source → destination pair ---------------------------------------------
    def get_state(self, source: str, dest: str, name: str) -> Any:
        """The JSON value stored under ``name``, or None."""
        row = self._db.execute(
            "SELECT value FROM state WHERE source = ? AND dest = ? AND name = ?",
            (source, dest, name)).fetchone()
        return None if row is None else json.loads(row["value"])

    def put_state(self, source: str, dest: str, name: str, value: Any) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO state (source, dest, name, value, updated) "
                "VALUES (?, ?, ?, ?, ?)", (source, dest, name, json.dumps(value), time.time()))

    # -- items ---------------------------------------------------------------------------
    def get(self, input_url: str, dest: str) -> LedgerItem | None:
        row = self._db.execute("SELECT * FROM items WHERE input_url = ? AND dest = ?",
                               (input_url, dest)).fetchone()
        return None if row is None else _item(row)

    def put(self, item: LedgerItem) -> None:
        """Insert or replace the whole record (committed when this returns)."""
        values = {
            **item.__dict__, "timings": json.dumps(item.timings),
            "details": json.dumps(item.details),
            "review": None if item.review is None else json.dumps(item.review),
        }
        columns = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        with self._lock:
            self._db.execute(f"INSERT OR REPLACE INTO items ({columns}) VALUES ({marks})", values)

    def items(self, status: Status | None = None, dest: str | None = None, *,
              worst_first: bool = False) -> Iterator[LedgerItem]:
        """The records, by name, or with ``worst_first`` in the review order (failed, then
        flagged by score ascending, then the rest: ``REVIEW_ORDER``)."""
        query, args = "SELECT * FROM items WHERE 1=1", list[Any]()
        if status is not None:
            query, args = query + " AND status = ?", [*args, status]
        if dest is not None:
            query, args = query + " AND dest = ?", [*args, dest]
        order = "rel"
        if worst_first:  # a ledger opened read-only before its migration has no review yet
            order = REVIEW_ORDER if self._has_review() else "status != 'failed', rel"
        for row in self._db.execute(f"{query} ORDER BY {order}", args):
            yield _item(row)

    def _has_review(self) -> bool:
        return "review" in {row[1] for row in self._db.execute("PRAGMA table_info(items)")}

    def flagged(self, dest: str) -> int:
        """How many inputs done into ``dest`` are flagged for review, counted in SQL."""
        if not self._has_review():
            return 0
        row = self._db.execute(
            "SELECT count(*) FROM items WHERE dest = ? AND status = 'done' "
            "AND json_extract(review, '$.flag')", (dest,)).fetchone()
        return int(row[0])

    def scored(self, dest: str) -> int:
        """How many inputs done into ``dest`` have a review (a step scored them), in SQL."""
        if not self._has_review():
            return 0
        row = self._db.execute("SELECT count(*) FROM items WHERE dest = ? AND status = 'done' "
                               "AND review IS NOT NULL", (dest,)).fetchone()
        return int(row[0])

    def owner_of(self, dest: str, output_url: str) -> str | None:
        """The input whose result ``output_url`` holds (done into ``dest``), or None: what a
        new input must not overwrite. One indexed lookup, so naming a million inputs never
        loads the ledger's outputs (the latest record wins where two name one output)."""
        row = self._db.execute(
            "SELECT input_url FROM items WHERE dest = ? AND output_url = ? AND status = 'done' "
            "ORDER BY rowid DESC LIMIT 1", (dest, output_url)).fetchone()
        return None if row is None else str(row[0])

    def output_of(self, input_url: str, dest: str) -> str | None:
        """Where ``input_url`` was written into ``dest`` when it was last done, or None
        (``number`` naming keeps that name, so names stay stable across runs)."""
        row = self._db.execute(
            "SELECT output_url FROM items WHERE input_url = ? AND dest = ? AND status = 'done'",
            (input_url, dest)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def sampled(self, dest: str, fingerprints: Collection[str]) -> int:
        """How many inputs done into ``dest`` with one of ``fingerprints`` keep a thumbnail
        for the report: counted in SQL, not by reading every record."""
        if not fingerprints:
            return 0
        marks = ", ".join("?" * len(fingerprints))
        row = self._db.execute(
            f"SELECT count(*) FROM items WHERE dest = ? AND status = 'done' AND fingerprint "
            f"IN ({marks}) AND json_extract(details, '$.thumb_after') IS NOT NULL",
            (dest, *fingerprints)).fetchone()
        return int(row[0])

    def destinations(self) -> list[str]:
        """Every destination the ledger holds items or runs for."""
        rows = self._db.execute("SELECT dest FROM items UNION SELECT dest FROM runs ORDER BY 1")
        return [dest for (dest,) in rows]

    def tally(self) -> dict[tuple[str, int | None, str], int]:
        """Items per (destination, run that last recorded them, status), counted in SQL: what
        each run left, without reading a record."""
        rows = self._db.execute("SELECT dest, run_id, status, count(*) FROM items "
                                "GROUP BY dest, run_id, status")
        return {(dest, run_id, status): n for dest, run_id, status, n in rows}

    def counts(self, dest: str | None = None) -> dict[str, int]:
        query = "SELECT status, count(*) FROM items"
        rows = (self._db.execute(query + " WHERE dest = ? GROUP BY status", (dest,))
                if dest else self._db.execute(query + " GROUP BY status"))
        return {status: n for status, n in rows}


def _item(row: sqlite3.Row) -> LedgerItem:
    data = dict(row)
    data["timings"] = json.loads(data["timings"] or "{}")
    data["details"] = json.loads(data["details"] or "{}")
    data["review"] = json.loads(data["review"]) if data.get("review") else None
    return LedgerItem(**data)
