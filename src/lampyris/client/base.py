"""What every service client shares: one HTTP client, one token source, job handles, waiting.

The Photoshop client (and the Firefly and Lightroom ones after it) only name routes and
bodies; reading submit answers into :class:`JobRef` and polling them lives here once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import quote, unquote, urlsplit

import httpx

from lampyris.client.auth import DEFAULT_IMS_URL, DEFAULT_SCOPES, TokenProvider, TokenSource
from lampyris.client.errors import ServiceError
from lampyris.client.jobs import Job, JobRef, poll_job
from lampyris.client.retry import Backoff, RetryPolicy
from lampyris.client.session import ServiceSession

DEFAULT_WAIT = 300.0
DEFAULT_BASE_URL = "https://image.adobe.io"  # Photoshop's and Lightroom's host


class ServiceClient:
    """Base of the service clients; see :class:`~lampyris.client.PhotoshopClient` for usage.

    With ``token_provider`` the client uses that source (and never closes it); otherwise it
    builds a :class:`TokenProvider` from ``client_secret`` on its own HTTP client.
    ``sleep`` and ``clock`` are injectable so tests (and async wrappers) control waiting.
    ``base_url`` defaults to the service's Adobe host (``default_base_url``).
    """

    default_base_url: ClassVar[str] = DEFAULT_BASE_URL

    def __init__(
        self,
        client_id: str,
        client_secret: str | None = None,
        base_url: str | None = None,
        ims_url: str = DEFAULT_IMS_URL,
        token_provider: TokenSource | None = None,
        timeout: float = 60.0,
        *,
        scopes: str | Sequence[str] = DEFAULT_SCOPES,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        poll: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = httpx.Client(timeout=timeout, transport=transport)
        if token_provider is None:
            if client_secret is None:
                self._http.close()
                raise ValueError("give client_secret or token_provider")
            token_provider = TokenProvider(
                client_id, client_secret, scopes, ims_url, http=self._http, clock=clock
            )
        self.tokens = token_provider
        self.session = ServiceSession(
            base_url or self.default_base_url, client_id, token_provider, self._http,
            retry=retry, sleep=sleep
        )
        self.poll = poll or Backoff()
        self._sleep = sleep
        self._clock = clock

    @property
    def base_url(self) -> str:
        return self.session.base_url

    def wait(self, job: JobRef, timeout: float = DEFAULT_WAIT, poll: Backoff | None = None) -> Job:
        """Poll ``job`` until it succeeds (returned) or fails (:class:`JobFailedError`).

        Raises :class:`JobTimeoutError` after ``timeout`` seconds; the job itself goes on.
        """
        return poll_job(
            self.session,
            job,
            timeout=timeout,
            backoff=poll or self.poll,
            clock=self._clock,
            sleep=self._sleep,
        )

    def _linked_job(self, body: Any, route: str) -> JobRef:
        """A v1-style answer ``{"_links": {"self": {"href": .../status/<id>}}}``.

        The job id is the href's last path segment, as Adobe's SDKs read it.
        """
        links = body.get("_links") if isinstance(body, Mapping) else None
        own = links.get("self") if isinstance(links, Mapping) else None
        href = own.get("href") if isinstance(own, Mapping) else None
        if not isinstance(href, str) or not href:
            raise ServiceError(
                202, "invalid_response", "submit answer has no _links.self.href", body
            )
        job_id = unquote(urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1])
        if not job_id:
            raise ServiceError(202, "invalid_response", f"no job id in {href!r}", body)
        return JobRef(job_id, self._status_url(href, job_id, route), body)

    def _accepted_job(self, body: Any, route: str) -> JobRef:
        """A v2/Firefly-style answer ``{"jobId", "statusUrl"}``."""
        job_id = body.get("jobId") if isinstance(body, Mapping) else None
        if not isinstance(job_id, str) or not job_id:
            raise ServiceError(202, "invalid_response", "submit answer has no jobId", body)
        href = body.get("statusUrl")
        return JobRef(
            job_id, self._status_url(href if isinstance(href, str) else None, job_id, route), body
        )

    def _status_url(self, href: str | None, job_id: str, route: str) -> str:
        """``href`` when it points at ``base_url``'s host, else ``{base_url}{route}/{id}``.

        A server behind a proxy may name its inner address; the route on the host the
        client already reaches still works.
        """
        fallback = self.session.url(f"{route.rstrip('/')}/{quote(job_id, safe=':@')}")
        if not href:
            return fallback
        target, base = httpx.URL(self.session.url(href)), httpx.URL(self.base_url)
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            return fallback
        return str(target)

    def close(self) -> None:
        """Close the HTTP client; a ``token_provider`` passed in stays open (the caller's)."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
