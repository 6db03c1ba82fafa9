"""The gateway and error wire on the in-process server (routes only, no jobs run): every one of
Adobe's 58 image operations is served or answers 501 ``not_implemented`` in its family's shape
(after the gateway's key and token checks), unknown paths stay 404, Firefly's
``validation_errors`` speak pydantic v1 with ``loc`` from ``"body"``, Photoshop v2's
``errors[]`` only for several problems, and ``lampyris.client`` does not refresh its token on
the gateway's 403 but names the key. Bodies are checked against Adobe's schemas.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.routing import Match

from lampyris.api.adobe_paths import ADOBE_OPERATIONS, AdobeOperation, adobe_operation
from lampyris.api.errors import family_of
from lampyris.client import AuthenticationError, ForbiddenError, PhotoshopClient
from lampyris.client.errors import ApiKeyError
from support.adobe_schemas import schema_validator
from support.inprocess import InProcessServer, inprocess_server

PS_V1_SPEC = "ffs-photoshop-API-photoshop_api@48b9683-with-sensei-and-v2-removebg.json"
PS_V2_SPEC = "ffs-photoshop-API-photoshopv2-api.json"
FIREFLY_SPEC = "ffs-firefly-api-firefly-api.json"
FIREFLY_SDK_SPEC = "sdkjs-FFApiOpenApi3.json"


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    with inprocess_server(tmp_path_factory.mktemp("gateway"), jobs=False) as live:
        yield live


def _concrete(op: AdobeOperation) -> str:
    return op.path.replace("{jobId}", "urn:ff:jobs:x")


def _served(live: InProcessServer, method: str, path: str) -> bool:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    return any(route.matches(scope)[0] == Match.FULL for route in live.app.routes)


def test_the_table_holds_adobes_58_operations():
    assert len(ADOBE_OPERATIONS) == 58
    assert len({op.label for op in ADOBE_OPERATIONS}) == 58
    assert adobe_operation("GET", "/v3/status/urn:ff:jobs:1") is not None
    assert adobe_operation("get", "/lrService/status/abc") is not None
    assert adobe_operation("HEAD", "/lrService/status/abc") is None, "Adobe documents no HEAD"
    assert adobe_operation("POST", "/v3/status/abc") is None
    assert adobe_operation("GET", "/v3/status/") is None, "a parameter is one non-empty segment"
    assert adobe_operation("POST", "/pie/psdService/text/more") is None


@pytest.mark.parametrize("op", ADOBE_OPERATIONS, ids=lambda op: op.label)
def test_every_adobe_operation_is_served_or_not_implemented(routes: InProcessServer,
                                                            op: AdobeOperation):
    """A route another part of lampyris adds answers instead of the 501, with no change here."""
    path = _concrete(op)
    answer = routes.http.request(op.method, path, json={}, headers=routes.headers())
    if _served(routes, op.method, path):  # its route answers (a 501 of its own may name a
        assert answer.status_code != 405, answer.text  # setting, a status an unknown job)
        assert "lampyris does not implement" not in answer.text, answer.text
        assert "has no route" not in answer.text, answer.text
        return
    assert answer.status_code == 501, (op.label, answer.text)
    message = f"lampyris does not implement {op.method} {path} (see docs/compatibility.md)"
    body = answer.json()
    family = family_of(path)
    if family == "photoshop_v1":
        assert body == {"type": "JobError", "code": "501", "title": message,
                        "error_code": "not_implemented", "details": []}
        schema_validator(PS_V1_SPEC)("JobError", body)
    elif family == "lightroom":
        assert body["code"] == "not_implemented" and body["title"] == message
    else:
        assert body == {"error_code": "not_implemented", "message": message}
        if family == "firefly":  # the Firefly SDK spec's ApiError, whose enum has it
            schema_validator(FIREFLY_SDK_SPEC)("ApiError", body)
        else:
            schema_validator(PS_V2_SPEC)("ErrorResponse", body)


@pytest.mark.parametrize("path", ["/v3/images/upscale", "/pie/psdService/text",
                                  "/v2/create-composite"])
def test_an_unserved_operation_checks_the_key_and_token_first(routes: InProcessServer,
                                                              path: str):
    good = routes.headers()
    other = routes.headers(routes.add_client("other"))
    cases = [({}, 403, "403000"), ({"x-api-key": good["x-api-key"]}, 401, "401013"),
             ({"x-api-key": good["x-api-key"], "Authorization": "Bearer forged.token.here"},
              401, "401013"),
             ({"x-api-key": good["x-api-key"], "Authorization": other["Authorization"]},
              403, "403003")]
    for headers, status, code in cases:
        answer = routes.http.post(path, json={}, headers=headers)
        assert answer.status_code == status, (headers, answer.text)
        assert set(answer.json()) == {"error_code", "message"}  # the gateway's shape
        assert answer.json()["error_code"] == code
    assert routes.http.post(path, json={}, headers=good).status_code == 501


def test_unknown_paths_and_methods_stay_404_and_405(routes: InProcessServer):
    unknown = routes.http.post("/v3/images/teleport", json={}, headers=routes.headers())
    assert (unknown.status_code, unknown.json()) == (404, {
        "error_code": "not_found",
        "message": "lampyris has no route POST /v3/images/teleport: check the base URL and "
                   "the path"})
    anonymous = routes.http.get("/pie/psdService/nothing")
    assert anonymous.status_code == 404, "not Adobe's: no key needed to learn that"
    assert anonymous.json()["type"] == "ResourceNotFound"  # Photoshop v1's shape on pie
    wrong = routes.http.get("/v2/edit", headers=routes.headers())
    assert wrong.status_code == 405
    assert wrong.json() == {"error_code": "unsupported_method",
                            "message": "GET is not allowed on /v2/edit: use POST"}


def test_firefly_validation_errors_speak_pydantic_v1(routes: InProcessServer):
    answer = routes.post("/v3/images/generate-object-composite-async", {
        "image": {"source": {"url": "https://example.com/a.png"}},
        "contentClass": "painting", "numVariations": 9, "seeds": ["one"]})
    assert answer.status_code == 422
    body = answer.json()
    schema_validator(FIREFLY_SPEC)("ValidationErrorResponse", body)
    by_loc = {tuple(e["loc"]): e for e in body["validation_errors"]}
    assert by_loc[("body", "prompt")]["type"] == "value_error.missing"
    assert by_loc[("body", "contentClass")]["type"] == "type_error.enum"
    assert by_loc[("body", "contentClass")]["ctx"] == {"enum_values": ["photo", "art"]}
    assert by_loc[("body", "numVariations")]["type"] == "value_error.number.not_le"
    assert by_loc[("body", "numVariations")]["ctx"] == {"limit_value": 4}
    assert by_loc[("body", "seeds", 0)]["type"] == "type_error.integer"
    assert all(e["loc"][0] == "body" for e in body["validation_errors"])


def test_a_firefly_route_refusing_a_field_names_it_from_body(routes: InProcessServer):
    unknown = "00000000-0000-4000-8000-000000000000"
    answer = routes.post("/v3/images/expand-async", {"image": {"source": {"uploadId": unknown}},
                                                     "size": {"width": 900, "height": 900}})
    assert answer.status_code in (400, 422)
    (error,) = answer.json()["validation_errors"]
    assert error["loc"] == ["body", "image", "source", "uploadId"]
    assert error["type"] == "value_error" and unknown in error["msg"]


def test_photoshop_v2_lists_errors_only_for_several(routes: InProcessServer):
    validate = schema_validator(PS_V2_SPEC)
    one = routes.post("/v2/remove-background", {})
    assert one.status_code == 400
    assert set(one.json()) == {"error_code", "message"}, one.json()
    validate("ErrorResponse", one.json())
    several = routes.post("/v2/remove-background", {"mode": "sculpt", "trim": "maybe"})
    assert several.status_code == 400
    body = several.json()
    validate("ErrorResponse", body)
    assert len(body["errors"]) >= 3  # image missing, mode, trim
    assert all(e["error_code"] == "validation_error" for e in body["errors"])


# --- lampyris.client against the same app: a 403 is not a reason to get a new token --------


class Bridge(httpx.BaseTransport):
    """``httpx`` requests into the app's ``TestClient`` (an ``httpx2`` client)."""

    def __init__(self, live: InProcessServer) -> None:
        self.live = live

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.live.http.request(request.method, str(request.url),
                                        content=request.read(), headers=dict(request.headers))
        return httpx.Response(answer.status_code, headers=answer.headers.raw,
                              content=answer.content, request=request)


