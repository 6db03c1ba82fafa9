"""Access tokens: signed (HS256 JWT), expiring, naming the client they were issued to.

The signing key lives in the database, created on first use, so every replica sharing a
PostgreSQL store accepts the tokens of the others and tokens survive a restart.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt
from sqlalchemy import Column, Engine, LargeBinary, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from lampyris.jobs.database import METADATA

SECRETS = Table(
    "server_secrets",
    METADATA,
    Column("name", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)


def server_secret(engine: Engine, name: str) -> bytes:
    """The named random secret, created atomically the first time any replica asks."""
    query = select(SECRETS.c.value).where(SECRETS.c.name == name)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is not None:
        return bytes(row.value)
    try:
        with engine.begin() as conn:
            conn.execute(insert(SECRETS).values(name=name, value=secrets.token_bytes(32)))
    except IntegrityError:
        pass  # another process created it first: use theirs
    with engine.connect() as conn:
        return bytes(conn.execute(query).one().value)


class InvalidTokenError(Exception):
    """The token is missing, malformed, forged or expired; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenClaims:
    client_id: str
    scope: str
    expires: int


class TokenSigner:
    """Issue and check tokens with one key."""

    ISSUER = "lampyris"

    def __init__(self, key: bytes, ttl: int) -> None:
        self.key = key
        self.ttl = ttl

    def issue(self, client_id: str, scope: str) -> str:
        issued = int(time.time())
        return jwt.encode(
            {"iss": self.ISSUER, "sub": client_id, "scope": scope, "iat": issued,
             "exp": issued + self.ttl, "jti": secrets.token_hex(8)},
            self.key, algorithm="HS256",
        )

    def verify(self, token: str) -> TokenClaims:
        try:
            claims = jwt.decode(
                token, self.key, algorithms=["HS256"], issuer=self.ISSUER,
                options={"require": ["exp", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidTokenError("the access token has expired") from None
        except jwt.InvalidTokenError:
            raise InvalidTokenError("the access token is not valid") from None
        return TokenClaims(claims["sub"], claims.get("scope", ""), claims["exp"])
