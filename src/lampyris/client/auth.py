"""Access tokens from IMS (Adobe's, or a lampyris server's ``/ims/token/v3``), cached.

Adobe throttles integrations that mint a token per call, so one token is kept until shortly
before ``expires_in`` runs out, and shared by every thread of the client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol

import httpx

from lampyris.client.errors import (
    AuthenticationError,
    RateLimitedError,
    ServerError,
    ServiceConnectionError,
    error_from_response,
    response_body,
)

DEFAULT_IMS_URL = "https://ims-na1.adobelogin.com"
#: The scopes Adobe documents for the Photoshop and Lightroom APIs.
DEFAULT_SCOPES = "openid,AdobeID,read_organizations"
#: Assumed lifetime when IMS names none; a 401 refreshes the token earlier anyway.
FALLBACK_LIFETIME = 3600.0


class TokenSource(Protocol):
    """What a service client needs from auth: a token, and a way to drop one that failed."""

    def get_token(self) -> str: ...

    def invalidate(self, token: str | None = None) -> None: ...


class StaticToken:
    """A token obtained elsewhere (a CI secret, another tool); never refreshed."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self) -> str:
        return self.token

    def invalidate(self, token: str | None = None) -> None:
        """Nothing to refresh: the retry after a 401 resends the same token."""


class TokenProvider:
    """Server-to-server (client-credentials) tokens, refreshed before they expire.

    The token is refreshed ``min(max_margin, margin_fraction × lifetime)`` seconds before its
    ``expires_in`` ends, so a request never leaves with a token about to lapse. Thread-safe.

    Usage:
        with TokenProvider("my-client-id", "my-secret") as tokens:
            headers = {"Authorization": f"Bearer {tokens.get_token()}"}
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        scopes: str | Sequence[str] = DEFAULT_SCOPES,
        ims_url: str = DEFAULT_IMS_URL,
        *,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_margin: float = 300.0,
        margin_fraction: float = 0.1,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes = scopes if isinstance(scopes, str) else ",".join(scopes)
        self.token_url = f"{ims_url.rstrip('/')}/ims/token/v3"
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=timeout, transport=transport)
        self._clock = clock
        self._max_margin = max_margin
        self._margin_fraction = margin_fraction
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def get_token(self) -> str:
        """The cached token, fetching a new one when there is none or it is near expiry."""
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._token, lifetime = self._fetch()
                margin = min(self._max_margin, self._margin_fraction * lifetime)
                self._refresh_at = self._clock() + lifetime - margin
            return self._token

    def invalidate(self, token: str | None = None) -> None:
        """Drop the cached token (only if it is still ``token``, when one is given).

        The check keeps a thread whose request failed from discarding the fresh token
        another thread has just fetched.
        """
        with self._lock:
            if token is None or token == self._token:
                self._token = None

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "scope": self.scopes,
        }
        try:
            response = self._http.post(
                self.token_url, data=form, headers={"Accept": "application/json"}
            )
        except httpx.TransportError as exc:
            raise ServiceConnectionError(None, "connection_error", f"IMS: {exc}") from exc
        body = response_body(response)
        if not response.is_success or not isinstance(body, dict) or "error" in body:
            error = error_from_response(response)
            if isinstance(error, RateLimitedError | ServerError):
                raise error
            raise AuthenticationError(
                response.status_code,
                error.code,
                error.message,
                error.body,
                details=error.details,
                headers=response.headers,
            )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthenticationError(
                response.status_code,
                "invalid_response",
                "IMS answered without an access_token",
                body,
            )
        try:
            lifetime = float(body.get("expires_in", FALLBACK_LIFETIME))
        except (TypeError, ValueError):
            lifetime = FALLBACK_LIFETIME
        return token, max(0.0, lifetime)

    def close(self) -> None:
        """Close the HTTP client, if this provider made it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> TokenProvider:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
