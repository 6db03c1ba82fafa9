"""The request layer: headers on every call, one token refresh on 401, retry rules.

These unit tests script the server with ``httpx.MockTransport`` and a fake clock, so the
number of attempts and every wait can be asserted exactly and nothing really sleeps; the
end-to-end tests against a live lampyris server are separate.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from lampyris.client import (
    AuthenticationError,
    Backoff,
    PhotoshopClient,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    ServiceConnectionError,
    ServiceError,
)

from .scripted import BASE, FakeTime, ScriptedServer, raises

ACCEPTED = (202, {"jobId": "j1", "statusUrl": f"{BASE}/v2/status/j1"})
RATE_LIMITED = {"error_code": "rate_limited", "message": "Too many requests."}
UNAVAILABLE = (503, {"error_code": "unavailable", "message": "try later"})


def test_every_service_call_sends_token_key_and_json(
    server: ScriptedServer, client: PhotoshopClient
) -> None:
    server.add("POST", "/v2/remove-background", ACCEPTED)
    server.add("GET", "/v2/status/j1", (200, {"jobId": "j1", "status": "running"}))
    client.remove_background("https://in.test/a.jpg")
    client.status("j1")
    for request in server.service_calls():
        assert request.headers["authorization"] == "Bearer tok-1"
        assert request.headers["x-api-key"] == "cid"
        assert request.headers["content-type"] == "application/json"
    assert server.tokens_issued == 1


def test_401_refreshes_the_token_and_retries_once(
    server: ScriptedServer, client: PhotoshopClient
) -> None:
    server.add(
        "POST",
        "/v2/remove-background",
        (401, {"error_code": "401013", "message": "Oauth token is not valid"}),
        ACCEPTED,
    )
    ref = client.remove_background("https://in.test/a.jpg")
    assert ref.job_id == "j1"
    sent = server.calls("POST", "/v2/remove-background")
    assert [r.headers["authorization"] for r in sent] == ["Bearer tok-1", "Bearer tok-2"]
    assert server.tokens_issued == 2


def test_a_second_401_is_raised(server: ScriptedServer, client: PhotoshopClient) -> None:
    server.add("GET", "/v2/status/j1", (401, {"error_code": "401013", "message": "no"}))
    with pytest.raises(AuthenticationError) as caught:
        client.status("j1")
    assert caught.value.code == "401013"
    assert len(server.calls("GET", "/v2/status/j1")) == 2
    assert server.tokens_issued == 2


def test_429_on_submit_waits_retry_after_and_retries(
    server: ScriptedServer, client: PhotoshopClient, fake_time: FakeTime
) -> None:
    server.add(
        "POST",
        "/v2/remove-background",
        (429, RATE_LIMITED, {"Retry-After": "3"}),
        (429, RATE_LIMITED, {"Retry-After": "1.5"}),
        ACCEPTED,
    )
    assert client.remove_background("https://in.test/a.jpg").job_id == "j1"
    assert fake_time.sleeps == [3.0, 1.5]


def test_429_without_retry_after_backs_off(
    server: ScriptedServer, make_client: Callable[..., PhotoshopClient], fake_time: FakeTime
) -> None:
    client = make_client(retry=RetryPolicy(rate_limited=2, backoff=Backoff(1.0, 2.0, 30.0)))
    server.add("POST", "/v2/remove-background", (429, RATE_LIMITED))
    with pytest.raises(RateLimitedError):
        client.remove_background("https://in.test/a.jpg")
    assert fake_time.sleeps == [1.0, 2.0]
    assert len(server.calls("POST", "/v2/remove-background")) == 3


def test_a_retry_after_beyond_the_cap_is_raised_not_slept(
    server: ScriptedServer, client: PhotoshopClient, fake_time: FakeTime
) -> None:
    server.add("POST", "/v2/remove-background", (429, RATE_LIMITED, {"Retry-After": "3600"}))
    with pytest.raises(RateLimitedError) as caught:
        client.remove_background("https://in.test/a.jpg")
    assert caught.value.retry_after == 3600.0
    assert fake_time.sleeps == []


def test_5xx_on_submit_is_not_retried_by_default(
    server: ScriptedServer, client: PhotoshopClient
) -> None:
    server.add("POST", "/v2/remove-background", UNAVAILABLE, ACCEPTED)
    with pytest.raises(ServerError):
        client.remove_background("https://in.test/a.jpg")
    assert len(server.calls("POST", "/v2/remove-background")) == 1


def test_5xx_on_submit_is_retried_when_asked(
    server: ScriptedServer, client: PhotoshopClient, fake_time: FakeTime
) -> None:
    server.add("POST", "/v2/remove-background", (500, {"error_code": "runtime_error"}), ACCEPTED)
    ref = client.remove_background("https://in.test/a.jpg", retry_server_errors=True)
    assert ref.job_id == "j1"
    assert fake_time.sleeps == [1.0]


def test_gateway_errors_on_status_get_are_retried(
    server: ScriptedServer, client: PhotoshopClient, fake_time: FakeTime
) -> None:
    server.add(
        "GET",
        "/v2/status/j1",
        (502, None),
        UNAVAILABLE,
        (504, None),
        (200, {"jobId": "j1", "status": "running"}),
    )
    assert client.status("j1").status == "running"
    assert fake_time.sleeps == [1.0, 2.0, 4.0]


def test_gateway_errors_give_up_after_the_policy(
    server: ScriptedServer, client: PhotoshopClient
) -> None:
    server.add("GET", "/v2/status/j1", UNAVAILABLE)
    with pytest.raises(ServerError):
        client.status("j1")
    assert len(server.calls("GET", "/v2/status/j1")) == 4  # 1 + RetryPolicy().server_errors


def test_500_on_status_get_is_not_retried(server: ScriptedServer, client: PhotoshopClient) -> None:
    server.add("GET", "/v2/status/j1", (500, {"error_code": "runtime_error"}))
    with pytest.raises(ServerError):
        client.status("j1")
    assert len(server.calls("GET", "/v2/status/j1")) == 1


def test_broken_connections_become_api_connection_errors(
    server: ScriptedServer, client: PhotoshopClient, fake_time: FakeTime
) -> None:
    server.add("POST", "/v2/remove-background", raises(httpx.ConnectError("refused")))
    server.add(
        "GET",
        "/v2/status/j1",
        raises(httpx.ConnectError("refused")),
        (200, {"jobId": "j1", "status": "pending"}),
    )
    with pytest.raises(ServiceConnectionError):
        client.remove_background("https://in.test/a.jpg")
    assert client.status("j1").status == "pending"  # a GET may retry
    assert fake_time.sleeps == [1.0]


def test_non_json_success_is_an_api_error(server: ScriptedServer, client: PhotoshopClient) -> None:
    server.add("GET", "/v2/status/j1", lambda r: httpx.Response(200, text="<html>ok</html>"))
    with pytest.raises(ServiceError, match="expected JSON"):
        client.status("j1")
