"""Authentication for service routes, as Adobe's gateway does it.

Every route needs ``Authorization: Bearer <token>`` and ``x-api-key`` equal to the client id
the token was issued to; anything else is a 401 in the gateway's shape. Then the client's
rate limit applies (429 with ``Retry-After``).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request

from lampyris.api.errors import ApiError, family_of
from lampyris.api.ratelimit import RateLimiter
from lampyris.api.services import Services, services
from lampyris.api.tokens import InvalidTokenError

_TOKEN = "401013"


@dataclass(frozen=True)
class Principal:
    """Who is calling: jobs are created for, and visible only to, this client."""

    client_id: str


def _refuse(message: str, code: str = _TOKEN) -> ApiError:
    return ApiError(401, code, message, family="gateway",
                    headers={"WWW-Authenticate": 'Bearer realm="lampyris"'})


def principal(request: Request, svc: Services = Depends(services)) -> Principal:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refuse("Oauth token is not valid: send Authorization: Bearer <access token>")
    try:
        claims = svc.signer.verify(token.strip())
    except InvalidTokenError as exc:
        raise _refuse(f"Oauth token is not valid: {exc.reason}") from None
    api_key = request.headers.get("x-api-key", "")
    if not api_key:
        raise _refuse("Api Key is required: send x-api-key: <client id>", "403000")
    if api_key != claims.client_id:
        raise _refuse("Api Key is invalid: x-api-key must be the client id of the token",
                      "403003")
    if not svc.clients.exists(claims.client_id):
        raise _refuse("Oauth token is not valid: the client was removed")
    wait = svc.limiter.take(claims.client_id)
    if wait:
        svc.metrics.rate_limited.inc()
        v2 = family_of(request.url.path) != "photoshop_v1"
        raise ApiError(
            429, "rate_limited", "Too many requests." if v2 else "Too many requests",
            headers={"Retry-After": RateLimiter.retry_after(wait),
                     "x-access-rate-limit-level": "account"},
        )
    return Principal(claims.client_id)
