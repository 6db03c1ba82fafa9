"""Firefly's routes: uploads (``/v2/storage/image``), fill, expand and object composite, as
async jobs (``/v3/images/*-async``, ``/v3/status``, ``/v3/cancel``) and as the synchronous calls
``@adobe/firefly-apis`` 2.0.1 makes (``/v3/images/fill`` …), which wait for the same job.

Bodies are JSON or, as Adobe's v3 routes take them, multipart (``api.firefly_bodies``).
Results are JPEG (PNG by the ``lampyris.format`` extension), hosted by the server behind
signed URLs that expire with ``result_url_ttl`` (an hour, as Firefly's do). A job's status
carries the ``Link`` header of its 202 and, while it runs, the progress its worker reports.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lampyris.api.auth import Principal, principal
from lampyris.api.errors import ApiError, describe_failure
from lampyris.api.firefly_bodies import UPLOAD_TYPES, firefly_body, keep_upload
from lampyris.api.firefly_wire import (
    JOB_PREFIX,
    BinaryInput,
    CompositeRequest,
    ExpandRequest,
    FillRequest,
    GenerativeRequest,
    Resolve,
    composite_task,
    expand_task,
    fill_task,
    firefly_error_code,
    new_firefly_job_id,
    result_body,
    status_body,
)
from lampyris.api.jobs_common import ACCEPTED, submit
from lampyris.api.services import Services, services
from lampyris.api.uploads import upload_key
from lampyris.imaging.decode import probe
from lampyris.imaging.fill.engines import EngineChoice
from lampyris.jobs import JobRecord, Task
from lampyris.storage import StorageRef

router = APIRouter(tags=["Firefly"])

KIND = "firefly"
UPLOAD_PATH = "/v2/storage/image"  # its body is an image, capped by the storage byte cap
Body_ = TypeVar("Body_", bound=GenerativeRequest)
FillBody = Annotated[FillRequest, Depends(firefly_body(FillRequest))]
ExpandBody = Annotated[ExpandRequest, Depends(firefly_body(ExpandRequest))]
CompositeBody = Annotated[CompositeRequest, Depends(firefly_body(CompositeRequest))]
Build = Callable[[Body_, Resolve, str, EngineChoice], Task]


# --- uploads -------------------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "input_too_large", f"the image is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "input_too_large", f"the image is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(UPLOAD_PATH, summary="Upload an image; its id is usable for 7 days",
             responses={200: {"description": "The upload's id"}})
async def upload(
    request: Request, who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in UPLOAD_TYPES:
        raise ApiError(415, "invalid_content_type",
                       f"Content-Type must be one of {', '.join(UPLOAD_TYPES)}, "
                       f"not {content_type or 'none'!r}", family="firefly")
    data = await _read_body(request, svc.config.storage.storage_max_bytes)
    if not data:
        raise ApiError(400, "empty_input_body", "the request has no image", family="firefly")
    upload_id = await run_in_threadpool(keep_upload, svc, who.client_id, data, content_type)
    await run_in_threadpool(_forget_expired, svc)
    return JSONResponse({"images": [{"id": upload_id}]})


def _forget_expired(svc: Services) -> None:
    gone = svc.uploads.expired_ids()
    for upload_id in gone:
        svc.objects.delete(upload_key(upload_id))
    svc.uploads.forget(gone)


def upload_resolver(svc: Services, who: Principal) -> Resolve:
    """Sources by URL go to the fetcher (and its SSRF guard); upload ids must be the
    caller's, unexpired and still stored."""

    def resolve(source: BinaryInput, name: str) -> StorageRef:
        if source.url is not None:
            return StorageRef(source.url, "external")
        assert source.uploadId is not None
        field = f"{name}.uploadId"
        stored = svc.uploads.get(source.uploadId, who.client_id)
        if stored is None or not svc.objects.exists(stored.key):
            raise _invalid(field, f"unknown upload id {source.uploadId!r}")
        if stored.expired:
            raise _invalid(field, f"upload {source.uploadId} expired at "
                                  f"{stored.expires:%Y-%m-%dT%H:%M:%SZ}: upload the image again")
        return StorageRef(stored.key, "hosted")

    return resolve


