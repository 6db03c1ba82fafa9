"""``POST /ims/token/v3``: client-credentials tokens, as Adobe IMS issues them.

Parameters may come in the form body or the query string (IMS accepts both), and Adobe's JS
SDK sends the body unencoded (raw commas in ``scope``): parse it leniently.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from lampyris.api.errors import ApiError
from lampyris.api.services import Services, services

router = APIRouter(tags=["IMS"])


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
    if not await run_in_threadpool(svc.clients.authenticate, client_id, secret):
        raise ApiError(401, "invalid_client", "invalid client_id or client_secret")
    scope = params.get("scope", "")
    return {
        "access_token": svc.signer.issue(client_id, scope),
        "token_type": "bearer",
        "expires_in": svc.config.server.token_ttl,
    }
