"""Photoshop's ``/pie/psdService`` catalog routes: product crop, renditions, depth blur; and
Photoshop v2's ``/v1/auto-crop`` (subject crops per aspect ratio), a ``v2`` job that
``/v2/status`` reports.

A submit validates the body, turns it into one task (one input, every output), commits the
job and answers 202 with ``_links.self.href``; Adobe's SDK polls
``/pie/psdService/status/{last path segment}``, which answers 200 as Adobe's spec says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lampyris.api.auth import Principal, principal
from lampyris.api.firefly import upload_resolver
from lampyris.api.firefly_wire import Resolve
from lampyris.api.jobs_common import ACCEPTED, own_job, submit
from lampyris.api.photoshop_pie_wire import (
    AutoCropRequest,
    DepthBlurRequest,
    PieRequest,
    ProductCropRequest,
    RenditionRequest,
    auto_crop_task,
    depth_blur_task,
    pie_status,
    product_crop_task,
    rendition_task,
)
from lampyris.api.services import Services, services
from lampyris.jobs import Task
from lampyris.jobs.record import new_job_id

router = APIRouter(tags=["Photoshop"])

KIND = "pie"
BASE = "/pie/psdService"
RequestBody = TypeVar("RequestBody", bound=PieRequest)
Build = Callable[[RequestBody, str, Resolve | None], Task]


async def _accept(request: Request, body: RequestBody, build: Build[RequestBody],
                  who: Principal, svc: Services) -> JSONResponse:
    job_id = new_job_id()
    task = await run_in_threadpool(build, body, job_id, upload_resolver(svc, who))  # uploads: db
    record = body.model_dump(mode="json", exclude_none=True)
    job = await run_in_threadpool(submit, svc, who, KIND, task, record, job_id)
    href = f"{svc.base_url(request)}{BASE}/status/{job.id}"
    return JSONResponse({"_links": {"self": {"href": href}}}, status_code=202)


@router.post(f"{BASE}/productCrop", status_code=202, responses=ACCEPTED,
             summary="Product crop: the photo cropped to its subject plus padding")
async def product_crop(
    request: Request, body: ProductCropRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    return await _accept(request, body, product_crop_task, who, svc)


@router.post(f"{BASE}/renditionCreate", status_code=202, responses=ACCEPTED,
             summary="Renditions of a raster image: many widths and formats in one job")
async def rendition_create(
    request: Request, body: RenditionRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    return await _accept(request, body, rendition_task, who, svc)


@router.post(f"{BASE}/depthBlur", status_code=202, responses=ACCEPTED,
             summary="Depth blur: the subject sharp, the background blurred (no depth model)")
async def depth_blur(
    request: Request, body: DepthBlurRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    return await _accept(request, body, depth_blur_task, who, svc)


@router.get(f"{BASE}/status/{{job_id}}", summary="Status of a psdService job")
def status(
    job_id: str, request: Request,
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    job = own_job(svc, who, job_id, KIND)
    href = f"{svc.base_url(request)}{BASE}/status/{job.id}"
    hosted = ({index: svc.file_url(request, out.key)
               for index, out in enumerate(job.outcome().outputs) if out.key}
              if job.state == "succeeded" else {})
    return JSONResponse(pie_status(job, href, hosted))


@router.post("/v1/auto-crop", status_code=202, responses=ACCEPTED,
             summary="Auto crop (v2): subject crops per aspect ratio; status at /v2/status")
async def auto_crop(
    request: Request, body: AutoCropRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    job_id = new_job_id()
    task = await run_in_threadpool(auto_crop_task, body, job_id, upload_resolver(svc, who))
    job = await run_in_threadpool(
        submit, svc, who, "v2", task, body.model_dump(mode="json", exclude_none=True), job_id
    )
    status_url = f"{svc.base_url(request)}/v2/status/{job.id}"
    return JSONResponse({"jobId": job.id, "statusUrl": status_url}, status_code=202)
