"""Tokens and the gateway on the in-process server: IMS client credentials and their OAuth
errors, 401s in the gateway's shape on every family's routes, a removed client, per-client
rate limits, public URLs in links, health, metrics and docs.

Over a real process: tests/integration/server/test_auth.py (a token and a refused one over
the wire, a client removed by another process), test_hostile_auth.py (a burst of wrong
secrets against a live server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from lampyris.api.tokens import TokenSigner, server_secret
from support.inprocess import InProcessServer, inprocess_server
from support.lampyris_server import Credentials

V2_BODY = {"image": {"source": {"url": "https://example.com/a.jpg"}}}
# One service route of each family: POST with a body, or GET a status.
ROUTES = [("POST", "/sensei/cutout"), ("POST", "/v2/remove-background"),
          ("POST", "/v2/edit"), ("GET", "/sensei/status/x"), ("GET", "/v2/status/x"),
          ("POST", "/lrService/autoTone"), ("GET", "/lrService/status/x"),
          ("POST", "/v3/images/fill-async"), ("GET", "/v3/status/x"), ("PUT", "/v3/cancel/x"),
          ("POST", "/v2/storage/image")]


def _token_request(inproc: InProcessServer, who: Credentials, **extra: str) -> httpx2.Response:
    form = {"grant_type": "client_credentials", "client_id": who.client_id,
            "client_secret": who.client_secret, "scope": "openid,AdobeID", **extra}
    return inproc.http.post("/ims/token/v3", data=form)


def test_token_has_the_ims_shape(inproc: InProcessServer):
    answer = _token_request(inproc, inproc.client)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 86399
    assert body["access_token"].count(".") == 2


def test_token_parameters_in_the_query_string_and_unencoded_commas(inproc: InProcessServer):
    who = inproc.client
    query = (f"grant_type=client_credentials&client_id={who.client_id}"
             f"&client_secret={who.client_secret}&scope=openid,AdobeID,firefly_api,ff_apis")
    assert inproc.http.post(f"/ims/token/v3?{query}").status_code == 200
    raw = inproc.http.post("/ims/token/v3", content=query.encode(),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert raw.status_code == 200 and raw.json()["access_token"]
    as_json = inproc.http.post("/ims/token/v3", json={"client_id": who.client_id},
                               headers={"Content-Type": "application/json"})
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"


@pytest.mark.parametrize(("change", "status", "error"), [
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "nobody"}, 401, "invalid_client"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"grant_type": ""}, 400, "invalid_request"),
    ({"client_secret": ""}, 400, "invalid_request"),
])
def test_bad_token_requests_get_oauth_errors(inproc: InProcessServer, change: dict[str, str],
                                             status: int, error: str):
    answer = _token_request(inproc, inproc.client, **change)
    assert answer.status_code == status
    assert set(answer.json()) == {"error", "error_description"}
    assert answer.json()["error"] == error and answer.json()["error_description"]


def _expired_token(inproc: InProcessServer) -> str:
    signer = TokenSigner(server_secret(inproc.svc.store.engine, "tokens"), ttl=-10)
    return signer.issue(inproc.client.client_id, "openid")


@pytest.mark.parametrize(("case", "status", "code"), [
    ("none", 403, "403000"), ("no token", 401, "401013"), ("not bearer", 401, "401013"),
    ("garbage", 401, "401013"), ("forged", 401, "401013"), ("expired", 401, "401013"),
    ("other server's", 401, "401013"), ("no api key", 403, "403000"),
    ("other api key", 403, "403003"),
])
def test_service_routes_need_a_valid_token_and_matching_api_key(inproc: InProcessServer,
                                                                 case: str, status: int,
                                                                 code: str):
    """The gateway's answers on every family's routes: 403 for the key (403000 missing, as
    Adobe's gateway answers a request with neither header; 403003 another client's), 401 only
    for the token, so a client that refreshes its token on 401 never retries a wrong key."""
    good = inproc.headers()
    token = good["Authorization"].split()[1]
    key = good["x-api-key"]
    foreign = TokenSigner(b"another server's secret" * 2, 3600).issue(key, "openid")
    headers = {
        "none": {},
        "no token": {"x-api-key": key},
        "not bearer": {"Authorization": f"Basic {token}", "x-api-key": key},
        "garbage": {"Authorization": "Bearer abc.def.ghi", "x-api-key": key},
        "forged": {"Authorization": f"Bearer {token[:-4]}AAAA", "x-api-key": key},
        "expired": {"Authorization": f"Bearer {_expired_token(inproc)}", "x-api-key": key},
        "other server's": {"Authorization": f"Bearer {foreign}", "x-api-key": key},
        "no api key": {"Authorization": good["Authorization"]},
        "other api key": {"Authorization": good["Authorization"], "x-api-key": "someone-else"},
    }[case]
    for method, path in ROUTES:
        answer = inproc.http.request(method, path, json=V2_BODY, headers=headers)
        assert answer.status_code == status, (case, path, answer.text)
        if status == 401:
            assert answer.headers["www-authenticate"] == 'Bearer realm="lampyris"'
        else:
            assert "www-authenticate" not in answer.headers
        body = answer.json()
        assert set(body) == {"error_code", "message"}, (path, body)  # the gateway's shape
        assert body["error_code"] == code, (path, body)
    if case == "expired":
        assert "expired" in body["message"]
    expected = {"403000": "Api Key is required", "403003": "Api Key is invalid",
                "401013": "Oauth token is not valid"}[code]
    assert body["message"].startswith(f"{expected}: "), body  # Adobe's words, then what to do


def test_a_removed_client_is_shut_out_at_once(inproc: InProcessServer):
    who = inproc.add_client("temporary")
    headers = inproc.headers(who)
    assert inproc.post("/v2/remove-background", V2_BODY, who).status_code == 202
    assert inproc.svc.clients.remove(who.client_id)
    answer = inproc.http.get("/v2/status/x", headers=headers)
    assert answer.status_code == 401 and "removed" in answer.json()["message"]
    assert _token_request(inproc, who).status_code == 401


def test_health_metrics_docs_and_double_slash(inproc: InProcessServer):
    health = inproc.http.get("/health").json()
    assert health["status"] == "ok" and health["workers"] == 1  # inline: one thread
    assert (health["executor"], health["ready"]) == ("inline", 1)
    assert set(health) == {"status", "version", "workers", "executor", "ready", "busy",
                           "pending", "running", "engine"}
    engine = health["engine"]  # the default model's engine here, as `models list` says
    assert engine["model"] == "u2netp" and engine["reason"]
    assert (engine["runtime"], engine["precision"]) in {
        ("onnxruntime", "fp32"), ("openvino", "fp32"), ("openvino", "bf16")}
    assert inproc.http.get("/docs").status_code == 200
    spec = inproc.http.get("/openapi.json").json()
    assert {"/sensei/cutout", "/v2/remove-background", "/ims/token/v3", "/lrService/autoTone",
            "/v3/images/fill-async", "/v2/storage/image", "/files/{key}"} <= set(spec["paths"])
    metrics = inproc.http.get("/metrics")
    assert metrics.status_code == 200
    for name in ("lampyris_jobs{", "lampyris_queue_depth", "lampyris_job_duration_seconds",
                 "lampyris_storage_errors_total", "lampyris_jobs_submitted_total"):
        assert name in metrics.text, name
    answer = inproc.http.get(f"{inproc.url}//lrService/status/x", headers=inproc.headers())
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    unknown = inproc.http.get("/no/such/route")
    assert unknown.status_code == 404 and unknown.json() == {
        "error_code": "not_found",
        "message": "lampyris has no route GET /no/such/route: check the base URL and the path"}


# --- rate limits and public links: a server of their own, routes only (no jobs run) ---------


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    data: Path = tmp_path_factory.mktemp("limited")
    with inprocess_server(data, jobs=False, rate_limit_per_minute=30, rate_limit_burst=5,
                          public_url="https://images.example.test/") as live:
        yield live


def test_rate_limit_is_per_client_with_retry_after(limited: InProcessServer):
    heavy, light = limited.add_client("heavy"), limited.add_client("light")
    headers = limited.headers(heavy)
    codes = [limited.http.get("/v2/status/x", headers=headers).status_code for _ in range(8)]
    assert codes[:5] == [404] * 5 and codes[5:] == [429] * 3
    answer = limited.http.post("/sensei/cutout", json={}, headers=headers)
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.headers["x-access-rate-limit-level"] == "account"
    assert answer.json()["type"] and answer.json()["title"]  # Photoshop v1 shape on /sensei
    v2 = limited.http.get("/v2/status/x", headers=headers)
    assert v2.json() == {"error_code": "rate_limited", "message": "Too many requests."}
    lr = limited.http.get("/lrService/status/x", headers=headers)
    assert lr.status_code == 429 and lr.json()["type"] == "error"
    other = limited.http.get("/v2/status/x", headers=limited.headers(light))
    assert other.status_code == 404  # another client's budget is untouched


def test_links_use_the_public_url(limited: InProcessServer):
    who = limited.add_client("linked")
    v2 = limited.post("/v2/remove-background", V2_BODY, who)
    assert v2.status_code == 202
    assert v2.json()["statusUrl"] == f"https://images.example.test/v2/status/{v2.json()['jobId']}"
    v1 = limited.post("/sensei/cutout", {
        "input": {"href": "https://example.com/a.jpg", "storage": "external"},
        "output": {"href": "https://example.com/a.png", "storage": "external"}}, who)
    assert v1.json()["_links"]["self"]["href"].startswith(
        "https://images.example.test/sensei/status/")
    ff = limited.post("/v3/images/expand-async", {**V2_BODY, "size": {"width": 900,
                                                                      "height": 900}}, who)
    assert ff.status_code == 202, ff.text
    assert ff.json()["cancelUrl"].startswith("https://images.example.test/v3/cancel/urn:ff:")
    assert limited.svc.store.counts(), "the jobs are queued (no executor runs here)"
