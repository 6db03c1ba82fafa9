"""Each API client's webhook: the URL told of every job it submits (optional) and the secret
its events are signed with.

The secret is kept as it is, not hashed, unlike the client secret: the server must compute
HMACs with it. It is shown once when made (``lampyris clients add``, or ``lampyris clients
webhook NAME --rotate``) and never listed; a database copy reveals it, so rotate it after one
leaks. Every client made since webhooks exist has one; a client made before gets one from
``--rotate``, and until then a callback it asks for is refused at submit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Column, Connection, Engine, String, Table, delete, insert, select, update

from lampyris.jobs.database import METADATA, UtcDateTime
from lampyris.jobs.record import now

CLIENT_WEBHOOKS = Table(
    "client_webhooks",
    METADATA,
    Column("client_id", String(64), primary_key=True),
    Column("url", String(8192)),
    Column("secret", String(200), nullable=False),
    Column("created", UtcDateTime, nullable=False),
)


@dataclass(frozen=True)
class ClientWebhook:
    client_id: str
    url: str | None
    secret: str


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def create(conn: Connection, client_id: str, url: str | None = None) -> ClientWebhook:
    """A client's webhook row, in the caller's transaction (the client's own insert)."""
    hook = ClientWebhook(client_id, url, new_secret())
    conn.execute(insert(CLIENT_WEBHOOKS).values(client_id=client_id, url=url,
                                                secret=hook.secret, created=now()))
    return hook


def forget(conn: Connection, client_id: str) -> None:
    conn.execute(delete(CLIENT_WEBHOOKS).where(CLIENT_WEBHOOKS.c.client_id == client_id))


class ClientWebhooks:
    """Read and change clients' webhooks.

    Usage:
        hooks = ClientWebhooks(engine)
        hooks.get(client_id)             # ClientWebhook, or None (a client made before)
        hooks.set(client_id, url="https://pim.example.com/hooks", rotate=True)
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, client_id: str) -> ClientWebhook | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(CLIENT_WEBHOOKS).where(
                CLIENT_WEBHOOKS.c.client_id == client_id)).first()
        return None if row is None else ClientWebhook(row.client_id, row.url, row.secret)

    def secret(self, client_id: str) -> str | None:
        hook = self.get(client_id)
        return None if hook is None else hook.secret

    def set(self, client_id: str, *, url: str | None = None, clear_url: bool = False,
            rotate: bool = False) -> ClientWebhook:
        """Change the URL (``clear_url``: none) and/or make a new secret; a client without a
        row gets one (with a new secret)."""
        with self.engine.begin() as conn:
            row = conn.execute(select(CLIENT_WEBHOOKS).where(
                CLIENT_WEBHOOKS.c.client_id == client_id)).first()
            if row is None:
                return create(conn, client_id, None if clear_url else url)
            values: dict[str, str | None] = {}
            if url is not None or clear_url:
                values["url"] = None if clear_url else url
            if rotate:
                values["secret"] = new_secret()
            if values:
                conn.execute(update(CLIENT_WEBHOOKS).where(
                    CLIENT_WEBHOOKS.c.client_id == client_id).values(**values))
        hook = self.get(client_id)
        assert hook is not None
        return hook
