"""Authentication for service routes, as Adobe's gateway does it.

Every route needs ``x-api-key`` (else 403 ``403000``), ``Authorization: Bearer <token>``
(else 401 ``401013``) and the key equal to the client id the token was issued to (else 403
``403003``), in the gateway's ``{error_code, message}`` shape whatever the route's family.
Only a 401 means "get a new token": a client that refreshes on 401 does not retry a wrong key.
Then the client's rate limit applies (429 with ``Retry-After``).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request

from lampyris.api.errors import ApiError, family_of
from lampyris.api.ratelimit import RateLimiter
from lampyris.api.services import Services, services
from lampyris.api.tokens import InvalidTokenError

TOKEN_INVALID = "401013"
KEY_MISSING = "403000"
KEY_INVALID = "403003"


@dataclass(frozen=True)
class Principal:
    """Who is calling: jobs are created for, and visible only to, this client. ``base_url``
    roots the links a job's webhook event gives (the public URL, else the request's)."""

    client_id: str
    base_url: str = ""


def _token_refused(message: str) -> ApiError:
    return ApiError(401, TOKEN_INVALID, f"Oauth token is not valid: {message}", family="gateway",
                    headers={"WWW-Authenticate": 'Bearer realm="lampyris"'})


def _key_refused(code: str, message: str) -> ApiError:
    return ApiError(403, code, message, family="gateway")


def authenticate(request: Request, svc: Services) -> Principal:
    """The caller, checked in the gateway's order: the key is looked at first (Adobe's
    gateway answers 403000 to a request with neither header), then the token, then that
    both name the same client."""
    api_key = request.headers.get("x-api-key", "").strip()
    if not api_key:
        raise _key_refused(KEY_MISSING, "Api Key is required: send the header x-api-key: "
                                        "<client id>")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _token_refused("send Authorization: Bearer <access token>")
    try:
        claims = svc.signer.verify(token.strip())
    except InvalidTokenError as exc:
        raise _token_refused(exc.reason) from None
    if api_key != claims.client_id:
        raise _key_refused(KEY_INVALID, "Api Key is invalid: x-api-key must be the client id "
                                        "the access token was issued to")
    if not svc.clients.exists(claims.client_id):
        raise _token_refused("the client was removed")
    return Principal(claims.client_id, svc.base_url(request))


def principal(request: Request, svc: Services = Depends(services)) -> Principal:
    """The route dependency: ``authenticate``, then the client's rate limit."""
    caller = authenticate(request, svc)
    wait = svc.limiter.take(caller.client_id)
    if wait:
        svc.metrics.rate_limited.inc()
        v2 = family_of(request.url.path) != "photoshop_v1"
        raise ApiError(
            429, "rate_limited", "Too many requests." if v2 else "Too many requests",
            headers={"Retry-After": RateLimiter.retry_after(wait),
                     "x-access-rate-limit-level": "account"},
        )
    return caller
