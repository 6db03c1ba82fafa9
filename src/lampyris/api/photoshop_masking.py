"""Photoshop's masking v1 routes on our engines: ``/v1/refine-mask`` (the matte refinement),
``/v1/fill-masked-areas`` (the fill engines, through the fidelity guard) and
``/v1/status/{jobId}``.

A submit validates the body, checks the op's parameters, commits the job and answers 202
``{jobId, statusUrl}`` (and ``_links.self.href``, the older Photoshop shape, for scripts that
read that); results are hosted here and linked from the status by signed URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lampyris.api.auth import Principal, principal
from lampyris.api.firefly import upload_resolver
from lampyris.api.firefly_wire import Resolve
from lampyris.api.jobs_common import ACCEPTED, own_job, submit
from lampyris.api.photoshop_masking_wire import (
    KIND,
    FillMaskedAreasRequest,
    RefineMaskRequest,
    fill_masked_areas_task,
    masking_status,
    refine_mask_task,
)
from lampyris.api.services import Services, services
from lampyris.api.wire_common import Wire
from lampyris.jobs import Task
from lampyris.jobs.record import new_job_id

router = APIRouter(tags=["Photoshop masking"])

STATUS_PATH = "/v1/status"


async def _accept(request: Request, svc: Services, who: Principal, body: Wire,
                  build: Callable[[Any, str, Resolve | None], Task]) -> JSONResponse:
    job_id = new_job_id()
    task = await run_in_threadpool(build, body, job_id, upload_resolver(svc, who))  # uploads: db
    job = await run_in_threadpool(
        submit, svc, who, KIND, task, body.model_dump(mode="json", exclude_none=True), job_id
    )
    status_url = f"{svc.base_url(request)}{STATUS_PATH}/{job.id}"
    return JSONResponse({"jobId": job.id, "statusUrl": status_url,
                         "_links": {"self": {"href": status_url}}}, status_code=202)


@router.post("/v1/refine-mask", status_code=202, responses=ACCEPTED,
             summary="Refine mask: a rough mask made to follow the photo's edges")
async def refine_mask(
    request: Request, body: RefineMaskRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    return await _accept(request, svc, who, body, refine_mask_task)


@router.post("/v1/fill-masked-areas", status_code=202, responses=ACCEPTED,
             summary="Fill masked areas: remove what the masks mark, fill it from around")
async def fill_masked_areas(
    request: Request, body: FillMaskedAreasRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    return await _accept(request, svc, who, body, fill_masked_areas_task)


@router.get(f"{STATUS_PATH}/{{job_id}}", summary="Status of a refine-mask or fill job")
def masking_job_status(
    job_id: str, request: Request,
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    job = own_job(svc, who, job_id, KIND)
    urls = [svc.file_url(request, out.key) for out in job.outcome().outputs if out.key]
    return JSONResponse(masking_status(job, urls))
