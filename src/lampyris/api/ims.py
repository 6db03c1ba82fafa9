"""``POST /ims/token/v3``: client-credentials tokens, as Adobe IMS issues them.

Parameters may come in the form body or the query string (IMS accepts both), and Adobe's JS
SDK sends the body unencoded (raw commas in ``scope``): parse it leniently.

The route needs no token, so it is where anyone can make the server work: a secret is checked
with scrypt. A secret verified lately is recognised without hashing; anything else first takes
a token from the per-client-id and per-address buckets (``TokenThrottle``: a 429 in IMS's
shape with ``Retry-After`` when either is empty), then is checked on the registry's single
hashing thread. Measured with 100 wrong secrets for one client sent 24 at a time (2 cores,
load average 5–12 from other work; tests/integration/server/test_hostile_auth.py): /health's
median went from 184–270 ms to 3–16 ms and its max from 631–1303 ms to 50–70 ms (130–210 ms
at worst, in the burst's first 200 ms); 10 of the 100 were hashed, 90 answered 429, and
other clients, and this one with its right secret, got their tokens at once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from lampyris.api.errors import ApiError
from lampyris.api.ratelimit import RateLimiter
from lampyris.api.services import Services, services

router = APIRouter(tags=["IMS"])


def _refuse_if_limited(svc: Services, wait: float) -> None:
    if wait:
        svc.metrics.rate_limited.inc()
        raise ApiError(429, "rate_limited",
                       "too many failed token requests: retry after the Retry-After seconds",
                       headers={"Retry-After": RateLimiter.retry_after(wait)})


async def _authenticate(request: Request, svc: Services, client_id: str, secret: str) -> None:
    """Return when the pair is right; otherwise raise the 401 (or the 429 before any work)."""
    clients = svc.clients
    throttle = svc.token_throttle
    address = request.client.host if request.client else "unknown"
    if not clients.remembered(client_id, secret):
        # Most of a burst ends here, before a database query or a thread hop.
        _refuse_if_limited(svc, throttle.blocked(client_id, address))
    stored = await run_in_threadpool(clients.stored_hash, client_id)
    if stored is not None and clients.remembered(client_id, secret, stored):
        return
    known = None if stored is None else client_id
    _refuse_if_limited(svc, throttle.take(known, address))
    if clients.refused_lately(client_id, secret) or not await clients.check(
        client_id, secret, stored
    ):
        raise ApiError(401, "invalid_client", "invalid client_id or client_secret")
    throttle.succeeded(known, address)


async def _parameters(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    body = (await request.body()).decode("utf-8", "replace")
    if body and "json" in request.headers.get("content-type", ""):
        raise ApiError(400, "invalid_request",
                       "send the parameters as application/x-www-form-urlencoded")
    params.update(parse_qsl(body, keep_blank_values=True))
    return params


@router.post(
    "/ims/token/v3",
    summary="Issue an access token (client credentials)",
    response_description="`{access_token, token_type, expires_in}`",
)
async def token(request: Request, svc: Services = Depends(services)) -> dict[str, Any]:
    params = await _parameters(request)
    grant = params.get("grant_type", "")
    if not grant:
        raise ApiError(400, "invalid_request", "missing grant_type")
    if grant != "client_credentials":
        raise ApiError(400, "unsupported_grant_type",
                       f"grant_type {grant!r} is not supported: use client_credentials")
    client_id, secret = params.get("client_id", ""), params.get("client_secret", "")
    if not client_id or not secret:
        raise ApiError(400, "invalid_request", "missing client_id or client_secret")
    await _authenticate(request, svc, client_id, secret)
    scope = params.get("scope", "")
    return {
        "access_token": svc.signer.issue(client_id, scope),
        "token_type": "bearer",
        "expires_in": svc.config.server.token_ttl,
    }
