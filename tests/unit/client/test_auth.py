"""IMS tokens: one fetch, cached, refreshed before expiry, errors as AuthenticationError.

These unit tests script IMS with ``httpx.MockTransport`` (see ``scripted.py``) so the exact
form body and the refresh timing can be asserted without a network or real waiting; the
end-to-end tests against a live lampyris server are separate.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from lampyris.client import AuthenticationError, ServerError, StaticToken, TokenProvider

from .scripted import IMS, FakeTime, ScriptedServer, form_body


def provider(server: ScriptedServer, fake_time: FakeTime, **options: object) -> TokenProvider:
    return TokenProvider(
        "cid",
        "secret",
        ims_url=IMS,
        transport=server.transport,
        clock=fake_time.clock,
        **options,  # type: ignore[arg-type]
    )


def test_token_is_fetched_once_and_cached(server: ScriptedServer, fake_time: FakeTime) -> None:
    with provider(server, fake_time) as tokens:
        assert tokens.get_token() == "tok-1"
        assert tokens.get_token() == "tok-1"
    assert server.tokens_issued == 1


def test_form_body_carries_the_plain_values(server: ScriptedServer) -> None:
    secret = "p+a&s=s /%"  # characters form encoding must protect
    with TokenProvider("my-client", secret, ims_url=IMS + "/", transport=server.transport) as t:
        t.get_token()
    (request,) = server.requests
    assert str(request.url) == f"{IMS}/ims/token/v3"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form_body(request) == {
        "grant_type": ["client_credentials"],
        "client_id": ["my-client"],
        "client_secret": [secret],
        "scope": ["openid,AdobeID,read_organizations"],
    }


def test_scopes_may_be_a_list(server: ScriptedServer, fake_time: FakeTime) -> None:
    with provider(server, fake_time, scopes=["firefly_api", "ff_apis"]) as tokens:
        tokens.get_token()
    assert form_body(server.requests[0])["scope"] == ["firefly_api,ff_apis"]


@pytest.mark.parametrize(
    ("expires_in", "margin"),
    [(86399, 300.0), (3600, 300.0), (60, 6.0)],  # 5 min, or 10 % of a short lifetime
)
def test_token_is_refreshed_a_margin_before_expiry(
    server: ScriptedServer, fake_time: FakeTime, expires_in: float, margin: float
) -> None:
    server.add("POST", "/ims/token/v3", lambda r: server.issue_token(r, expires_in))
    with provider(server, fake_time) as tokens:
        tokens.get_token()
        fake_time.now += expires_in - margin - 0.5
        assert tokens.get_token() == "tok-1"
        fake_time.now += 0.5
        assert tokens.get_token() == "tok-2"
    assert server.tokens_issued == 2


def test_invalidate_drops_only_the_token_named(server: ScriptedServer, fake_time: FakeTime) -> None:
    with provider(server, fake_time) as tokens:
        tokens.get_token()
        tokens.invalidate("some-older-token")  # another thread already replaced it
        assert tokens.get_token() == "tok-1"
        tokens.invalidate("tok-1")
        assert tokens.get_token() == "tok-2"


def test_concurrent_callers_share_one_fetch(server: ScriptedServer) -> None:
    def slow_token(request: httpx.Request) -> httpx.Response:
        time.sleep(0.02)  # widen the window in which a second fetch could start
        return server.issue_token(request)

    server.add("POST", "/ims/token/v3", slow_token)
    seen: list[str] = []
    with TokenProvider("cid", "secret", ims_url=IMS, transport=server.transport) as tokens:
        threads = [
            threading.Thread(target=lambda: seen.append(tokens.get_token())) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert seen == ["tok-1"] * 8
    assert server.tokens_issued == 1


@pytest.mark.parametrize(
    ("status", "body", "code", "message"),
    [
        (
            400,
            {"error": "invalid_scope", "error_description": "The metascopes are not a subset"},
            "invalid_scope",
            "The metascopes are not a subset",
        ),
        (
            401,
            {"error": "invalid_client", "error_description": "invalid client_id parameter"},
            "invalid_client",
            "invalid client_id parameter",
        ),
        (
            200,
            {"error": "invalid_request", "error_description": "missing scope"},
            "invalid_request",
            "missing scope",
        ),
        (200, {"token_type": "bearer"}, "invalid_response", "IMS answered without an access_token"),
    ],
)
def test_ims_errors_raise_authentication_error(
    server: ScriptedServer, fake_time: FakeTime, status: int, body: dict, code: str, message: str
) -> None:
    server.add("POST", "/ims/token/v3", (status, body))
    with provider(server, fake_time) as tokens, pytest.raises(AuthenticationError) as caught:
        tokens.get_token()
    assert (caught.value.status, caught.value.code, caught.value.message) == (status, code, message)
    assert caught.value.body == body


def test_ims_outage_is_a_server_error_not_bad_credentials(
    server: ScriptedServer, fake_time: FakeTime
) -> None:
    server.add("POST", "/ims/token/v3", (503, {"error_code": "unavailable", "message": "down"}))
    with provider(server, fake_time) as tokens, pytest.raises(ServerError):
        tokens.get_token()


def test_static_token_never_calls_ims() -> None:
    token = StaticToken("given")
    token.invalidate("given")
    assert token.get_token() == "given"