def _invalid(field: str, reason: str) -> ApiError:
    """A field refused after validation (an upload id, a mask's size): 400, naming the field
    (Firefly's ``loc`` puts ``body`` before it, as a schema error's does)."""
    return ApiError(400, "validation_error", f"{field}: {reason}",
                    details=[{"name": field, "reason": reason}])


def _check_mask_size(svc: Services, task: Task) -> None:
    """Both images uploaded: a mask of the wrong size is refused now, not as a failed job."""
    mask = task.images.get("mask")
    if mask is None or mask.storage != "hosted" or task.input.storage != "hosted":
        return
    image_w, image_h, _ = probe(svc.objects.get(task.input.href).data)
    mask_w, mask_h, _ = probe(svc.objects.get(mask.href).data)
    if (mask_w, mask_h) != (image_w, image_h):
        raise _invalid("mask.source", f"the mask is {mask_w}x{mask_h} but the image is "
                                      f"{image_w}x{image_h}: they must be the same size")


# --- jobs ----------------------------------------------------------------------------------


async def start_job(body: Body_, build: Build[Body_], who: Principal, svc: Services,
                    check_mask: bool = False) -> JobRecord:
    """Turn a validated body into a task (``build``) and commit its job."""
    job_id = new_firefly_job_id()

    def create() -> JobRecord:
        task = build(body, upload_resolver(svc, who), job_id, svc.config.server.fill_engine)
        if check_mask:
            _check_mask_size(svc, task)
        record = body.model_dump(mode="json", exclude_none=True)
        return submit(svc, who, KIND, task, record, job_id)

    return await run_in_threadpool(create)


def _links(request: Request, svc: Services, job: JobRecord) -> tuple[str, str, str]:
    """The job's status and cancel URLs, and the ``Link`` header naming both."""
    base = svc.base_url(request)
    status_url, cancel_url = f"{base}/v3/status/{job.id}", f"{base}/v3/cancel/{job.id}"
    return status_url, cancel_url, f'<{status_url}>; rel="status", <{cancel_url}>; rel="cancel"'


def accepted(request: Request, svc: Services, job: JobRecord) -> JSONResponse:
    status_url, cancel_url, link = _links(request, svc, job)
    return JSONResponse(
        {"jobId": job.id, "statusUrl": status_url, "cancelUrl": cancel_url}, status_code=202,
        headers={"Link": link},
    )


async def _wait(request: Request, svc: Services, job: JobRecord) -> JSONResponse:
    """The sync routes: the job runs like any other; this waits for it (``sync_timeout``)."""
    return JSONResponse(result_body(await finished_job(svc, job), file_urls(request, svc)))


async def finished_job(svc: Services, job: JobRecord) -> JobRecord:
    """``job`` once it has succeeded; its failure (or cancel, or our ``sync_timeout``) as
    Firefly's error."""
    deadline = time.monotonic() + svc.config.server.sync_timeout
    delay = 0.05
    while not job.done:
        if time.monotonic() > deadline:
            raise ApiError(408, "timeout_error",
                           f"the job is still running; poll /v3/status/{job.id}")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.5)
        fresh: JobRecord | None = await run_in_threadpool(svc.store.get, job.id)
        job = fresh or job
    if job.state == "succeeded":
        return job
    if job.state == "cancelled":  # cancelled through /v3/cancel while this call waited
        raise ApiError(499, "cancelled_error", "The job was cancelled.")
    failure = describe_failure(job.error or {})
    raise ApiError(failure.status, firefly_error_code(failure.status, failure.code),
                   failure.message)


def file_urls(request: Request, svc: Services) -> Callable[[str], str]:
    """A hosted result's key → its signed URL."""
    return lambda key: svc.file_url(request, key)


