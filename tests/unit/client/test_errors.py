"""Every error shape the contract lists becomes the right exception with its code/message.

These unit tests build responses by hand (and, for the end-to-end path, script the server
with ``httpx.MockTransport``) so each documented body is checked exactly; the live-server
tests are separate.
"""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

import httpx
import pytest

from lampyris.client import (
    AuthenticationError,
    ForbiddenError,
    NotFoundError,
    PhotoshopClient,
    RateLimitedError,
    RequestRejectedError,
    ServerError,
    ServiceError,
)
from lampyris.client.errors import (
    ApiKeyError,
    error_from_response,
    parse_error_body,
    parse_retry_after,
)

from .scripted import ScriptedServer

PS_V1_400 = {
    "type": "InputValidationError",
    "code": 400,
    "title": "request parameters didn't validate",
    "details": [{"allowedValues": "adobe, external, dropbox, azure", "reason": "bad storage"}],
}
PS_V1_403 = {
    "type": "AuthForbidden",
    "code": "403",
    "title": "Not entitled",
    "error_code": "403001",
    "details": [{"name": "x-api-key", "reason": "unknown key"}],
}
FIREFLY_422 = {
    "error_code": "validation_error",
    "validation_errors": [{"loc": ["body", "contentClass"], "msg": "bad", "type": "enum"}],
}


@pytest.mark.parametrize(
    ("status", "body", "cls", "code", "message"),
    [
        (400, PS_V1_400, RequestRejectedError, "400", "request parameters didn't validate"),
        (403, PS_V1_403, ForbiddenError, "403001", "Not entitled"),
        (
            401,
            {"error_code": "401013", "message": "Oauth token is not valid"},
            AuthenticationError,
            "401013",
            "Oauth token is not valid",
        ),
        (
            403,
            {"error_code": "403003", "message": "Api Key is invalid"},
            ApiKeyError,  # a ForbiddenError that names the key sent
            "403003",
            "Api Key is invalid",
        ),
        (
            404,
            {"error_code": "unknown_job_id", "message": "The job id is unknown."},
            NotFoundError,
            "unknown_job_id",
            "The job id is unknown.",
        ),
        (422, FIREFLY_422, RequestRejectedError, "validation_error", "Unprocessable Entity"),
        (
            429,
            {"error_code": "rate_limited", "message": "Too many requests."},
            RateLimitedError,
            "rate_limited",
            "Too many requests.",
        ),
        (
            500,
            {"error_code": "runtime_error", "message": "Internal Server Error."},
            ServerError,
            "runtime_error",
            "Internal Server Error.",
        ),
        (
            400,
            {"error": "invalid_request", "error_description": "missing grant_type"},
            RequestRejectedError,
            "invalid_request",
            "missing grant_type",
        ),
        (
            402,
            {
                "type": "TrialLimitExceededError",
                "code": "402",
                "title": "Trial over",
                "details": "You have exceeded the limit for the free trial",
            },
            ServiceError,
            "402",
            "Trial over",
        ),
        (502, "<html>Bad Gateway</html>", ServerError, None, "<html>Bad Gateway</html>"),
    ],
)
def test_error_shapes_map_to_classes(
    status: int, body: Any, cls: type[ServiceError], code: str | None, message: str
) -> None:
    if isinstance(body, str):
        response = httpx.Response(status, text=body)
    else:
        response = httpx.Response(status, json=body)
    error = error_from_response(response)
    assert type(error) is cls
    assert (error.status, error.code, error.message, error.body) == (status, code, message, body)


def test_details_are_kept() -> None:
    assert parse_error_body(PS_V1_403)[2] == PS_V1_403["details"]
    assert parse_error_body(FIREFLY_422)[2] == FIREFLY_422["validation_errors"]
    v2 = {"errorDetails": [{"errorCode": "400401", "message": "The value provided is not valid."}]}
    assert parse_error_body(v2) == (None, None, v2["errorDetails"])


def test_empty_body_falls_back_to_the_reason_phrase() -> None:
    error = error_from_response(httpx.Response(503))
    assert (type(error), error.code, error.message) == (ServerError, None, "Service Unavailable")


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("0.5", 0.5), (" 12 ", 12.0), ("-3", 0.0), (None, None), ("soon", None)],
)
def test_retry_after_in_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_as_an_http_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_rate_limited_error_reads_retry_after() -> None:
    response = httpx.Response(
        429, json={"error_code": "rate_limited"}, headers={"Retry-After": "9"}
    )
    error = error_from_response(response)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 9.0
    assert error.headers["retry-after"] == "9"


def test_a_route_error_reaches_the_caller_typed(
    server: ScriptedServer, client: PhotoshopClient
) -> None:
    server.add("GET", "/v2/status/nope", (404, {"error_code": "unknown_job_id", "message": "?"}))
    with pytest.raises(NotFoundError) as caught:
        client.status("nope")
    assert caught.value.code == "unknown_job_id"


def test_the_sdks_errors_are_lampyris_errors() -> None:
    import lampyris.client
    from lampyris.client import ClientError, ServiceConnectionError, ServiceError
    from lampyris.errors import LampyrisError

    error = error_from_response(httpx.Response(404, json={"error_code": "unknown_job_id"}))
    assert type(error) is NotFoundError
    assert all(isinstance(error, c) for c in (ServiceError, ClientError, LampyrisError))
    assert (error.status, error.code) == (404, "unknown_job_id")  # the service's answer
    assert (NotFoundError.status, NotFoundError.code) == (404, "service_not_found")  # the class's
    assert ServiceConnectionError(None, "connection_error", "refused").status is None
    assert not hasattr(lampyris.client, "ApiError")
    assert not hasattr(lampyris.client, "ValidationError")
