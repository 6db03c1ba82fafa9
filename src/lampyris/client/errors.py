"""The SDK's exception tree, and how an error response of any Adobe flavour becomes one.

Adobe's services answer errors in four shapes (Photoshop v1 ``{type, code, title, details}``,
v2/Firefly ``{error_code, message}``, IMS ``{error, error_description}``, the gateway's
``{error_code: "401013" | "403000" | "403003", message}``); callers catch one class per HTTP
meaning instead. Only a 401 is worth a new token: the gateway's 403s about the API key
(``ApiKeyError``) name the key, since a fresh token would be refused the same way.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx

from lampyris.errors import LampyrisError

if TYPE_CHECKING:
    from lampyris.client.jobs import Job


class ClientError(LampyrisError):
    """Base of every error the SDK raises on purpose (a ``LampyrisError`` like all of
    lampyris', so one ``except LampyrisError`` covers a batch that calls a service too)."""

    status, code = 500, "client_error"


class ServiceError(ClientError):
    """A service answered with an error (or a job ended in one).

    On an instance, ``status`` is the HTTP status the service answered (``None`` when no
    response applies), ``code`` and ``message`` the service's own (``code`` ``None`` when it
    sent none), ``body`` the parsed JSON (or the text) it sent. The class attributes of the
    same names are the class's own facts, as on every ``LampyrisError`` (``ServiceError.status``
    is 502, ``NotFoundError.status`` 404).
    """

    # An instance refines the class's facts with the answer, which may have none.
    status: int | None = 502  # type: ignore[assignment]
    code: str | None = "service_error"  # type: ignore[assignment]

    def __init__(
        self,
        status: int | None,
        code: str | None,
        message: str,
        body: Any = None,
        *,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        prefix = " ".join(part for part in (f"HTTP {status}" if status else "", code or "") if part)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        self.details = details
        self.headers: Mapping[str, str] = headers or {}


class ServiceConnectionError(ServiceError):
    """The service could not be reached or the connection broke (no HTTP status)."""

    status, code = 503, "service_unreachable"


class AuthenticationError(ServiceError):
    """401 from a service, or any IMS token error: the credentials or the token are wrong."""

    status, code = 401, "service_authentication_failed"


class ForbiddenError(ServiceError):
    """403: authenticated but not allowed (entitlement, quota, invalid API key)."""

    status, code = 403, "service_forbidden"


class ApiKeyError(ForbiddenError):
    """403 ``403000``/``403003`` from Adobe's gateway: the ``x-api-key`` is missing or is not
    the client id the token was issued to. ``api_key`` is the key that was sent (``None``
    when unknown); the exception's text names it and says what to do, ``message`` stays the
    gateway's."""

    status, code = 403, "service_api_key_refused"

    def __init__(self, *args: Any, api_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api_key = api_key
        sent = "" if api_key is None else (
            f" (sent x-api-key {api_key!r})" if api_key else " (sent no x-api-key)")
        self.args = (f"{self.args[0]}{sent}: use your integration's client id as the API "
                     "key, the client id the access token was issued to",)


#: The gateway's codes for a missing and a wrong ``x-api-key``.
API_KEY_CODES = frozenset({"403000", "403003"})


class NotFoundError(ServiceError):
    """404: unknown route or unknown job id."""

    status, code = 404, "service_not_found"


class RequestRejectedError(ServiceError):
    """400/422: the service refused the request body or a parameter; retrying will not help."""

    status, code = 400, "service_rejected_request"


class RateLimitedError(ServiceError):
    """429: too many requests. ``retry_after`` is the wait the server asked for, in seconds."""

    status, code = 429, "service_rate_limited"

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class ServerError(ServiceError):
    """5xx: the service failed; the request may or may not have been carried out."""

    status, code = 500, "service_failed"


class JobFailedError(ServiceError):
    """A job ended ``failed`` (or cancelled/timed out server-side).

    ``body`` is the last status body; ``code``, ``message`` and ``details`` come from its
    error part; ``job`` is the parsed :class:`~lampyris.client.jobs.Job`.
    """

    status, code = 502, "service_job_failed"

    def __init__(self, job: Job, code: str | None, message: str, *, details: Any = None) -> None:
        super().__init__(None, code, message, job.body, details=details)
        self.job = job


class JobTimeoutError(ServiceError):
    """Waiting for a job took longer than the caller allowed; the job may still finish."""

    status, code = 504, "service_job_timeout"

    def __init__(self, job_id: str, timeout: float, last: Any = None) -> None:
        super().__init__(None, "timeout", f"job {job_id} not done after {timeout:g} s", last)
        self.job_id = job_id
        self.timeout = timeout


_BY_STATUS: dict[int, type[ServiceError]] = {
    400: RequestRejectedError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    422: RequestRejectedError,
    429: RateLimitedError,
}


def parse_error_body(body: Any) -> tuple[str | None, str | None, Any]:
    """``(code, message, details)`` from whichever error shape ``body`` has."""
    if not isinstance(body, Mapping):
        return None, body.strip()[:500] if isinstance(body, str) and body.strip() else None, None
    if isinstance(body.get("error"), Mapping):  # a nested {"error": {...}} envelope
        return parse_error_body(body["error"])
    code = _first(body, "error_code", "code", "error", "errorCode", "type")
    message = _first(body, "message", "error_description", "title", "msg")
    details = next(
        (
            body[k]
            for k in ("details", "errorDetails", "errors", "validation_errors", "detail")
            if k in body
        ),
        None,
    )
    if message is None and isinstance(details, str):
        message = details
    return code, message, details


def _first(body: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = body.get(key)
        if value is not None and not isinstance(value, Mapping | list):
            return str(value)
    return None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def response_body(response: httpx.Response) -> Any:
    """The parsed JSON body, or the text when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return response.text


def error_from_response(response: httpx.Response, *, now: float | None = None) -> ServiceError:
    """The exception for a non-2xx response (not raised, so the caller decides)."""
    body = response_body(response)
    code, message, details = parse_error_body(body)
    status = response.status_code
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ServiceError)
    text = message or response.reason_phrase or f"HTTP {status}"
    headers = response.headers  # case-insensitive, unlike a dict copy
    if cls is RateLimitedError:
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=now)
        return RateLimitedError(
            status, code, text, body, details=details, headers=headers, retry_after=retry_after
        )
    if cls is ForbiddenError and code in API_KEY_CODES:
        return ApiKeyError(status, code, text, body, details=details, headers=headers,
                           api_key=_sent_key(response))
    return cls(status, code, text, body, details=details, headers=headers)


def _sent_key(response: httpx.Response) -> str | None:
    """The ``x-api-key`` the request carried ("" for none), ``None`` if the request is
    unknown."""
    try:
        return response.request.headers.get("x-api-key", "")
    except RuntimeError:  # a response built without its request
        return None