class CountingTokens:
    """A token source that counts how often the client asked for a new token."""

    def __init__(self, token: str) -> None:
        self.token, self.invalidated = token, 0

    def get_token(self) -> str:
        return self.token

    def invalidate(self, token: str | None = None) -> None:
        self.invalidated += 1


def _client(live: InProcessServer, api_key: str, token: str) -> tuple[PhotoshopClient,
                                                                      CountingTokens]:
    tokens = CountingTokens(token)
    client = PhotoshopClient(api_key, base_url=live.url, token_provider=tokens,
                             transport=Bridge(live))
    return client, tokens


def test_the_client_names_a_wrong_key_and_keeps_its_token(routes: InProcessServer):
    token = routes.token()
    client, tokens = _client(routes, "not-my-client-id", token)
    with pytest.raises(ApiKeyError) as caught:
        client.status("urn:ff:jobs:x")
    error: Any = caught.value
    assert isinstance(error, ForbiddenError) and error.status == 403 and error.code == "403003"
    assert error.message.startswith("Api Key is invalid") and error.api_key == "not-my-client-id"
    assert str(error).startswith("HTTP 403 403003: Api Key is invalid")
    assert "(sent x-api-key 'not-my-client-id'): use your integration's client id" in str(error)
    assert tokens.invalidated == 0, "a 403 does not refresh the token"
    client.close()


def test_the_client_refreshes_once_on_a_bad_token(routes: InProcessServer):
    client, tokens = _client(routes, routes.client.client_id, "forged.token.here")
    with pytest.raises(AuthenticationError) as caught:
        client.status("urn:ff:jobs:x")
    assert caught.value.code == "401013"
    assert tokens.invalidated == 1, "one refresh, then the 401 is raised"
    client.close()


def test_a_response_without_its_request_still_reads(routes: InProcessServer):
    from lampyris.client.errors import error_from_response

    bare = httpx.Response(403, json={"error_code": "403000", "message": "Api Key is required"})
    error = error_from_response(bare)
    assert isinstance(error, ApiKeyError) and error.api_key is None
    assert str(error) == ("HTTP 403 403000: Api Key is required: use your integration's "
                          "client id as the API key, the client id the access token was "
                          "issued to")
    keyless = httpx.Response(403, json={"error_code": "403000", "message": "Api Key is required"},
                             request=httpx.Request("GET", "https://image.adobe.io/v2/status/x"))
    assert "(sent no x-api-key)" in str(error_from_response(keyless))
    other = httpx.Response(403, json={"error_code": "403025", "message": "Profile is not valid"})
    assert type(error_from_response(other)) is ForbiddenError, "not about the key"
