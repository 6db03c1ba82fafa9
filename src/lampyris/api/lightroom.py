"""Lightroom's develop routes (``/lrService/*``): auto tone, auto straighten, presets, edit, XMP.

Every submit validates the body, turns it into a develop task, commits the job and answers
202 with ``_links.self.href``; Adobe's SDKs poll ``/lrService/status/{last path segment}``.
The status answers **202**, as all of Adobe's Lightroom documents say: both SDKs accept any
2xx, and a client written against Adobe's service expects Adobe's code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lampyris.api.auth import Principal, principal
from lampyris.api.jobs_common import ACCEPTED, own_job, submit
from lampyris.api.lightroom_wire import (
    AutoStraightenRequest,
    AutoToneRequest,
    EditRequest,
    LrRequest,
    PresetsRequest,
    XmpRequest,
    auto_straighten_task,
    auto_tone_task,
    edit_task,
    lr_status,
    presets_task,
    request_record,
    xmp_task,
)
from lampyris.api.services import Services, services
from lampyris.jobs import Task

router = APIRouter(tags=["Lightroom"])

KIND = "lightroom"
RequestBody = TypeVar("RequestBody", bound=LrRequest)


async def _accept(request: Request, body: RequestBody, build: Callable[[RequestBody], Task],
                  who: Principal, svc: Services) -> JSONResponse:
    task = build(body)
    job = await run_in_threadpool(submit, svc, who, KIND, task, request_record(body))
    href = f"{svc.base_url(request)}/lrService/status/{job.id}"
    return JSONResponse({"_links": {"self": {"href": href}}}, status_code=202)


@router.post("/lrService/autoTone", status_code=202, responses=ACCEPTED,
             summary="Auto tone: exposure, contrast, white balance… chosen from the image")
async def auto_tone(
    request: Request, body: AutoToneRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    return await _accept(request, body, auto_tone_task, who, svc)


@router.post("/lrService/autoStraighten", status_code=202, responses=ACCEPTED,
             summary="Auto straighten (Upright): level the horizon or the verticals")
async def auto_straighten(
    request: Request, body: AutoStraightenRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    return await _accept(request, body, auto_straighten_task, who, svc)


@router.post("/lrService/presets", status_code=202, responses=ACCEPTED,
             summary="Apply XMP presets (up to 10 files, in order)")
async def presets(
    request: Request, body: PresetsRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    return await _accept(request, body, presets_task, who, svc)


@router.post("/lrService/edit", status_code=202, responses=ACCEPTED,
             summary="Apply Lightroom settings (Exposure, Contrast, …)")
async def edit(
    request: Request, body: EditRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    return await _accept(request, body, edit_task, who, svc)


@router.post("/lrService/xmp", status_code=202, responses=ACCEPTED,
             summary="Apply a preset given inline as XMP")
async def xmp(
    request: Request, body: XmpRequest = Body(...),
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    return await _accept(request, body, xmp_task, who, svc)


_STATUS: dict[int | str, dict[str, Any]] = {202: {"description": "Job status"}}


@router.get("/lrService/status/{job_id}", status_code=202, responses=_STATUS,
            summary="Status of a Lightroom job (answered with 202, as Adobe documents)")
def status(
    job_id: str, request: Request,
    who: Principal = Depends(principal), svc: Services = Depends(services),
) -> JSONResponse:
    job = own_job(svc, who, job_id, KIND)
    href = f"{svc.base_url(request)}/lrService/status/{job.id}"
    return JSONResponse(lr_status(job, href), status_code=202)
