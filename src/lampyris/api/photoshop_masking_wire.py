"""Photoshop's masking v1 wire (``/v1/refine-mask``, ``/v1/fill-masked-areas``,
``/v1/status/{jobId}``): request models, their tasks, and the status bodies.

Sources are Adobe's ``{source: {url}}`` (or, as on ``/v2/remove-background``, our
``{source: {uploadId}}``); results are hosted here and linked by signed URL, as Adobe hosts
them. ``lampyris`` is our optional extension (refine-mask's ``radius``; the fill's engine,
prompt, seed and format). What differs from Adobe is in ``docs/compatibility.md``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from lampyris.api.callbacks import CallbackExtension
from lampyris.api.errors import describe_failure
from lampyris.api.firefly_wire import Resolve
from lampyris.api.photoshop_wire import SourceImage
from lampyris.api.wire_common import Wire
from lampyris.imaging.fill.engines import EngineChoice
from lampyris.jobs import JobRecord, Task
from lampyris.ops.fill_masked_areas import MASK_NAMES, MAX_MASKS

KIND = "masking"
"""The job kind of both routes: ``/v1/status`` shows these jobs and no others."""

_STATES = {"pending": "not_started", "running": "running", "cancel_pending": "running",
           "succeeded": "succeeded"}


class RefineExtensions(CallbackExtension):
    """lampyris-only: how far (px) the rough mask's edge may be from the true one."""

    radius: int | None = Field(default=None, ge=1, le=1024)


class RefineMaskRequest(Wire):
    """Body of ``POST /v1/refine-mask``."""

    image: SourceImage
    mask: SourceImage
    colorDecontamination: bool = False
    lampyris: RefineExtensions | None = None


class FillExtensions(CallbackExtension):
    """lampyris-only: the fill engine (``patch`` by default: the masks mark objects to
    remove), a prompt and seed for the engines that draw, and the output format (by default
    the input's: a JPEG stays JPEG, a PNG stays PNG with the kept pixels exact)."""

    engine: EngineChoice | None = None
    prompt: str | None = Field(default=None, max_length=1024)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    mediaType: Literal["image/png", "image/jpeg"] | None = None


class FillMaskedAreasRequest(Wire):
    """Body of ``POST /v1/fill-masked-areas``: every mask's white is removed and filled."""

    image: SourceImage
    masks: list[SourceImage] = Field(min_length=1, max_length=MAX_MASKS)
    lampyris: FillExtensions | None = None


def refine_mask_task(body: RefineMaskRequest, job_id: str, resolve: Resolve | None) -> Task:
    params: dict[str, Any] = {"decontaminate": body.colorDecontamination}
    if body.lampyris is not None and body.lampyris.radius is not None:
        params["radius"] = body.lampyris.radius
    return Task(
        op="refine_mask", params=params, input=body.image.source.ref("image.source", resolve),
        images={"mask": body.mask.source.ref("mask.source", resolve)},
        hosted_prefix=f"results/{job_id}/", media_type="image/png",
    )


def fill_masked_areas_task(body: FillMaskedAreasRequest, job_id: str,
                           resolve: Resolve | None) -> Task:
    ext = body.lampyris or FillExtensions()
    params: dict[str, Any] = {"engine": ext.engine or "patch"}
    if ext.prompt:
        params["prompt"] = ext.prompt
    if ext.seed is not None:
        params["seed"] = ext.seed
    images = {name: mask.source.ref(f"masks.{index}.source", resolve)
              for index, (name, mask) in enumerate(zip(MASK_NAMES, body.masks, strict=False))}
    return Task(
        op="fill_masked_areas", params=params,
        input=body.image.source.ref("image.source", resolve), images=images,
        hosted_prefix=f"results/{job_id}/",
        # None: the input's format (JPEG or WebP kept, anything else PNG)
        media_type=ext.mediaType or None,
    )


_REPORTED = ("radius", "engine", "fidelity", "masks", "filled_share", "review")


def masking_status(job: JobRecord, output_urls: list[str]) -> dict[str, Any]:
    """Adobe's ``JobStatus*`` for either op. A refined mask is ``mask`` (``image`` with
    colour decontamination), with its ``boundingBox``; a fill is ``image``. Each result also
    carries a ``lampyris`` object (its size, what the op reported), which clients ignore."""
    body: dict[str, Any] = {"jobId": job.id, "status": _STATES.get(job.state, "failed")}
    if job.state == "succeeded":
        result = job.outcome()
        out, url = result.outputs[0], output_urls[0]
        report = {k: result.metadata[k] for k in _REPORTED if k in result.metadata}
        entry: dict[str, Any] = {
            "destination": {"url": url}, "mediaType": out.mediaType,
            "lampyris": {"width": out.width, "height": out.height, **report},
        }
        if job.op == "refine_mask":
            entry["boundingBox"] = result.metadata["bounding_box"]
            decontaminated = Task.model_validate(job.task).params.get("decontaminate", False)
            body["image" if decontaminated else "mask"] = entry
        else:
            body["image"] = entry
    elif job.state not in _STATES:
        failure = describe_failure(job.error or {})
        body["error_code"] = failure.code
        body["message"] = failure.message
    return body
