"""Access tokens and API clients on an in-memory database."""

from __future__ import annotations

import asyncio

import jwt
import pytest

from lampyris.api import clients as clients_module
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

    def check(client_id: str, given: str) -> bool:
        return asyncio.run(registry.check(client_id, given, registry.stored_hash(client_id)))

    assert check(client.id, secret)
    assert not check(client.id, secret + "x")
    assert not check("unknown", secret)
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


def test_secret_checks_hash_each_pair_once_and_made_up_ids_never(
    engine, monkeypatch
):
    registry = ClientRegistry(engine)
    client, secret = registry.add("shop")
    stored = registry.stored_hash(client.id)
    assert stored is not None and registry.stored_hash("unknown") is None
    hashes: list[str] = []
    real = clients_module._matches
    monkeypatch.setattr(clients_module, "_matches",
                        lambda s, h: hashes.append(s) or real(s, h))

    async def scenario() -> None:
        assert not registry.remembered(client.id, secret)
        assert await registry.check(client.id, secret, stored)
        assert registry.remembered(client.id, secret, stored)
        assert not registry.remembered(client.id, secret + "x", stored)
        assert not registry.remembered(client.id, secret, "scrypt$00$00")  # re-created
        assert not await registry.check(client.id, "wrong", stored)
        assert registry.refused_lately(client.id, "wrong")
        assert not registry.refused_lately(client.id, "other")
        assert not await registry.check("unknown", "whatever", None)

    asyncio.run(scenario())
    assert hashes == [secret, "wrong"], "one hash per distinct pair, none for unknown ids"
