"""Tokens and the gateway over the wire, against a live server: a token asked for as Adobe's
JS SDK asks (query string, unencoded commas), 401s in the gateway's shape through uvicorn, a
client removed by another process (the CLI's), health with the real worker processes.

The route logic (every OAuth error, every way a token or api key is wrong on every family's
routes, rate limits, public URLs in links) is tested in process, faster:
tests/unit/api/test_routes_auth_inprocess.py."""

from __future__ import annotations

import time

import httpx
import pytest

from lampyris.jobs.database import make_engine, sqlite_url
from support.lampyris_server import Credentials, LampyrisServer

V2_BODY = {"image": {"source": {"url": "https://example.com/a.jpg"}}}


def _token_request(live: LampyrisServer, who: Credentials, **extra: str) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": who.client_id,
            "client_secret": who.client_secret, "scope": "openid,AdobeID", **extra}
    return httpx.post(f"{live.url}/ims/token/v3", data=form)


def test_token_parameters_in_the_query_string_and_unencoded_commas(server: LampyrisServer):
    who = server.client
    assert who is not None
    query = (f"grant_type=client_credentials&client_id={who.client_id}"
             f"&client_secret={who.client_secret}&scope=openid,AdobeID,firefly_api,ff_apis")
    assert httpx.post(f"{server.url}/ims/token/v3?{query}").status_code == 200
    raw = httpx.post(f"{server.url}/ims/token/v3", content=query.encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert raw.status_code == 200 and raw.json()["access_token"]


@pytest.mark.parametrize(("case", "status", "code"), [("none", 403, "403000"),
                                                      ("forged", 401, "401013")])
def test_service_routes_need_a_valid_token_and_matching_api_key(server: LampyrisServer,
                                                                 case: str, status: int,
                                                                 code: str):
    assert server.client is not None
    good = server.headers()
    token = good["Authorization"].split()[1]
    headers = {
        "none": {},
        "forged": {"Authorization": f"Bearer {token[:-4]}AAAA", "x-api-key": good["x-api-key"]},
    }[case]
    for method, path in (("POST", "/sensei/cutout"), ("POST", "/v2/remove-background"),
                         ("GET", "/sensei/status/x"), ("GET", "/v2/status/x")):
        answer = httpx.request(method, f"{server.url}{path}", json=V2_BODY, headers=headers)
        assert answer.status_code == status, (case, path, answer.text)
        body = answer.json()
        assert set(body) == {"error_code", "message"}
        assert body["error_code"] == code  # no key: Adobe's gateway's 403000 before the token


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
