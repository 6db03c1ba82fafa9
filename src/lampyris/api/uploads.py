"""Firefly uploads (``POST /v2/storage/image``): images kept in the server's object store and
referred to by id (``source.uploadId``) until they expire, 7 days by default.

The registry keeps who uploaded what and until when, so an id is usable only by the client
that uploaded it and only while it is valid; the bytes live in the object store under
``uploads/<id>``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Engine, String, Table, delete, insert, select

from lampyris.jobs.database import METADATA, UtcDateTime
from lampyris.jobs.record import now

UPLOADS = Table(
    "uploads",
    METADATA,
    Column("id", String(36), primary_key=True),
    Column("owner", String(100), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("created", UtcDateTime, nullable=False),
    Column("expires", UtcDateTime, nullable=False, index=True),
)


@dataclass(frozen=True)
class Upload:
    id: str
    owner: str
    content_type: str
    created: datetime
    expires: datetime

    @property
    def key(self) -> str:
        return upload_key(self.id)

    @property
    def expired(self) -> bool:
        return self.expires <= now()


def upload_key(upload_id: str) -> str:
    return f"uploads/{upload_id}"


class UploadRegistry:
    """Record uploads and look them up by id for their owner."""

    def __init__(self, engine: Engine, ttl_seconds: int) -> None:
        self.engine = engine
        self.ttl = timedelta(seconds=ttl_seconds)
        METADATA.create_all(engine, tables=[UPLOADS])

    def add(self, owner: str, content_type: str) -> Upload:
        """A new upload id (a UUID4, as Firefly's are) valid for the registry's ttl."""
        stamp = now()
        upload = Upload(str(uuid.uuid4()), owner, content_type, stamp, stamp + self.ttl)
        with self.engine.begin() as conn:
            conn.execute(insert(UPLOADS).values(
                id=upload.id, owner=owner, content_type=content_type, created=stamp,
                expires=upload.expires,
            ))
        return upload

    def get(self, upload_id: str, owner: str) -> Upload | None:
        """``owner``'s upload (expired or not), or None."""
        query = select(UPLOADS).where(UPLOADS.c.id == upload_id, UPLOADS.c.owner == owner)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return Upload(row.id, row.owner, row.content_type, row.created, row.expires)

    def expired_ids(self, grace: timedelta = timedelta(days=1)) -> list[str]:
        """Uploads past their expiry by more than ``grace`` (kept a day, so a client still
        gets "expired" rather than "unknown"): forgotten by ``forget``."""
        query = select(UPLOADS.c.id).where(UPLOADS.c.expires < now() - grace)
        with self.engine.connect() as conn:
            return [r.id for r in conn.execute(query).all()]

    def forget(self, upload_ids: list[str]) -> None:
        if upload_ids:
            with self.engine.begin() as conn:
                conn.execute(delete(UPLOADS).where(UPLOADS.c.id.in_(upload_ids)))
