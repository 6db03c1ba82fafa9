"""Moving image bytes: downloading a result URL, and uploading an image as a request body.

Result URLs are pre-signed (the signature is the credential), so a download sends no token:
Adobe's results live on S3 and friends, which refuse a request carrying both a signature and
an ``Authorization`` header. Both ways follow the client's :class:`RetryPolicy`.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from lampyris.client.errors import ServiceConnectionError, error_from_response
from lampyris.client.retry import GATEWAY_STATUSES, RetryPolicy, with_retries


def without_query(url: str) -> str:
    """A URL fit for an error message or a log: the signature (the query) left out."""
    return url.split("?", 1)[0]


def download(
    http: httpx.Client,
    url: str,
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
) -> bytes:
    """GET ``url`` (a result's pre-signed URL) and return its bytes.

    A 429 waits its ``Retry-After``; a 502/503/504 or a broken connection is retried up to
    ``policy.server_errors`` times with the policy's backoff; any other error status raises
    the SDK's class for it (the URL in its message without the signature).
    """

    def once() -> bytes:
        try:
            response = http.get(url, follow_redirects=True)
        except httpx.TransportError as exc:
            raise ServiceConnectionError(
                None, "connection_error", f"GET {without_query(url)}: {exc}"
            ) from exc
        if not response.is_success:
            raise error_from_response(response)
        return response.content

    return with_retries(once, policy=policy, sleep=sleep, retry_statuses=GATEWAY_STATUSES)
