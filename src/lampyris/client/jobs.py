"""Asynchronous jobs: the handle a submit returns, the status it reaches, and the poll loop.

Every image route answers 202 and a status URL; the Sensei, v2 and Firefly status bodies
differ in spelling (``jobID``/``jobId``, ``output.href``/``result.outputs[]``), so one
parser reads them all and callers get the same :class:`Job` whichever route ran.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lampyris.client.errors import (
    ApiConnectionError,
    ApiError,
    JobFailedError,
    JobTimeoutError,
    RateLimitedError,
    ServerError,
    parse_error_body,
)
from lampyris.client.retry import GATEWAY_STATUSES, Backoff
from lampyris.client.session import ServiceSession

SUCCEEDED = "succeeded"
#: Terminal states other than success (Firefly adds cancellation and server-side timeout).
FAILED = frozenset({"failed", "cancelled", "canceled", "timeout", "error"})


@dataclass(frozen=True)
class JobRef:
    """A submitted job: its id, the absolute URL to poll, and the submit answer."""

    job_id: str
    status_url: str
    body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """One status answer: ``status`` is ``pending``/``running``/``succeeded``/``failed``.

    ``outputs`` lists the result URLs: v2 ``result.outputs[].destination.url`` (or ``.url``),
    Firefly ``result.outputs[].image.url``, Sensei ``output.href`` (the caller's own
    destination). ``body`` is the raw status answer.
    """

    job_id: str
    status: str
    body: Mapping[str, Any]
    outputs: tuple[str, ...] = ()

    @classmethod
    def from_body(cls, body: Any, *, job_id: str = "") -> Job:
        """Parse any flavour of status body; ``job_id`` fills in when the body names none."""
        if not isinstance(body, Mapping) or not isinstance(body.get("status"), str):
            raise ApiError(200, "invalid_response", "status answer has no 'status'", body)
        found = body.get("jobId") or body.get("jobID") or body.get("id") or job_id
        return cls(str(found), body["status"].lower(), body, tuple(_output_urls(body)))

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    @property
    def done(self) -> bool:
        return self.succeeded or self.failed

    def error(self) -> tuple[str | None, str, Any]:
        """``(code, message, details)`` of a failed job, from whichever shape it reports."""
        errors = self.body.get("errors")
        source = errors if isinstance(errors, Mapping) else self.body
        code, message, details = parse_error_body(source)
        first = details[0] if isinstance(details, list) and details else None
        if isinstance(first, Mapping):  # v2 errorDetails: [{errorCode, message}]
            code = code or _str(first.get("errorCode") or first.get("error_code"))
            message = message or _str(first.get("message") or first.get("reason"))
        return code, message or f"job {self.job_id} {self.status}", details

    def raise_for_status(self) -> Job:
        """Return the job if it did not fail; raise :class:`JobFailedError` if it did."""
        if self.failed:
            code, message, details = self.error()
            raise JobFailedError(self, code, message, details=details)
        return self


def _output_urls(body: Mapping[str, Any]) -> list[str]:
    urls: list[str] = []
    result = body.get("result")
    items = result.get("outputs") if isinstance(result, Mapping) else body.get("outputs")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        for holder, key in (
            ("destination", "url"),
            ("image", "url"),
            (None, "url"),
            (None, "presignedUrl"),
            (None, "href"),
        ):
            place = item.get(holder) if holder else item
            url = place.get(key) if isinstance(place, Mapping) else None
            if isinstance(url, str):
                urls.append(url)
                break
    output = body.get("output")
    if isinstance(output, Mapping) and isinstance(output.get("href"), str):
        urls.append(output["href"])
    if isinstance(body.get("url"), str):
        urls.append(body["url"])
    return list(dict.fromkeys(urls))  # drop repeats, keep order


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def poll_job(
    session: ServiceSession,
    ref: JobRef,
    *,
    timeout: float,
    backoff: Backoff,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> Job:
    """GET ``ref.status_url`` until the job ends; the waits grow along ``backoff``.

    A 429 waits its ``Retry-After``; a 502/503/504 or a broken connection is retried up to
    ``session.retry.server_errors`` times in a row. No wait runs past ``timeout``: the last
    poll happens at the deadline, then :class:`JobTimeoutError` is raised.
    """
    deadline = clock() + timeout
    delays = backoff.delays()
    gateway_errors = 0
    last: Any = None
    while True:
        try:
            last = session.get_json(ref.status_url, retry=False)
        except RateLimitedError as exc:
            delay = exc.retry_after if exc.retry_after is not None else next(delays)
        except (ServerError, ApiConnectionError) as exc:
            if isinstance(exc, ServerError) and exc.status not in GATEWAY_STATUSES:
                raise
            gateway_errors += 1
            if gateway_errors > session.retry.server_errors:
                raise
            delay = next(delays)
        else:
            gateway_errors = 0
            job = Job.from_body(last, job_id=ref.job_id)
            if job.done:
                return job.raise_for_status()
            delay = next(delays)
        remaining = deadline - clock()
        if remaining <= 0:
            raise JobTimeoutError(ref.job_id, timeout, last)
        sleep(min(delay, remaining))
