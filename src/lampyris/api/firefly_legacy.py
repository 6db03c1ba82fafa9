"""Firefly's first image API, ``POST /v1/images/fill`` and ``/v1/images/expand`` (Adobe's
2024 ``firefly-api-docs`` specs), as aliases of today's fill and expand: the same engines, the
same job, waited for like the v3 synchronous routes, answered in the v1 shapes.

v1 takes images by upload id only (``{"id": …}`` from ``/v2/storage/image``), ``n`` for the
number of variations, Adobe's v1 sizes (1024..1792 wide, 1024..1408 high; required by fill,
1024x1024 by default for expand) and the output type in the ``x-accept-mimetype`` header
(JPEG by default, PNG or WebP). It answers ``{size, images: [{seed, image: {id,
presignedUrl}}], …}``; errors are v1's ``{error_code, message}``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import Field, ValidationError, model_validator

from lampyris import __version__
from lampyris.api.auth import Principal, principal
from lampyris.api.errors import ApiError
from lampyris.api.firefly import file_urls, finished_job, start_job
from lampyris.api.firefly_wire import (
    JPEG_QUALITY,
    BinaryInput,
    ExpandRequest,
    FillRequest,
    GenerativeRequest,
    InputImage,
    InputMask,
    Resolve,
    Size,
    expand_task,
    fill_task,
)
from lampyris.api.services import Services, services
from lampyris.api.wire_common import Wire
from lampyris.imaging.fill.engines import EngineChoice
from lampyris.jobs import JobRecord, Task

router = APIRouter(tags=["Firefly v1 (legacy)"])

ACCEPT_TYPES = ("image/jpeg", "image/png", "image/webp")
V1_DEFAULT_SIZE = {"width": 1024, "height": 1024}  # ImageSize's defaults
Legacy = TypeVar("Legacy", bound="LegacyRequest")


class StorageId(Wire):
    """``StorageImage`` / ``ImageFillMask``: an upload's id."""

    id: str = Field(min_length=1, max_length=64)


class LegacySize(Wire):
    """v1's ``ImageSize``: 1024x1024, 1408x1024, 1024x1408 or 1792x1024 in Adobe's list."""

    width: int = Field(ge=1024, le=1792)
    height: int = Field(ge=1024, le=1408)


class LegacyRequest(Wire):
    prompt: str | None = Field(default=None, min_length=1, max_length=1024)
    n: int | None = Field(default=None, ge=1, le=4)
    seeds: list[int] | None = Field(default=None, min_length=1, max_length=4)
    image: StorageId

    @model_validator(mode="after")
    def _counts(self) -> LegacyRequest:
        if self.seeds is not None and self.n is not None and self.n != len(self.seeds):
            raise ValueError("n must equal the number of seeds")
        return self

    def common(self) -> dict[str, Any]:
        """The v3 request's fields this body gives."""
        out: dict[str, Any] = {"image": InputImage(source=BinaryInput(uploadId=self.image.id))}
        if self.prompt is not None:
            out["prompt"] = self.prompt
        if self.seeds is not None:
            out["seeds"] = self.seeds
        elif self.n is not None:
            out["numVariations"] = self.n
        return out


class LegacyFillRequest(LegacyRequest):
    size: LegacySize
    mask: StorageId

    def v3(self) -> FillRequest:
        return FillRequest(**self.common(), size=Size(**self.size.model_dump()),
                           mask=InputMask(source=BinaryInput(uploadId=self.mask.id)))


class LegacyExpandRequest(LegacyRequest):
    size: LegacySize = Field(default_factory=lambda: LegacySize(**V1_DEFAULT_SIZE))

    def v3(self) -> ExpandRequest:
        return ExpandRequest(**self.common(), size=Size(**self.size.model_dump()))


# The v3 field a refusal names → the v1 field the client sent.
_FIELDS = {"image.source.uploadId": "image.id", "mask.source.uploadId": "mask.id",
           "mask.source": "mask.id"}


