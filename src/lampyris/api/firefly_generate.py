"""Firefly's ``generateImages`` and ``generateSimilarImages``: ``/v3/images/generate(-async)``
and ``/v3/images/generate-similar(-async)``.

They run on the text-to-image weights the operator configured
(``LAMPYRIS_DIFFUSION_TEXT_TO_IMAGE_MODEL``, ``imaging.fill.text_to_image``); without them, or
without the ``diffusion`` extra, every call answers 501 ``not_implemented`` at once, naming the
setting, rather than accepting a job that can only fail. The jobs are Firefly jobs like fill's:
``/v3/status`` and ``/v3/cancel`` serve them, and the synchronous routes wait for them.
Bodies are JSON or multipart (``api.firefly_bodies``), as for fill.

A text-to-image job has no input of its own, and every job reads one: it gets a 1x1 canvas,
stored beside its results, which the ``generate`` op paints over at the requested size.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from lampyris.api.auth import Principal, principal
from lampyris.api.errors import ApiError
from lampyris.api.firefly import KIND, accepted, file_urls, finished_job, upload_resolver
from lampyris.api.firefly_bodies import firefly_body
from lampyris.api.firefly_wire import (
    DEFAULT_CANVAS,
    BinaryInput,
    Style,
    Variations,
    new_firefly_job_id,
    output_type,
    result_body,
)
from lampyris.api.jobs_common import ACCEPTED, submit
from lampyris.api.services import Services, services
from lampyris.api.wire_common import Wire
from lampyris.imaging.encode import encode
from lampyris.imaging.fill.text_to_image import unavailable
from lampyris.jobs import JobRecord, Task
from lampyris.storage import StorageRef

router = APIRouter(tags=["Firefly"])

CANVAS = "canvas.png"


class _Variations(Variations):
    """What both generate requests share beyond Firefly's common fields: ``tileable``."""

    tileable: bool | None = None  # the SDK's field: accepted, not honoured (compatibility.md)

    def pair(self) -> tuple[int, int]:
        return self.size.pair() if self.size is not None else DEFAULT_CANVAS


class StructureReference(Wire):
    """``StructureReferenceV3``: accepted and bounded, not honoured."""

    strength: int | None = Field(default=None, ge=0, le=100)
    imageReference: dict[str, Any] | None = None


class GenerateRequest(_Variations):
    """``GenerateImagesRequestV3``. ``style``, ``structure``, ``visualIntensity`` and the
    locale are accepted and not honoured (compatibility.md)."""

    prompt: str = Field(min_length=1, max_length=1024)
    negativePrompt: str | None = Field(default=None, max_length=1024)
    contentClass: Literal["photo", "art"] | None = None
    style: Style | None = None
    structure: StructureReference | None = None
    visualIntensity: int | None = Field(default=None, ge=2, le=10)
    promptBiasingLocaleCode: str | None = Field(default=None, max_length=64)


class ReferenceImage(Wire):
    source: BinaryInput


class GenerateSimilarRequest(_Variations):
    """``GenerateSimilarImagesRequestV3``: variations of ``image``."""

    image: ReferenceImage


@functools.cache
def _canvas() -> bytes:
    return encode(np.full((1, 1, 3), 255, np.uint8), "png")


def _generate_task(body: GenerateRequest, svc: Services, job_id: str) -> Task:
    key = f"results/{job_id}/{CANVAS}"
    svc.objects.put(key, _canvas(), "image/png")
    params: dict[str, Any] = {"prompt": body.prompt, "size": body.pair()}
    if body.negativePrompt:
        params["negative_prompt"] = body.negativePrompt
    if body.contentClass is not None:
        params["content_class"] = body.contentClass
    return _task("generate", body, StorageRef(key, "hosted"), params, job_id)


def _similar_task(body: GenerateSimilarRequest, svc: Services, who: Principal,
                  job_id: str) -> Task:
    reference = upload_resolver(svc, who)(body.image.source, "image.source")
    return _task("generate_similar", body, reference, {"size": body.pair()}, job_id)


def _task(op: str, body: _Variations, source: StorageRef, params: dict[str, Any],
          job_id: str) -> Task:
    media_type, quality = output_type(body)
    return Task(op=op, input=source, params=params, hosted_prefix=f"results/{job_id}/",
                seeds=body.seed_list(), media_type=media_type, quality=quality)


async def _require_model(who: Principal = Depends(principal)) -> None:
    """The routes' first dependency (after authentication): without a model every request
    is a 501, whatever its body, and a multipart body's files are not stored."""
    reason = await run_in_threadpool(unavailable)
    if reason is not None:
        raise ApiError(501, "not_implemented", reason, family="firefly")


Ready = Annotated[None, Depends(_require_model)]
GenerateBody = Annotated[GenerateRequest, Depends(firefly_body(GenerateRequest))]
SimilarBody = Annotated[GenerateSimilarRequest, Depends(firefly_body(GenerateSimilarRequest))]


async def _start(body: GenerateRequest | GenerateSimilarRequest, who: Principal,
                 svc: Services) -> JobRecord:
    job_id = new_firefly_job_id()

    def create() -> JobRecord:
        try:
            task = (_generate_task(body, svc, job_id) if isinstance(body, GenerateRequest)
                    else _similar_task(body, svc, who, job_id))
            record = body.model_dump(mode="json", exclude_none=True)
            return submit(svc, who, KIND, task, record, job_id)
        except BaseException:  # no job: its blank canvas goes too
            if isinstance(body, GenerateRequest):
                with contextlib.suppress(Exception):
                    svc.objects.delete(f"results/{job_id}/{CANVAS}")
            raise

    return await run_in_threadpool(create)


def prompt_flags(request: dict[str, Any]) -> dict[str, Any]:
    """What a generate result adds to the outputs: the content class used and the prompt
    checks Firefly reports (lampyris blocks no words or artists)."""
    return {"contentClass": request.get("contentClass") or "photo",
            "promptHasDeniedWords": False, "promptHasBlockedArtists": False}


@router.post("/v3/images/generate-async", status_code=202, responses=ACCEPTED,
             summary="Images from a prompt (async job; needs a text-to-image model)")
async def generate_async(request: Request, ready: Ready, body: GenerateBody,
                         who: Principal = Depends(principal),
                         svc: Services = Depends(services)) -> JSONResponse:
    return accepted(request, svc, await _start(body, who, svc))


@router.post("/v3/images/generate-similar-async", status_code=202, responses=ACCEPTED,
             summary="Variations of a reference image (async job; needs a text-to-image model)")
async def generate_similar_async(request: Request, ready: Ready, body: SimilarBody,
                                 who: Principal = Depends(principal),
                                 svc: Services = Depends(services)) -> JSONResponse:
    return accepted(request, svc, await _start(body, who, svc))


@router.post("/v3/images/generate", summary="Images from a prompt, waiting for the result")
async def generate_sync(request: Request, ready: Ready, body: GenerateBody,
                        who: Principal = Depends(principal),
                        svc: Services = Depends(services)) -> JSONResponse:
    job = await finished_job(svc, await _start(body, who, svc))
    return JSONResponse(result_body(job, file_urls(request, svc)) | prompt_flags(job.request))


@router.post("/v3/images/generate-similar",
             summary="Variations of a reference image, waiting for the result")
async def generate_similar_sync(request: Request, ready: Ready, body: SimilarBody,
                                who: Principal = Depends(principal),
                                svc: Services = Depends(services)) -> JSONResponse:
    job = await finished_job(svc, await _start(body, who, svc))
    return JSONResponse(result_body(job, file_urls(request, svc)))
