"""The one guarded HTTP exchange every URL backend goes through.

Pre-signed URLs are credentials, the peer is untrusted, and object stores fail transiently;
this module is the single place that connects to the guard's pinned address (keeping the
original Host header and TLS name, which signatures and certificates cover), follows redirects
hop by hop through the guard, retries what is worth retrying, caps the bytes read (raw and
decoded), holds every transfer to a deadline and a minimum rate (``transfer``), and turns
httpx's exceptions into ``lampyris.errors.StorageError`` with the query string redacted.
"""

from __future__ import annotations

import email.utils
import logging
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType

import httpx

from lampyris.errors import StorageDeniedError, StorageUnavailableError
from lampyris.storage.base import Blob
from lampyris.storage.guard import GuardedUrl, UrlGuard
from lampyris.storage.settings import StorageSettings
from lampyris.storage.transfer import (
    WATCH_INTERVAL,
    TransferClock,
    TransferWatch,
    UploadStream,
    read_body,
)

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
_USER_AGENT = "lampyris-storage"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_BODY_KEEPING_REDIRECTS = frozenset({307, 308})  # the only ones that may repeat a PUT/POST
_RETRYABLE_HTTPX = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def redact(url: str) -> str:
    """``scheme://host[:port]/…``: enough to say where, nothing that grants access.

    S3/Azure put the signature in the query and Dropbox puts its token in the path, so neither
    ever reaches a message or a log line.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return "(unparseable URL)"
    origin = f"{parsed.scheme}://{parsed.netloc.decode('ascii', 'replace')}"
    return origin + ("/…" if parsed.raw_path not in (b"", b"/") else "/")


@dataclass(frozen=True)
class _Redirect:
    status: int
    location: str


class _Retryable(Exception):
    """One attempt failed in a way a later attempt may not (5xx, 429, network, timeout)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class HttpFetcher:
    """Guarded, retried, size-capped, deadline-bound HTTP requests; returns the final body.

    Usage::

        with HttpFetcher(StorageSettings()) as fetcher:
            blob = fetcher.request("GET", href)
            fetcher.request("PUT", out_href, content=png, headers={"Content-Type": "image/png"})

    ``transport`` replaces httpx's network transport (tests, custom TLS trust); ``sleep`` is
    what waits between retries.
    """

    def __init__(
        self,
        settings: StorageSettings | None = None,
        *,
        guard: UrlGuard | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings or StorageSettings()
        self.guard = guard or UrlGuard(self.settings)
        self._sleep = sleep
        # The HTTP status of the last response whose headers arrived (None: none yet): a
        # caller for whom any 2xx is enough (a webhook) tells it from a body that failed.
        self.last_status: int | None = None
        # The transport, not an httpx.Client: a client would log every full URL (signature
        # included) at INFO, keep a cookie jar across unrelated callers, and honour proxy
        # variables whose proxy would resolve the name again itself. No keep-alive: a pooled
        # connection is keyed by the pinned IP and would carry another host name's requests.
        self._transport = transport or httpx.HTTPTransport(
            limits=httpx.Limits(max_keepalive_connections=0)
        )

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Blob:
        """Send one request (plus redirects and retries); 2xx body as a Blob, else raise.

        All of it, retries and redirects included, must finish within the transfer deadline.
        """
        clock = TransferClock(self.settings)
        self.last_status = None
        target = self.guard.check(url)
        for _ in range(MAX_REDIRECTS + 1):
            outcome = self._with_retries(method, target, content, headers or {}, clock)
            if isinstance(outcome, Blob):
                return outcome
            last_status = outcome.status
            if method not in ("GET", "HEAD") and outcome.status not in _BODY_KEEPING_REDIRECTS:
                raise StorageDeniedError(
                    f"{method} {redact(target.url)} was redirected ({outcome.status}); "
                    "a write can only follow 307/308",
                    storage_status=outcome.status,
                )
            try:
                next_url = str(httpx.URL(target.url).join(outcome.location))
            except (httpx.InvalidURL, TypeError, ValueError) as exc:
                raise StorageDeniedError(
                    f"{method} {redact(target.url)}: unusable redirect Location ({exc})",
                    storage_status=outcome.status,
                ) from None
            target = self.guard.check(next_url)
        raise StorageDeniedError(
            f"{method} {redact(url)}: more than {MAX_REDIRECTS} redirects",
            storage_status=last_status,
        )

    def _with_retries(
        self,
        method: str,
        target: GuardedUrl,
        content: bytes | None,
        headers: Mapping[str, str],
        clock: TransferClock,
    ) -> Blob | _Redirect:
        settings = self.settings
        attempts = settings.storage_retries + 1
        for attempt in range(attempts):
            if clock.remaining() <= 0:
                raise clock.expired(f"{method} {redact(target.url)}")
            try:
                return self._attempt(method, target, content, headers, clock)
            except _Retryable as failure:
                if clock.remaining() <= 0:  # a wait ran into the deadline
                    raise clock.expired(f"{method} {redact(target.url)}", failure.reason) from None
                if attempt + 1 >= attempts:
                    raise StorageUnavailableError(
                        f"{method} {redact(target.url)} failed after {attempts} attempt(s): "
                        f"{failure.reason}"
                    ) from None
                delay = settings.storage_backoff * 2**attempt * random.uniform(0.5, 1.5)
                if failure.retry_after is not None:
                    delay = min(max(failure.retry_after, 0.0), settings.storage_retry_after_max)
                if delay >= clock.remaining():
                    raise StorageUnavailableError(
                        f"{method} {redact(target.url)} failed after {attempt + 1} attempt(s) "
                        f"and a retry would pass the {settings.storage_transfer_deadline:g} s "
                        f"transfer deadline (LAMPYRIS_STORAGE_TRANSFER_DEADLINE): {failure.reason}"
                    ) from None
                log.info("retrying %s %s in %.2fs (%s)", method, redact(target.url), delay, failure)
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self,
        method: str,
        target: GuardedUrl,
        content: bytes | None,
        headers: Mapping[str, str],
        clock: TransferClock,
    ) -> Blob | _Redirect:
        where = f"{method} {redact(target.url)}"
        with TransferWatch(clock, where) as watch:  # a tripped watch turns any error into its own
            request = self._build_request(method, target, content, headers, clock, watch)
            try:
                response = self._transport.handle_request(request)
            except _RETRYABLE_HTTPX as exc:
                if _is_certificate_error(exc):
                    raise StorageUnavailableError(
                        f"{where}: TLS certificate check failed for {target.host}: {exc}"
                    ) from None
                raise _Retryable(f"{type(exc).__name__}: {exc}") from None
            except httpx.HTTPError as exc:
                raise StorageUnavailableError(f"{where}: {type(exc).__name__}: {exc}") from None
            response.request = request
            self.last_status = response.status_code
            watch.body_started()
            try:
                return self._handle(where, target, response, watch)
            except _RETRYABLE_HTTPX as exc:  # the body stalled or the peer hung up mid-stream
                raise _Retryable(f"{type(exc).__name__} while reading: {exc}") from None
            except httpx.HTTPError as exc:
                raise StorageUnavailableError(f"{where}: {type(exc).__name__}: {exc}") from None
            finally:
                response.close()

    def _build_request(
        self,
        method: str,
        target: GuardedUrl,
        content: bytes | None,
        headers: Mapping[str, str],
        clock: TransferClock,
        watch: TransferWatch,
    ) -> httpx.Request:
        """The request to the pinned IP, carrying the URL's own Host header and TLS name.

        No single wait (connect, read, write) may outlast the deadline; the watch learns the
        socket through httpcore's ``trace`` extension and sees the upload move chunk by chunk.
        """
        original = httpx.URL(target.url)
        pinned = original.copy_with(host=target.ip)
        all_headers = {"Host": original.netloc.decode("ascii"), "User-Agent": _USER_AGENT}
        all_headers.update(headers)
        # past the deadline by one look of the watch at most, so that the watch names it
        wait = min(self.settings.storage_timeout, max(clock.remaining(), 0.0) + WATCH_INTERVAL)
        extensions: dict[str, object] = {
            "timeout": httpx.Timeout(wait).as_dict(),
            "trace": watch.trace,
        }
        if target.scheme == "https":
            extensions["sni_hostname"] = target.host
        if content is None:
            return httpx.Request(method, pinned, headers=all_headers, extensions=extensions)
        all_headers["Content-Length"] = str(len(content))
        return httpx.Request(
            method,
            pinned,
            headers=all_headers,
            stream=UploadStream(content, watch),
            extensions=extensions,
        )

    def _handle(
        self, where: str, target: GuardedUrl, response: httpx.Response, watch: TransferWatch
    ) -> Blob | _Redirect:
        status = response.status_code
        if status in _REDIRECTS and "location" in response.headers:
            return _Redirect(status, response.headers["location"])
        if status == 429 or status >= 500:
            raise _Retryable(f"answered {status}", _retry_after(response.headers))
        if not 200 <= status < 300:
            raise StorageDeniedError(f"{where} answered {status} (host {target.host})", status)
        data = read_body(response, self.settings.storage_max_bytes, where, watch)
        return Blob(data, response.headers.get("content-type", ""))


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), None if absent/bad."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_certificate_error(exc: BaseException) -> bool:
    """A certificate that does not verify will not verify on retry either."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
