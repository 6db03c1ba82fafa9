"""Photoshop's routes: remove background, Sensei v1 (``/sensei/*``) and v2, and v2 edit
(Lightroom's develop settings, ``/v2/edit``).

A submit validates the body, checks the op's parameters, commits the job and answers 202;
the executor does the rest. Status routes show a job only to the client that created it;
``/v2/status`` serves remove-background and edit jobs alike.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lampyris.api.auth import Principal, principal
from lampyris.api.firefly import upload_resolver
from lampyris.api.jobs_common import ACCEPTED, own_job, submit
from lampyris.api.photoshop_edit_wire import V2EditRequest, hosted_validity, v2_edit_task
from lampyris.api.photoshop_pie_wire import auto_crop_status
from lampyris.api.photoshop_wire import (
    RemoveBackgroundRequest,
    SenseiRequest,
    sensei_status,
    sensei_task,
    v2_status,
    v2_task,
)
from lampyris.api.services import Services, services
from lampyris.jobs import JobRecord, Task
from lampyris.jobs.record import new_job_id

router = APIRouter(tags=["Photoshop"])


async def _sensei(request: Request, body: SenseiRequest, who: Principal, svc: Services,
                  mode: Literal["cutout", "mask"]) -> JSONResponse:
    task = sensei_task(body, mode)
    job = await run_in_threadpool(
        submit, svc, who, "sensei", task, body.model_dump(mode="json", exclude_none=True)
    )
    href = f"{svc.base_url(request)}/sensei/status/{job.id}"
    return JSONResponse({"_links": {"self": {"href": href}}}, status_code=202)


@router.post("/sensei/cutout", status_code=202, responses=ACCEPTED,
             summary="Remove background (v1): cutout PNG to your storage")
async def sensei_cutout(
    request: Request, body: SenseiRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    return await _sensei(request, body, who, svc, "cutout")


@router.post("/sensei/mask", status_code=202, responses=ACCEPTED,
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
    job = own_job(svc, who, job_id, "sensei")
    href = f"{svc.base_url(request)}/sensei/status/{job.id}"
    return JSONResponse(sensei_status(job, href))


@router.post("/v2/remove-background", status_code=202, responses=ACCEPTED,
             summary="Remove background (v2): the result is hosted here, by URL")
async def remove_background(
    request: Request, body: RemoveBackgroundRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    job_id = new_job_id()
    task = await run_in_threadpool(v2_task, body, job_id,
                                   upload_resolver(svc, who))  # uploads: db
    job = await run_in_threadpool(
        submit, svc, who, "v2", task, body.model_dump(mode="json", exclude_none=True), job_id
    )
    status_url = f"{svc.base_url(request)}/v2/status/{job.id}"
    return JSONResponse({"jobId": job.id, "statusUrl": status_url}, status_code=202)


@router.post("/v2/edit", status_code=202, responses=ACCEPTED,
             summary="Edit (v2): Lightroom settings, auto tone, straighten, presets, XMP")
async def edit(
    request: Request, body: V2EditRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    job_id = new_job_id()
    task = await run_in_threadpool(v2_edit_task, body, job_id,
                                   upload_resolver(svc, who))  # uploads: db
    job = await run_in_threadpool(
        submit, svc, who, "v2", task, body.model_dump(mode="json", exclude_none=True), job_id
    )
    status_url = f"{svc.base_url(request)}/v2/status/{job.id}"
    return JSONResponse({"jobId": job.id, "statusUrl": status_url}, status_code=202)


@router.get("/v2/status/{job_id}", summary="Status of a v2 remove-background or edit job")
def v2_job_status(
    job_id: str, request: Request,
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    job = own_job(svc, who, job_id, "v2")
    if job.op == "auto_crop":  # /v1/auto-crop (api/photoshop_pie.py): Adobe's AutoCropOutput
        return JSONResponse(auto_crop_status(job, _output_urls(svc, request, job)))
    return JSONResponse(v2_status(job, _output_urls(svc, request, job)))


def _output_urls(svc: Services, request: Request, job: JobRecord) -> list[str]:
    """Hosted results by a freshly signed URL; results in the caller's storage by its URL; in
    the order of the request's outputs."""
    targets = Task.model_validate(job.task).all_targets()
    urls = []
    for number, out in enumerate(job.outcome().outputs):
        destination = targets[number % len(targets)].output
        if out.key:
            urls.append(svc.file_url(request, out.key, hosted_validity(job.request, number)))
        elif destination is not None:
            urls.append(destination.href)
    return urls
