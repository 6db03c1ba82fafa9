"""Asynchronous jobs: the handle a submit returns, the status it reaches, and the poll loop.

Every image route answers 202 and a status URL; the Sensei, v2, masking v1, Firefly and
Lightroom status bodies differ in spelling (``jobID``/``jobId``; ``output.href``, ``mask`` or
``result.outputs[]``; a state per output), so one parser reads them all and callers get the
same :class:`Job` whichever route ran.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lampyris.client.errors import (
    JobFailedError,
    JobTimeoutError,
    RateLimitedError,
    ServerError,
    ServiceConnectionError,
    ServiceError,
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
    Firefly ``result.outputs[].image.url``, Sensei ``output.href``, masking v1
    ``mask.destination.url`` or ``image.destination.url``, and Lightroom
    ``outputs[]._links.self.href`` (the caller's own destinations). Lightroom has no job-level
    status: it is read from the outputs' as Adobe's SDK does. ``body`` is the raw answer.
    """

    job_id: str
    status: str
    body: Mapping[str, Any]
    outputs: tuple[str, ...] = ()

    @classmethod
    def from_body(cls, body: Any, *, job_id: str = "") -> Job:
        """Parse any flavour of status body; ``job_id`` fills in when the body names none."""
        status = body.get("status") if isinstance(body, Mapping) else None
        if isinstance(body, Mapping) and status is None:
            status = _status_of_outputs(body.get("outputs"))
        if not isinstance(body, Mapping) or not isinstance(status, str):
            raise ServiceError(200, "invalid_response", "status answer has no 'status'", body)
        found = body.get("jobId") or body.get("jobID") or body.get("id") or job_id
        return cls(str(found), status.lower(), body, tuple(_output_urls(body)))

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
        source = errors if isinstance(errors, Mapping) else _failed_output(self.body) or self.body
        nested = source.get("errors")  # a psdService or Lightroom output's own {code, title}
        code, message, details = parse_error_body(nested if isinstance(nested, Mapping)
                                                  else source)
        extension = source.get("lampyris")
        if isinstance(extension, Mapping) and isinstance(extension.get("error"), Mapping):
            precise = _str(extension["error"].get("code"))  # lampyris' own, beside Adobe's
            if precise and (code is None or code.isdigit()):  # psdService's code is a status
                code = precise
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


def _status_of_outputs(outputs: Any) -> str | None:
    """A Lightroom job's state from its outputs': running while any runs, failed when one
    failed and none waits, succeeded when all did, else pending."""
    if not isinstance(outputs, list) or not outputs:
        return None
    states = [str(o.get("status", "")).lower() for o in outputs if isinstance(o, Mapping)]
    if "running" in states:
        return "running"
    if "failed" in states and "pending" not in states:
        return "failed"
    if states and all(state == SUCCEEDED for state in states):
        return SUCCEEDED
    return "pending"


def _failed_output(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    outputs = body.get("outputs")
    for item in outputs if isinstance(outputs, list) else []:
        if isinstance(item, Mapping) and item.get("status") in FAILED:
            return item
    return None


def _output_urls(body: Mapping[str, Any]) -> list[str]:
    urls: list[str] = []
    result = body.get("result")
    items = result.get("outputs") if isinstance(result, Mapping) else body.get("outputs")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        links = item.get("_links")
        own = links.get("self") if isinstance(links, Mapping) else None
        if isinstance(own, Mapping) and isinstance(own.get("href"), str):  # Lightroom
            urls.append(own["href"])
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
    for key in ("mask", "image"):  # Photoshop masking v1: one hosted result at the top
        place = body.get(key)
        hosted = place.get("destination") if isinstance(place, Mapping) else None
        if isinstance(hosted, Mapping) and isinstance(hosted.get("url"), str):
            urls.append(hosted["url"])
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
        except (ServerError, ServiceConnectionError) as exc:
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
