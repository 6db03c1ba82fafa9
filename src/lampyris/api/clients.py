"""API clients: the id/secret pairs that may ask for tokens. Secrets are stored as scrypt
hashes, so a copy of the database does not let anyone act as a client."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Engine, String, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError

from lampyris.errors import InvalidParameterError
from lampyris.jobs.database import METADATA, UtcDateTime
from lampyris.jobs.record import now

CLIENTS = Table(
    "clients",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("secret_hash", String(200), nullable=False),
    Column("created", UtcDateTime, nullable=False),
)

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def _hash(secret: str, salt: bytes) -> str:
    digest = hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _matches(secret: str, stored: str) -> bool:
    try:
        _, salt, _digest = stored.split("$")
        return hmac.compare_digest(_hash(secret, bytes.fromhex(salt)), stored)
    except ValueError:
        return False


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    created: datetime


class ClientRegistry:
    """Add, list, remove and authenticate clients. ``exists`` is cached for a few seconds so
    every API request does not cost a query, while a removed client is shut out quickly."""

    CACHE_SECONDS = 10.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._seen: dict[str, float] = {}

    def add(self, name: str) -> tuple[Client, str]:
        """Create a client; returns it and its secret, which is shown this once only."""
        client = Client(id=secrets.token_hex(16), name=name, created=now())
        secret = secrets.token_urlsafe(32)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(CLIENTS).values(
                    id=client.id, name=name, created=client.created,
                    secret_hash=_hash(secret, secrets.token_bytes(16)),
                ))
        except IntegrityError:
            raise InvalidParameterError(f"a client named {name!r} already exists") from None
        return client, secret

    def list(self) -> list[Client]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(CLIENTS).order_by(CLIENTS.c.created)).all()
        return [Client(r.id, r.name, r.created) for r in rows]

    def remove(self, id_or_name: str) -> bool:
        with self.engine.begin() as conn:
            gone = conn.execute(delete(CLIENTS).where(
                (CLIENTS.c.id == id_or_name) | (CLIENTS.c.name == id_or_name)
            )).rowcount
        self._seen.clear()
        return gone > 0

    def authenticate(self, client_id: str, secret: str) -> bool:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(CLIENTS.c.secret_hash).where(CLIENTS.c.id == client_id)
            ).first()
        # Hash anyway when the id is unknown, so timing does not tell which ids exist.
        return _matches(secret, row.secret_hash if row else _hash("", b"0" * 16)) and bool(row)

    def exists(self, client_id: str) -> bool:
        seen = self._seen.get(client_id)
        if seen is not None and time.monotonic() - seen < self.CACHE_SECONDS:
            return True
        with self.engine.connect() as conn:
            found = conn.execute(
                select(CLIENTS.c.id).where(CLIENTS.c.id == client_id)
            ).first() is not None
        if found:
            self._seen[client_id] = time.monotonic()
        return found