def _v1_error(err: ApiError) -> ApiError:
    """A v3 refusal in v1's words: its field as v1 names it, ``{error_code, message}``."""
    message = err.message
    for v3, v1 in _FIELDS.items():
        if message.startswith(f"{v3}:"):
            message = f"{v1}:{message[len(v3) + 1:]}"
            break
    return ApiError(err.status, err.code, message, headers=err.headers, family="gateway")


def _body(model: type[Legacy]) -> Callable[..., Awaitable[Legacy]]:
    async def read(request: Request, who: Principal = Depends(principal)) -> Legacy:
        try:
            return model.model_validate(json.loads(await request.body() or b"null"))
        except ValueError as exc:  # invalid JSON, or a field refused (ValidationError)
            if isinstance(exc, ValidationError):
                where = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                                  for e in exc.errors(include_url=False))
                message = f"request validation failed: {where}"
            else:
                message = "the request body is not valid JSON: send a JSON object"
            raise ApiError(400, "validation_error", message, family="gateway") from None

    return read


def _accept(request: Request) -> tuple[str, int | None]:
    kind = request.headers.get("x-accept-mimetype", "image/jpeg").split(";")[0].strip().lower()
    if kind not in ACCEPT_TYPES:
        raise ApiError(400, "validation_error", f"x-accept-mimetype must be one of "
                       f"{', '.join(ACCEPT_TYPES)}, not {kind!r}", family="gateway")
    return kind, (JPEG_QUALITY if kind != "image/png" else None)


def _as(build: Callable[..., Task], output: tuple[str, int | None]
        ) -> Callable[[Any, Resolve, str, EngineChoice], Task]:
    def make(body: Any, resolve: Resolve, job_id: str, engine: EngineChoice) -> Task:
        task = build(body, resolve, job_id, engine)
        return task.model_copy(update={"media_type": output[0], "quality": output[1]})

    return make


def _answer(request: Request, svc: Services, job: JobRecord,
            body: LegacyRequest) -> JSONResponse:
    outputs = job.outcome().outputs
    url = file_urls(request, svc)
    bare = job.id.rsplit(":", 1)[-1]
    answer: dict[str, Any] = {
        "pipelineVersion": f"lampyris-{__version__}",
        "size": {"width": outputs[0].width, "height": outputs[0].height},
        "images": [{"seed": o.seed, "image": {"id": f"{bare}-{i + 1}",
                                              "presignedUrl": url(o.key or "")}}
                   for i, o in enumerate(outputs)],
        "promptHasDeniedWords": False,
        "promptHasBlockedArtist": False,
    }
    if body.prompt is not None:
        answer["prompt"] = body.prompt
    return JSONResponse(answer)


async def _run(request: Request, body: LegacyRequest, v3: GenerativeRequest,
               build: Callable[..., Task], who: Principal, svc: Services,
               check_mask: bool = False) -> JSONResponse:
    try:
        job = await start_job(v3, _as(build, _accept(request)), who, svc, check_mask)
        return _answer(request, svc, await finished_job(svc, job), body)
    except ApiError as err:
        raise _v1_error(err) from None


@router.post("/v1/images/fill", summary="Generative fill, Firefly v1 (legacy): waits for "
                                        "the result")
async def fill_v1(request: Request,
                  body: LegacyFillRequest = Depends(_body(LegacyFillRequest)),
                  who: Principal = Depends(principal),
                  svc: Services = Depends(services)) -> JSONResponse:
    return await _run(request, body, body.v3(), fill_task, who, svc, check_mask=True)


@router.post("/v1/images/expand", summary="Generative expand, Firefly v1 (legacy): waits "
                                          "for the result")
async def expand_v1(request: Request,
                    body: LegacyExpandRequest = Depends(_body(LegacyExpandRequest)),
                    who: Principal = Depends(principal),
                    svc: Services = Depends(services)) -> JSONResponse:
    return await _run(request, body, body.v3(), expand_task, who, svc)
