"""Tokens and the gateway: IMS client credentials, 401s in the gateway's shape, per-client
isolation and rate limits, against a live server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from lampyris.api.tokens import TokenSigner, server_secret
from lampyris.jobs.database import make_engine, sqlite_url
from support.lampyris_server import Credentials, LampyrisServer, running_server

V2_BODY = {"image": {"source": {"url": "https://example.com/a.jpg"}}}


def _token_request(live: LampyrisServer, who: Credentials, **extra: str) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": who.client_id,
            "client_secret": who.client_secret, "scope": "openid,AdobeID", **extra}
    return httpx.post(f"{live.url}/ims/token/v3", data=form)


def test_token_has_the_ims_shape(server: LampyrisServer):
    assert server.client is not None
    answer = _token_request(server, server.client)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 86399
    assert body["access_token"].count(".") == 2


def test_token_parameters_in_the_query_string_and_unencoded_commas(server: LampyrisServer):
    who = server.client
    assert who is not None
    query = (f"grant_type=client_credentials&client_id={who.client_id}"
             f"&client_secret={who.client_secret}&scope=openid,AdobeID,firefly_api,ff_apis")
    assert httpx.post(f"{server.url}/ims/token/v3?{query}").status_code == 200
    raw = httpx.post(f"{server.url}/ims/token/v3", content=query.encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert raw.status_code == 200 and raw.json()["access_token"]


@pytest.mark.parametrize(("change", "status", "error"), [
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "nobody"}, 401, "invalid_client"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"grant_type": ""}, 400, "invalid_request"),
])
def test_bad_token_requests_get_oauth_errors(server: LampyrisServer, change: dict[str, str],
                                             status: int, error: str):
    assert server.client is not None
    answer = _token_request(server, server.client, **change)
    assert answer.status_code == status
    assert answer.json()["error"] == error and answer.json()["error_description"]


def _expired_token(live: LampyrisServer) -> str:
    engine = make_engine(sqlite_url(live.data_dir))
    signer = TokenSigner(server_secret(engine, "tokens"), ttl=-10)
    engine.dispose()
    assert live.client is not None
    return signer.issue(live.client.client_id, "openid")


@pytest.mark.parametrize("case", ["none", "not bearer", "garbage", "forged", "expired",
                                  "no api key", "other api key"])
def test_service_routes_need_a_valid_token_and_matching_api_key(server: LampyrisServer,
                                                                 case: str):
    assert server.client is not None
    good = server.headers()
    token = good["Authorization"].split()[1]
    headers = {
        "none": {},
        "not bearer": {"Authorization": f"Basic {token}", "x-api-key": good["x-api-key"]},
        "garbage": {"Authorization": "Bearer abc.def.ghi", "x-api-key": good["x-api-key"]},
        "forged": {"Authorization": f"Bearer {token[:-4]}AAAA", "x-api-key": good["x-api-key"]},
        "expired": {"Authorization": f"Bearer {_expired_token(server)}",
                    "x-api-key": good["x-api-key"]},
        "no api key": {"Authorization": good["Authorization"]},
        "other api key": {"Authorization": good["Authorization"], "x-api-key": "someone-else"},
    }[case]
    for method, path in (("POST", "/sensei/cutout"), ("POST", "/v2/remove-background"),
                         ("GET", "/sensei/status/x"), ("GET", "/v2/status/x")):
        answer = httpx.request(method, f"{server.url}{path}", json=V2_BODY, headers=headers)
        assert answer.status_code == 401, (case, path, answer.text)
        body = answer.json()
        assert set(body) == {"error_code", "message"}
        assert body["error_code"] in ("401013", "403000", "403003")
    if case == "expired":
        assert "expired" in body["message"]


def test_a_removed_client_is_shut_out(server: LampyrisServer):
    from lampyris.api.clients import ClientRegistry

    who = server.add_client("temporary")
    headers = server.headers(who)
    assert server.post("/v2/remove-background", V2_BODY, who).status_code == 202
    engine = make_engine(sqlite_url(server.data_dir))
    ClientRegistry(engine).remove(who.client_id)
    engine.dispose()
    deadline = time.monotonic() + 15  # the server caches known clients for ~10 s
    while time.monotonic() < deadline:
        answer = httpx.get(f"{server.url}/v2/status/x", headers=headers)
        if answer.status_code == 401:
            break
        time.sleep(0.5)
    assert answer.status_code == 401 and "removed" in answer.json()["message"]
    assert _token_request(server, who).status_code == 401


@pytest.fixture(scope="module")
def limited_server() -> Iterator[LampyrisServer]:
    with running_server("lampyris-limited-", workers=1, env={
        "LAMPYRIS_RATE_LIMIT_PER_MINUTE": "30", "LAMPYRIS_RATE_LIMIT_BURST": "5",
        "LAMPYRIS_PUBLIC_URL": "https://images.example.test/",
    }) as live:
        yield live


def test_rate_limit_is_per_client_with_retry_after(limited_server: LampyrisServer):
    heavy, light = limited_server.add_client("heavy"), limited_server.add_client("light")
    headers = limited_server.headers(heavy)
    codes = [httpx.get(f"{limited_server.url}/v2/status/x", headers=headers).status_code
             for _ in range(8)]
    assert codes[:5] == [404] * 5 and codes[5:] == [429] * 3
    answer = httpx.post(f"{limited_server.url}/sensei/cutout", json={}, headers=headers)
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.json()["type"] and answer.json()["title"]  # Photoshop v1 shape on /sensei
    v2 = httpx.get(f"{limited_server.url}/v2/status/x", headers=headers)
    assert v2.json() == {"error_code": "rate_limited", "message": "Too many requests."}
    other = httpx.get(f"{limited_server.url}/v2/status/x",
                      headers=limited_server.headers(light))
    assert other.status_code == 404  # another client's budget is untouched


def test_health_metrics_docs_and_double_slash(server: LampyrisServer):
    assert httpx.get(f"{server.url}/health").json()["workers"] == 2
    assert httpx.get(f"{server.url}/docs").status_code == 200
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert {"/sensei/cutout", "/v2/remove-background", "/ims/token/v3"} <= set(spec["paths"])
    metrics = httpx.get(f"{server.url}/metrics")
    assert metrics.status_code == 200
    for name in ("lampyris_jobs{", "lampyris_queue_depth", "lampyris_job_duration_seconds",
                 "lampyris_storage_errors_total", "lampyris_jobs_submitted_total"):
        assert name in metrics.text, name
    answer = httpx.get(f"{server.url}//v2/status/x", headers=server.headers())
    assert answer.status_code == 404 and answer.json()["error_code"] == "unknown_job_id"


def test_links_use_the_public_url(limited_server: LampyrisServer):
    who = limited_server.add_client("linked")
    answer = limited_server.post("/v2/remove-background", V2_BODY, who)
    assert answer.status_code == 202
    job_id = answer.json()["jobId"]
    assert answer.json()["statusUrl"] == f"https://images.example.test/v2/status/{job_id}"
