"""One batch run's inputs, spooled to disk as they are listed, so the driver's memory does not
grow with their number (a million inputs, not just ten thousand).

A temporary SQLite database (attached by the empty file name, with ``temp_store=FILE``): one
row per input, in listing order, with the output it was named and, where its output belongs
to another input (``BatchRunner._name_outputs``), why. A UNIQUE index on the output makes "is
this output taken by this run?" one lookup instead of a dict of every output. SQLite keeps it
in its page cache (``CACHE_KIB``: all the spool holds in memory) and spills the rest to a file
in the temporary folder (``SQLITE_TMPDIR``, ``TMPDIR``, else ``/var/tmp``) that it deletes as
it opens it, so even a run killed with SIGKILL leaves nothing behind (a named file in a temp
folder did: a killed run cannot remove it); closing the spool frees the space. It is scratch,
so there is no journal and no fsync. On disk a row of a typical bucket key costs ~0.27 KB
with its index: 27 MB for 100,000 inputs, ~270 MB for a million.

Usage:
    with Spool() as spool:
        spool.add(source, "s3://in/a.jpg", "s3://out/a.png")
        for row in spool:
            ...
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from lampyris.storage.locations import SourceFile

CHUNK = 1000  # rows read back at a time, and rows written between commits
# SQLite's page cache (its default size): all the spool holds in memory. Listing and naming
# 100,000 inputs grew the driver by 4.9 MB with it and by 11.9 MB with 8 MiB, in the same
# 2.4-3.0 s (2 shared cores).
CACHE_KIB = 2048

_SCHEMA = """
CREATE TABLE spool.inputs (
    seq        INTEGER PRIMARY KEY,
    input_url  TEXT NOT NULL,
    rel        TEXT NOT NULL,
    path       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    stamp      TEXT NOT NULL,
    modified   REAL,
    output_url TEXT NOT NULL,
    clash      TEXT
);
CREATE UNIQUE INDEX spool.inputs_output ON inputs (output_url);
"""


@dataclass(frozen=True, slots=True)
class Spooled:
    """One listed input: where it is, its URL, its output, and why that output is another
    input's (None: it is its own)."""

    source: SourceFile
    input_url: str
    output_url: str
    clash: str | None = None


class Spool:
    """The spooled inputs of one run, read back in the order they were added."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:")  # empty: the spool is attached to it
        # on disk past the cache, whatever the build's default for temporary databases
        self._db.execute("PRAGMA temp_store=FILE")
        self._db.execute("ATTACH DATABASE '' AS spool")
        for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{CACHE_KIB}"):
            self._db.execute(f"PRAGMA spool.{pragma}")
        self._db.executescript(_SCHEMA)
        self._count = 0
        self.closed = False

    def close(self) -> None:
        """Delete the spool (safe to call twice)."""
        if not self.closed:
            self._db.close()
            self.closed = True

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self._count

    def add(self, source: SourceFile, input_url: str, output_url: str,
            clash: str | None = None) -> None:
        """Append one input; ``output_url`` must not be taken (``owner``)."""
        self._db.execute(
            "INSERT INTO inputs (input_url, rel, path, size, stamp, modified, output_url, "
            "clash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (input_url, source.rel, source.path, source.size, source.stamp, source.modified,
             output_url, clash))
        self._count += 1
        if self._count % CHUNK == 0:
            self._db.commit()

    def owner(self, output_url: str) -> str | None:
        """The input already given ``output_url`` in this run, or None."""
        row = self._db.execute("SELECT input_url FROM inputs WHERE output_url = ?",
                               (output_url,)).fetchone()
        return None if row is None else str(row[0])

    def __iter__(self) -> Iterator[Spooled]:
        """Every input in listing order, ``CHUNK`` rows read at a time (never all at once)."""
        self._db.commit()
        last = 0
        while True:
            rows = self._db.execute(
                "SELECT seq, input_url, rel, path, size, stamp, modified, output_url, clash "
                "FROM inputs WHERE seq > ? ORDER BY seq LIMIT ?", (last, CHUNK)).fetchall()
            for seq, input_url, rel, path, size, stamp, modified, output_url, clash in rows:
                last = seq
                yield Spooled(SourceFile(path=path, rel=rel, size=size, stamp=stamp,
                                         modified=modified), input_url, output_url, clash)
            if len(rows) < CHUNK:
                return
