"""The console's view of jobs and of the server: ``/lampyris/v1/jobs`` and ``/server``.

A client sees only its own jobs, newest first, paged by an opaque cursor (the last job's
creation time and id), so a page never shifts while new jobs arrive. A job is described
family-neutrally: its Adobe status URL, its inputs (an upload by a freshly signed URL), its
outputs, the request as stored, its failure in our words, its review (the result's
confidence) and its webhooks' deliveries (what the receiver answered, and when the next try
is). The server's numbers come from
``/health``'s sources and the job store's finished rows (what ``/metrics`` counts too).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, get_args
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError

from lampyris.api.auth import Principal, principal
from lampyris.api.callbacks import status_url
from lampyris.api.console import console_on
from lampyris.api.errors import ApiError
from lampyris.api.server_state import server_state
from lampyris.api.services import Services, services
from lampyris.failure import Failure
from lampyris.jobs import JobRecord, Task
from lampyris.jobs.payloads import TaskTarget
from lampyris.jobs.record import TERMINAL, State, now
from lampyris.jobs.webhook_log import Delivery
from lampyris.ops import CATALOG
from lampyris.storage import StorageRef

router = APIRouter(prefix="/lampyris/v1", tags=["Console"],
                   dependencies=[Depends(console_on)])

STATES: tuple[str, ...] = get_args(State)
HOUR = timedelta(hours=1)


def invalid(field: str, reason: str) -> ApiError:
    """A query parameter refused: 400 naming it and what to send instead."""
    return ApiError(400, "validation_error", f"{field}: {reason}",
                    details=[{"name": field, "reason": reason}])


def _one_of(field: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None or value in allowed:
        return value
    raise invalid(field, f"unknown value {value!r}: use one of {', '.join(allowed)}")


def encode_cursor(job: JobRecord) -> str:
    raw = json.dumps([job.created.isoformat(), job.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """A cursor this server gave out; anything else is a 400 (start again without it)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, job_id = json.loads(raw)
        stamp = datetime.fromisoformat(created)
        if stamp.tzinfo is None or not isinstance(job_id, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error):
        raise invalid("before", "not a cursor from this server: ask for the first page "
                                 "again, without before") from None
    return stamp, job_id


def iso(stamp: datetime) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _ref_url(svc: Services, request: Request, ref: StorageRef) -> str | None:
    """An input as the console may show it: a hosted one (an upload) by a fresh signed URL
    (not checked for existence: on S3 that would be a request per job listed; an expired
    upload's link answers 404), one the client gave by its own href."""
    return svc.file_url(request, ref.href) if ref.storage == "hosted" else ref.href


