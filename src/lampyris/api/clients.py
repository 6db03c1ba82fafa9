"""API clients: the id/secret pairs that may ask for tokens. Secrets are stored as scrypt
hashes, so a copy of the database does not let anyone act as a client.

scrypt is deliberately expensive (~50–90 ms of CPU and 16 MB per check on a 2-core test
machine), so the token route must not let anyone spend it freely: ``check`` runs it on one
dedicated thread (never the event loop, never more than one core however many requests
arrive), refuses an unknown client id without hashing, and remembers recent outcomes so that
neither a client asking again with its right secret nor a script retrying a wrong one costs
another hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Engine, String, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError

from lampyris.api import client_webhooks
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


def _timed_match(secret: str, stored: str) -> tuple[bool, float]:
    start = time.perf_counter()
    return _matches(secret, stored), time.perf_counter() - start


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    created: datetime


class ClientRegistry:
    """Add, list, remove and authenticate clients. ``exists`` is cached for a few seconds so
    every API request does not cost a query, while a removed client is shut out quickly."""

    CACHE_SECONDS = 10.0
    # A right secret is remembered (as an HMAC under a per-process key, never in clear) for an
    # hour, a wrong one for a minute; both are checked against the stored hash read fresh
    # from the database, so removing a client still shuts it out at once.
    VERIFIED_SECONDS = 3600.0
    REFUSED_SECONDS = 60.0
    REFUSED_MAX = 10_000
    # One thread: 24 parallel wrong secrets on 2 cores took /health from 24 ms to 685 ms when
    # each ran scrypt on the shared thread pool.
    HASH_THREADS = 1

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._seen: dict[str, float] = {}
        self._key = secrets.token_bytes(32)
        self._verified: dict[str, tuple[str, bytes, float]] = {}
        self._refused: OrderedDict[tuple[str, bytes], float] = OrderedDict()
        self._hasher: ThreadPoolExecutor | None = None
        self.hash_seconds = 0.08  # a running mean of scrypt's time: unknown ids wait as long

    def add(self, name: str, webhook: str | None = None) -> tuple[Client, str]:
        """Create a client; returns it and its secret, which is shown this once only. Its
        webhook secret (``client_webhooks``) is made with it, told of every job when
        ``webhook`` names a URL."""
        client = Client(id=secrets.token_hex(16), name=name, created=now())
        secret = secrets.token_urlsafe(32)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(CLIENTS).values(
                    id=client.id, name=name, created=client.created,
                    secret_hash=_hash(secret, secrets.token_bytes(16)),
                ))
                client_webhooks.create(conn, client.id, webhook)
        except IntegrityError:
            raise InvalidParameterError(f"a client named {name!r} already exists") from None
        return client, secret

    def list(self) -> list[Client]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(CLIENTS).order_by(CLIENTS.c.created)).all()
        return [Client(r.id, r.name, r.created) for r in rows]

    def remove(self, id_or_name: str) -> bool:
        with self.engine.begin() as conn:
            ids = conn.execute(select(CLIENTS.c.id).where(
                (CLIENTS.c.id == id_or_name) | (CLIENTS.c.name == id_or_name))).scalars().all()
            gone = conn.execute(delete(CLIENTS).where(CLIENTS.c.id.in_(ids))).rowcount
            for client_id in ids:
                client_webhooks.forget(conn, client_id)
        self._seen.clear()
        return gone > 0

    # -- the token route's checks ----------------------------------------------------------
    def stored_hash(self, client_id: str) -> str | None:
        """The client's stored secret hash; None for an unknown id (a cheap indexed query)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(CLIENTS.c.secret_hash).where(CLIENTS.c.id == client_id)
            ).first()
        return None if row is None else str(row.secret_hash)

    def remembered(self, client_id: str, secret: str, stored: str | None = None) -> bool:
        """True when this exact secret was verified for this client lately (no hashing);
        against ``stored``, the hash read from the database just now, when given."""
        entry = self._verified.get(client_id)
        if entry is None:
            return False
        hashed, digest, until = entry
        if (stored is not None and hashed != stored) or time.monotonic() > until:
            self._verified.pop(client_id, None)
            return False
        return hmac.compare_digest(digest, self._digest(secret))

    def refused_lately(self, client_id: str, secret: str) -> bool:
        """True when this exact pair was refused within ``REFUSED_SECONDS`` (no hashing)."""
        until = self._refused.get((client_id, self._digest(secret)))
        return until is not None and time.monotonic() < until

    async def check(self, client_id: str, secret: str, stored: str | None) -> bool:
        """Verify ``secret`` against ``stored`` with scrypt, on the registry's own thread;
        an unknown id (``stored`` None) waits about as long as a hash and fails without one,
        so timing does not tell which ids exist."""
        if stored is None:
            await asyncio.sleep(self.hash_seconds)
            return False
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(self.HASH_THREADS,
                                              thread_name_prefix="lampyris-scrypt")
        loop = asyncio.get_running_loop()
        ok, seconds = await loop.run_in_executor(self._hasher, _timed_match, secret, stored)
        self.hash_seconds = min(0.5, 0.8 * self.hash_seconds + 0.2 * seconds)
        digest = self._digest(secret)
        if ok:
            self._verified[client_id] = (stored, digest, time.monotonic()
                                         + self.VERIFIED_SECONDS)
        else:
            self._refused[(client_id, digest)] = time.monotonic() + self.REFUSED_SECONDS
            self._refused.move_to_end((client_id, digest))
            while len(self._refused) > self.REFUSED_MAX:
                self._refused.popitem(last=False)
        return ok

    def _digest(self, secret: str) -> bytes:
        return hmac.new(self._key, secret.encode(), hashlib.sha256).digest()

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
