"""One SQLAlchemy engine per database URL, with SQLite set up for a busy server.

SQLite is the embedded default (a file in the data dir); PostgreSQL is for several server
replicas sharing one store. Tables of every subsystem (jobs, API clients) share the metadata.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.pool import StaticPool

METADATA = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no time zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'lampyris.db').resolve()}"


def make_engine(url: str) -> Engine:
    """An engine whose tables exist. SQLite gets WAL (readers never wait for the writer) and a
    busy timeout (writers queue instead of failing)."""
    if url in ("sqlite://", "sqlite:///:memory:"):  # one shared in-memory database, for tests
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, poolclass=StaticPool
        )
    elif url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    METADATA.create_all(engine)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