def shown_url(url: str) -> str:
    """A callback URL as the console lists it: no credentials or query (a receiver's token
    often rides there)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]  # an IPv6 host keeps its brackets
    return f"{parts.scheme}://{host}{parts.path}" + ("?…" if parts.query else "")


def shown_request(request: dict[str, Any]) -> dict[str, Any]:
    """The request as stored, its callback URL as ``shown_url`` lists it."""
    extension = request.get("lampyris")
    if not isinstance(extension, dict):
        return request
    callback = extension.get("callback")
    if not isinstance(callback, dict) or not isinstance(callback.get("url"), str):
        return request
    shown = {**callback, "url": shown_url(callback["url"])}
    return {**request, "lampyris": {**extension, "callback": shown}}


def delivery_view(delivery: Delivery) -> dict[str, Any]:
    """One webhook delivery of a job, for the console."""
    return {"url": shown_url(delivery.url), "state": delivery.state,
            "event": delivery.event_type, "attempts": delivery.attempts,
            "lastStatus": delivery.last_status, "lastError": delivery.last_error,
            "nextAttempt": iso(delivery.next_attempt)
            if delivery.next_attempt is not None and delivery.state == "pending" else None}


def deliveries_of(svc: Services, owner: str, jobs: list[JobRecord]) -> dict[str, list[Delivery]]:
    """The webhook deliveries of a page of jobs, in one query, by job id."""
    found: dict[str, list[Delivery]] = {}
    if jobs:
        for delivery in svc.webhooks.log.list(job_ids=[job.id for job in jobs], owner=owner,
                                              limit=20 * len(jobs)):
            found.setdefault(delivery.job_id or "", []).append(delivery)
    return found


def describe(svc: Services, request: Request, job: JobRecord,
             deliveries: Sequence[Delivery] = ()) -> dict[str, Any]:
    """The console's Job: see ``console_contract`` (route 1)."""
    try:
        task: Task | None = Task.model_validate(job.task)
    except ValidationError:  # a row older than the payload models: listed without inputs
        task = None
    inputs, targets = [], [TaskTarget()]
    if task is not None:
        inputs = [{"name": "input", "url": _ref_url(svc, request, task.input)}]
        inputs += [{"name": name, "url": _ref_url(svc, request, ref)}
                   for name, ref in task.images.items()]
        targets = task.all_targets()
    try:
        outcome = job.outcome()
        delivered, review = outcome.outputs, outcome.metadata.get("review")
    except ValidationError:
        delivered, review = [], None
    outputs = []
    for number, out in enumerate(delivered):
        destination = targets[number % len(targets)].output
        url = (svc.file_url(request, out.key) if out.key
               else destination.href if destination is not None else None)
        outputs.append({"url": url, "mediaType": out.mediaType, "width": out.width,
                        "height": out.height})
    error = None
    if job.error is not None:
        failure = Failure.read(job.error)
        error = {"code": failure.code, "message": failure.message}
    return {
        "id": job.id, "kind": job.kind, "op": job.op, "state": job.state,
        "created": iso(job.created), "modified": iso(job.modified),
        # a worker's last report may be short of 100 (encoding and delivery are not counted)
        "progress": 100 if job.state == "succeeded" else job.progress,
        "statusUrl": status_url(svc.base_url(request), job),
        "inputs": inputs, "outputs": outputs, "settings": shown_request(job.request),
        "error": error,
        "review": review if isinstance(review, dict) else None,
        "webhooks": [delivery_view(d) for d in reversed(deliveries)],  # oldest first
    }


@router.get("/jobs", summary="The caller's jobs, newest first")
def list_jobs(
    request: Request,
    op: str | None = None,
    state: str | None = None,
    limit: int = Query(20, ge=1, le=100),
    before: str | None = None,
    who: Principal = Depends(principal),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    _one_of("op", op, tuple(sorted(CATALOG)))
    _one_of("state", state, STATES)
    cursor = decode_cursor(before) if before else None
    jobs = svc.store.list_jobs(who.client_id, op=op, state=state, limit=limit + 1,
                               before=cursor)
    more = len(jobs) > limit
    jobs = jobs[:limit]
    hooks = deliveries_of(svc, who.client_id, jobs)
    return {"jobs": [describe(svc, request, job, hooks.get(job.id, [])) for job in jobs],
            "next": encode_cursor(jobs[-1]) if more else None}


@router.get("/jobs/{job_id}", summary="One of the caller's jobs")
def get_job(job_id: str, request: Request, who: Principal = Depends(principal),
            svc: Services = Depends(services)) -> dict[str, Any]:
    job = svc.store.get(job_id, owner=who.client_id)
    if job is None:
        raise ApiError(404, "not_found", f"you have no job {job_id!r}: check the id, or list "
                                         "your jobs at /lampyris/v1/jobs")
    return describe(svc, request, job, deliveries_of(svc, who.client_id, [job]).get(job.id, []))


def last_hour(svc: Services) -> dict[str, Any]:
    """Jobs that ended in the last hour, by state and by op, and the rate they ended at."""
    counts = svc.store.finished_since(now() - HOUR)
    by_state = {state: sum(n for (_, s), n in counts.items() if s == state)
                for state in ("succeeded", "failed", "cancelled")}
    by_op: dict[str, dict[str, int]] = {}
    for (op, state), n in counts.items():
        if state in ("succeeded", "failed"):
            entry = by_op.setdefault(op, {"succeeded": 0, "failed": 0})
            entry[state] += n
    ended = sum(n for (_, s), n in counts.items() if s in TERMINAL)
    return {**by_state, "jobsPerSecond": round(ended / HOUR.total_seconds(), 4),
            "byOp": dict(sorted(by_op.items()))}


@router.get("/server", summary="Queue, workers, the last hour and the engine")
def server(who: Principal = Depends(principal),
           svc: Services = Depends(services)) -> dict[str, Any]:
    return {**server_state(svc), "lastHour": last_hour(svc)}
