"""Photoshop's remove-background routes: Sensei v1 (``/sensei/*``) and v2.

A submit validates the body, checks the op's parameters, commits the job and answers 202;
the executor does the rest. Status routes show a job only to the client that created it.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from lampyris.api.auth import Principal, principal
from lampyris.api.errors import ApiError
from lampyris.api.photoshop_wire import (
    RemoveBackgroundRequest,
    SenseiRequest,
    sensei_status,
    sensei_task,
    v2_status,
    v2_task,
)
from lampyris.api.services import Services, services
from lampyris.errors import ModelError
from lampyris.jobs import JobRecord, Task
from lampyris.jobs.record import new_job_id
from lampyris.models import resolve_spec
from lampyris.ops import CATALOG

router = APIRouter(tags=["Photoshop"])

_ACCEPTED: dict[int | str, dict[str, Any]] = {202: {"description": "Job accepted"}}


def _check_params(task: Task) -> None:
    """Refuse bad op parameters and unknown models now (400) rather than as a failed job."""
    try:
        params = CATALOG[task.op].params.model_validate(task.params)
        model = getattr(params, "model", None)
        if model is not None:
            resolve_spec(model)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ApiError(400, "validation_error", f"invalid options: {problems}") from None
    except ModelError as exc:
        raise ApiError(400, "validation_error", f"invalid options: {exc}") from None


def _submit(svc: Services, who: Principal, kind: str, task: Task, request: dict[str, Any],
            job_id: str | None = None) -> JobRecord:
    _check_params(task)
    job = JobRecord(owner=who.client_id, kind=kind, op=task.op, task=task.to_json(),
                    request=request, id=job_id or new_job_id())
    svc.store.add(job)  # committed before the 202 goes out: an accepted job is never lost
    svc.metrics.submitted.labels(task.op).inc()
    svc.executor.wake()
    return job


def _own_job(svc: Services, who: Principal, job_id: str, kind: str) -> JobRecord:
    job = svc.store.get(job_id, owner=who.client_id)
    if job is None or job.kind != kind:
        raise ApiError(404, "unknown_job_id", "The job id is unknown.")
    return job


async def _sensei(request: Request, body: SenseiRequest, who: Principal, svc: Services,
                  mode: Literal["cutout", "mask"]) -> JSONResponse:
    task = sensei_task(body, mode)
    job = await run_in_threadpool(
        _submit, svc, who, "sensei", task, body.model_dump(mode="json", exclude_none=True)
    )
    href = f"{svc.base_url(request)}/sensei/status/{job.id}"
    return JSONResponse({"_links": {"self": {"href": href}}}, status_code=202)


@router.post("/sensei/cutout", status_code=202, responses=_ACCEPTED,
             summary="Remove background (v1): cutout PNG to your storage")
async def sensei_cutout(
    request: Request, body: SenseiRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    return await _sensei(request, body, who, svc, "cutout")


@router.post("/sensei/mask", status_code=202, responses=_ACCEPTED,
             summary="Create mask (v1): greyscale mask PNG to your storage")
async def sensei_mask(
    request: Request, body: SenseiRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    return await _sensei(request, body, who, svc, "mask")


@router.get("/sensei/status/{job_id}", summary="Status of a v1 cutout or mask job")
def sensei_job_status(
    job_id: str, request: Request,
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    job = _own_job(svc, who, job_id, "sensei")
    href = f"{svc.base_url(request)}/sensei/status/{job.id}"
    return JSONResponse(sensei_status(job, href))


@router.post("/v2/remove-background", status_code=202, responses=_ACCEPTED,
             summary="Remove background (v2): the result is hosted here, by URL")
async def remove_background(
    request: Request, body: RemoveBackgroundRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    if body.mode == "psd" or (body.output and body.output.mediaType
                              == "image/vnd.adobe.photoshop"):
        raise ApiError(400, "validation_error",
                       "PSD output is not supported by lampyris: use cutout or mask with "
                       "image/png, image/jpeg or image/webp")
    job_id = new_job_id()
    task = v2_task(body, job_id)
    job = await run_in_threadpool(
        _submit, svc, who, "v2", task, body.model_dump(mode="json", exclude_none=True), job_id
    )
    status_url = f"{svc.base_url(request)}/v2/status/{job.id}"
    return JSONResponse({"jobId": job.id, "statusUrl": status_url}, status_code=202)


@router.get("/v2/status/{job_id}", summary="Status of a v2 remove-background job")
def remove_background_status(
    job_id: str, request: Request,
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    job = _own_job(svc, who, job_id, "v2")
    keys = [out.get("key") for out in (job.result or {}).get("outputs", [])]
    urls = [svc.file_url(request, key) for key in keys if key]
    return JSONResponse(v2_status(job, urls))