@router.post("/v3/images/fill-async", status_code=202, responses=ACCEPTED,
             summary="Generative fill: the mask's white area generated (async job)")
async def fill_async(request: Request, body: FillBody,
                     who: Principal = Depends(principal),
                     svc: Services = Depends(services)) -> JSONResponse:
    return accepted(request, svc, await start_job(body, fill_task, who, svc,
                                                check_mask=True))


@router.post("/v3/images/expand-async", status_code=202, responses=ACCEPTED,
             summary="Generative expand: a larger canvas, the new area generated (async job)")
async def expand_async(request: Request, body: ExpandBody,
                       who: Principal = Depends(principal),
                       svc: Services = Depends(services)) -> JSONResponse:
    return accepted(request, svc, await start_job(body, expand_task, who, svc))


@router.post("/v3/images/generate-object-composite-async", status_code=202, responses=ACCEPTED,
             summary="Object composite: the product in a scene from the prompt (async job)")
async def composite_async(request: Request, body: CompositeBody,
                          who: Principal = Depends(principal),
                          svc: Services = Depends(services)) -> JSONResponse:
    return accepted(request, svc, await start_job(body, composite_task, who, svc))


@router.post("/v3/images/fill", summary="Generative fill, waiting for the result (Firefly SDK)")
async def fill_sync(request: Request, body: FillBody,
                    who: Principal = Depends(principal),
                    svc: Services = Depends(services)) -> JSONResponse:
    return await _wait(request, svc, await start_job(body, fill_task, who, svc, check_mask=True))


@router.post("/v3/images/expand", summary="Generative expand, waiting for the result")
async def expand_sync(request: Request, body: ExpandBody,
                      who: Principal = Depends(principal),
                      svc: Services = Depends(services)) -> JSONResponse:
    return await _wait(request, svc, await start_job(body, expand_task, who, svc))


@router.post("/v3/images/generate-object-composite",
             summary="Object composite, waiting for the result")
async def composite_sync(request: Request, body: CompositeBody,
                         who: Principal = Depends(principal),
                         svc: Services = Depends(services)) -> JSONResponse:
    return await _wait(request, svc, await start_job(body, composite_task, who, svc))


def _own(svc: Services, who: Principal, job_id: str) -> JobRecord:
    """The caller's Firefly job by URN, or by the bare id after the prefix."""
    for candidate in (job_id, JOB_PREFIX + job_id):
        job = svc.store.get(candidate, owner=who.client_id)
        if job is not None and job.kind == KIND:
            return job
    raise ApiError(404, "unknown_job_id", "The job id is unknown.")


@router.get("/v3/status/{job_id}", summary="Status of a Firefly job (and its result)")
def job_status(job_id: str, request: Request, who: Principal = Depends(principal),
               svc: Services = Depends(services)) -> JSONResponse:
    job = _own(svc, who, job_id)
    return JSONResponse(status_body(job, file_urls(request, svc)),
                        headers={"Link": _links(request, svc, job)[2]})


_CANCEL_REFUSED: dict[str, tuple[int, str, str]] = {
    "cancelled": (409, "job_already_canceled", "The job was already cancelled."),
    "cancel_pending": (409, "job_already_canceled", "The job was already cancelled."),
    "succeeded": (409, "job_completed", "The job was already completed."),
    "failed": (409, "job_completed", "The job was already completed."),
    "timeout": (410, "job_timeout", "The job timed out."),
}


@router.put("/v3/cancel/{job_id}", summary="Cancel a Firefly job")
def cancel(job_id: str, who: Principal = Depends(principal),
           svc: Services = Depends(services)) -> dict[str, Any]:
    job = _own(svc, who, job_id)
    before = svc.store.cancel(job.id, who.client_id)
    if before is None:
        raise ApiError(404, "unknown_job_id", "The job id is unknown.")
    if before in _CANCEL_REFUSED:
        status, code, message = _CANCEL_REFUSED[before]
        raise ApiError(status, code, message)
    return {"jobId": job.id, "status": "cancelled" if before == "pending" else "cancel_pending"}
