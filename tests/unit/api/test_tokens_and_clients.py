"""Access tokens and API clients on an in-memory database."""

from __future__ import annotations

import jwt
import pytest

from lampyris.api.clients import ClientRegistry
from lampyris.api.tokens import InvalidTokenError, TokenSigner, server_secret
from lampyris.errors import InvalidParameterError
from lampyris.jobs.database import make_engine


@pytest.fixture
def engine():
    engine = make_engine("sqlite://")
    yield engine
    engine.dispose()


def test_server_secret_is_created_once_and_kept(engine):
    first = server_secret(engine, "tokens")
    assert len(first) == 32 and server_secret(engine, "tokens") == first
    assert server_secret(engine, "objects") != first


def test_tokens_verify_and_expire(engine):
    signer = TokenSigner(server_secret(engine, "tokens"), ttl=60)
    claims = signer.verify(signer.issue("client-1", "openid,AdobeID"))
    assert (claims.client_id, claims.scope) == ("client-1", "openid,AdobeID")
    with pytest.raises(InvalidTokenError, match="expired"):
        TokenSigner(signer.key, ttl=-5).verify(TokenSigner(signer.key, ttl=-5).issue("c", ""))
    with pytest.raises(InvalidTokenError, match="not valid"):
        TokenSigner(b"other key" * 4, 60).verify(signer.issue("c", ""))
    unsigned = jwt.encode({"sub": "c", "exp": 2**40, "iss": "lampyris"}, key="", algorithm="none")
    with pytest.raises(InvalidTokenError):
        signer.verify(unsigned)


def test_clients_add_authenticate_list_remove(engine):
    registry = ClientRegistry(engine)
    client, secret = registry.add("shop")
    assert registry.authenticate(client.id, secret)
    assert not registry.authenticate(client.id, secret + "x")
    assert not registry.authenticate("unknown", secret)
    assert [c.name for c in registry.list()] == ["shop"]
    with pytest.raises(InvalidParameterError, match="already exists"):
        registry.add("shop")
    assert registry.exists(client.id)
    assert registry.remove("shop") and not registry.exists(client.id)
    assert not registry.remove("shop")


def test_secrets_are_stored_hashed(engine):
    registry = ClientRegistry(engine)
    _, secret = registry.add("shop")
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT secret_hash FROM clients").scalar()
    assert secret not in stored and stored.startswith("scrypt$")
