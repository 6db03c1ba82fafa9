"""The authenticated HTTP layer every service client shares.

It sends the two headers Adobe's gateway requires on every call (``Authorization: Bearer``
and ``x-api-key``), refreshes the token once on a 401, turns error responses into the
SDK's exceptions and applies the retry rules, so the service clients only name routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from lampyris import __version__
from lampyris.client.auth import TokenSource
from lampyris.client.errors import (
    ServiceConnectionError,
    ServiceError,
    error_from_response,
    response_body,
)
from lampyris.client.retry import (
    GATEWAY_STATUSES,
    SERVER_STATUSES,
    RetryPolicy,
    with_retries,
)

USER_AGENT = f"lampyris-client/{__version__}"


class ServiceSession:
    """Requests to one service host with one API key and one token source.

    ``send`` is a single attempt (plus the one retry a 401 earns); ``get_json`` and
    ``post_json`` add the retry policy on top.

    Usage:
        session = ServiceSession("https://image.adobe.io", "client-id", tokens, httpx.Client())
        body = session.get_json("/v2/status/urn:ff:jobs:1")
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        tokens: TokenSource,
        http: httpx.Client,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.tokens = tokens
        self.http = http
        self.retry = retry or RetryPolicy()
        self.sleep = sleep

    def url(self, path_or_url: str) -> str:
        """An absolute URL: absolute ones pass through, paths are joined to ``base_url``."""
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "x-api-key": self.api_key,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }

    def send(self, method: str, path_or_url: str, *, json: Any = None,
             content: bytes | None = None, media_type: str | None = None) -> httpx.Response:
        """One request (a JSON body, or raw ``content`` of ``media_type``: an upload); on a
        401 the cached token is dropped and the request sent once more.

        Raises the :mod:`~lampyris.client.errors` class for any non-2xx answer.
        """
        url = self.url(path_or_url)
        for attempt in range(2):
            token = self.tokens.get_token()
            headers = self.headers(token)
            if media_type is not None:
                headers["Content-Type"] = media_type
            try:
                response = self.http.request(method, url, json=json, content=content,
                                             headers=headers)
            except httpx.TransportError as exc:
                raise ServiceConnectionError(
                    None, "connection_error", f"{method} {url}: {exc}"
                ) from exc
            if response.status_code == 401 and attempt == 0:
                self.tokens.invalidate(token)
                continue
            if not response.is_success:
                raise error_from_response(response)
            return response
        raise AssertionError("unreachable: the second attempt returns or raises")

    def get_json(self, path_or_url: str, *, retry: bool = True) -> Any:
        """GET a JSON body; 429s and gateway errors (502/503/504) are retried unless told not."""
        if not retry:
            return _json(self.send("GET", path_or_url))
        return with_retries(
            lambda: _json(self.send("GET", path_or_url)),
            policy=self.retry,
            sleep=self.sleep,
            retry_statuses=GATEWAY_STATUSES,
        )

    def post_json(self, path: str, body: Any, *, retry_server_errors: bool = False) -> Any:
        """POST JSON and return the JSON answer.

        A 429 always waits and retries (the request was not accepted); a 5xx or a broken
        connection retries only with ``retry_server_errors``, since the job may have been
        created and a retry could run it twice.
        """
        return with_retries(
            lambda: _json(self.send("POST", path, json=body)),
            policy=self.retry,
            sleep=self.sleep,
            retry_statuses=SERVER_STATUSES if retry_server_errors else frozenset(),
        )


def _json(response: httpx.Response) -> Any:
    body = response_body(response)
    if isinstance(body, str) and body.strip():
        raise ServiceError(
            response.status_code,
            "invalid_response",
            f"expected JSON from {response.request.method} {response.request.url}, "
            f"got {response.headers.get('content-type', 'no content type')}",
            body,
        )
    return body if not isinstance(body, str) else None
