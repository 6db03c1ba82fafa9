"""Photoshop's ``/pie/psdService`` wire for the catalog operations lampyris serves: product crop
(``applyAutoCrop``), renditions (``createRendition``) and depth blur (``applyDepthBlur``):
request models, their translation to tasks, and the job status; and Photoshop v2's
``/v1/auto-crop`` (subject crops per aspect ratio), whose status is ``/v2/status``.

Decisions where Adobe's contract leaves room (also in ``docs/compatibility.md``):

* One input, as Adobe's spec says ("Only one input object is currently supported"); up to 25
  outputs, each its own format, destination and (renditions) width, all from one job that
  decodes the input once and runs the op once.
* ``quality`` is Photoshop's 1..7 JPEG scale (7 highest; larger values count as 7), mapped
  onto the encoder's through ``wire_common.jpeg_quality``; ``compression`` ``small`` /
  ``medium`` / ``large`` is the PNG file size asked for (zlib 9 / 6 / 1).
* lampyris' own, so a batch can send a local file or an earlier step's result and read the
  result back without storage of its own: an input may be ``{uploadId}`` (from
  ``/v2/storage/image``, the caller's own) instead of ``{href, storage}``, and an output
  without ``href`` and ``storage`` is hosted here, its signed URL the rendition's ``href`` in
  the status (as v2 hosts its results). Adobe's bodies read exactly as before.
* A PSD output is a one-layer document of the result (``imaging.psd``); ``image/tiff``
  outputs, PSD inputs, ``layers`` and ``iccProfile`` are refused with a 400 (a PSD input:
  the job fails) naming what to send instead; ``overwrite`` and ``trimToCanvas`` are accepted and
  ignored (a pre-signed PUT always overwrites; a raster input has only its canvas).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from lampyris.api.callbacks import CallbackExtension
from lampyris.api.errors import ApiError, describe_failure
from lampyris.api.firefly_wire import BinaryInput, Resolve
from lampyris.api.photoshop_wire import UrlSource, v2_status
from lampyris.api.wire_common import (
    StorageName,
    Wire,
    jpeg_quality,
    timestamp,
    visible_state,
)
from lampyris.jobs import JobRecord, Task
from lampyris.jobs.payloads import TaskTarget
from lampyris.storage import StorageRef

ImageFormat = Literal["image/vnd.adobe.photoshop", "image/jpeg", "image/png", "image/tiff",
                      "vnd.adobe.photoshop"]
PSD_TYPES: tuple[str, ...] = ("image/vnd.adobe.photoshop", "vnd.adobe.photoshop")
WRITTEN: tuple[str, ...] = ("image/jpeg", "image/png", *PSD_TYPES)
PNG_COMPRESSION = {"small": 9, "medium": 6, "large": 1}
MAX_OUTPUTS = 25


class PieInput(Wire):
    """Adobe's ``{href, storage}``, or lampyris' ``{uploadId}``: one of them."""

    href: str | None = Field(default=None, min_length=1, max_length=8192)
    storage: StorageName | None = None
    uploadId: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one(self) -> PieInput:
        if self.uploadId is None and (self.href is None or self.storage is None):
            raise ValueError("give href and storage (or, on lampyris, uploadId)")
        if self.uploadId is not None and (self.href is not None or self.storage is not None):
            raise ValueError("give href and storage, or uploadId, not both")
        return self


class PieOutput(Wire):
    """Adobe's ``ActionOutputDetails``; without ``href`` and ``storage`` (lampyris' own) the
    output is hosted here."""

    href: str | None = Field(default=None, min_length=1, max_length=8192)
    storage: StorageName | None = None
    type: ImageFormat
    overwrite: bool = True
    quality: int = Field(default=7, ge=1, le=12)
    compression: Literal["small", "medium", "large"] | None = None

    @model_validator(mode="after")
    def _both(self) -> PieOutput:
        if (self.href is None) != (self.storage is None):
            raise ValueError("give href and storage, or (on lampyris, to host it) neither")
        return self

    @property
    def hosted(self) -> bool:
        return self.href is None


class RenditionOutput(PieOutput):
    """Adobe's ``PsOutputDetails``: an output with a ``width`` (0: full size) and ``maxWidth``
    (caps the width asked for, or the image's)."""

    width: int = Field(default=0, ge=0, le=32768)
    maxWidth: int = Field(default=0, ge=0, le=32768)
    trimToCanvas: bool | None = None
    layers: list[dict[str, Any]] | None = None
    iccProfile: dict[str, Any] | None = None


class PieRequest(Wire):
    inputs: list[PieInput] = Field(min_length=1, max_length=1)
    outputs: list[PieOutput] = Field(min_length=1, max_length=MAX_OUTPUTS)
    lampyris: CallbackExtension | None = None


class CropOptions(Wire):
    """Adobe's ``CropOptions``: padding added to the subject's box, in total."""

    unit: Literal["Pixels", "Percent"] = "Pixels"
    width: int = Field(default=0, ge=0, le=100_000)
    height: int = Field(default=0, ge=0, le=100_000)


class ProductCropRequest(PieRequest):
    """Body of ``POST /pie/psdService/productCrop``; ``options`` left out is no padding."""

    options: CropOptions = Field(default_factory=CropOptions)


class RenditionRequest(PieRequest):
    """Body of ``POST /pie/psdService/renditionCreate``."""

    outputs: list[RenditionOutput] = Field(min_length=1, max_length=MAX_OUTPUTS)  # type: ignore[assignment]


class FocalSelector(Wire):
    x: float
    y: float


class DepthBlurOptions(Wire):
    """Adobe's ``DepthBlurDetails``, ranges and defaults as the spec gives them."""

    focalDistance: int = Field(default=0, ge=0, le=100)
    focalRange: int = Field(default=0, ge=0, le=100)
    focalSelector: FocalSelector | None = None
    focusSubject: bool = False
    blurStrength: int = Field(default=50, ge=0, le=100)
    haze: int = Field(default=0, ge=0, le=100)
    temp: int = Field(default=0, ge=-50, le=50)
    tint: int = Field(default=0, ge=-50, le=50)
    saturation: int = Field(default=0, ge=-50, le=50)
    brightness: int = Field(default=0, ge=-50, le=50)
    grain: int = Field(default=0, ge=0, le=100)


class DepthBlurRequest(PieRequest):
    """Body of ``POST /pie/psdService/depthBlur``."""

    options: DepthBlurOptions = Field(default_factory=DepthBlurOptions)


def _refuse(name: str, reason: str) -> ApiError:
    return ApiError(400, "validation_error", f"{name}: {reason}",
                    details=[{"name": name, "reason": reason}])


def _target(index: int, out: PieOutput) -> TaskTarget:
    """One output: its encoding and destination, refused now (400) when lampyris cannot write
    it, rather than as a failed job."""
    if out.type not in WRITTEN:
        raise _refuse(f"outputs.{index}.type",
                      f"{out.type} output is not supported by lampyris: use image/jpeg, "
                      "image/png or image/vnd.adobe.photoshop")
    extra: dict[str, Any] = {}
    if isinstance(out, RenditionOutput):
        if out.layers or out.iccProfile:
            field = "layers" if out.layers else "iccProfile"
            raise _refuse(f"outputs.{index}.{field}",
                          f"{field} applies to PSD documents, which lampyris does not read: "
                          "leave it out to render the whole image")
        extra = {"width": out.width, "max_width": out.maxWidth}
    jpeg = out.type == "image/jpeg"
    return TaskTarget(
        media_type=PSD_TYPES[0] if out.type in PSD_TYPES else out.type,
        output=None if out.href is None or out.storage is None
        else StorageRef(out.href, out.storage),
        quality=jpeg_quality(round(min(out.quality, 7) * 12 / 7)) if jpeg else None,
        png_compression=(PNG_COMPRESSION[out.compression]
                         if out.type == "image/png" and out.compression else None),
        **extra,
    )


def _task(op: str, body: PieRequest, params: dict[str, Any], job_id: str,
          resolve: Resolve | None) -> Task:
    source = body.inputs[0]
    if source.uploadId is not None:
        if resolve is None:
            raise _refuse("inputs.0.uploadId", "uploadId is not accepted here")
        ref = resolve(BinaryInput(uploadId=source.uploadId), "inputs.0")
    else:
        assert source.href is not None and source.storage is not None
        ref = StorageRef(source.href, source.storage)
    hosted = any(out.hosted for out in body.outputs)
    return Task(op=op, params=params, input=ref,
                targets=[_target(i, out) for i, out in enumerate(body.outputs)],
                hosted_prefix=f"results/{job_id}/" if hosted else None)


def product_crop_task(body: ProductCropRequest, job_id: str,
                      resolve: Resolve | None = None) -> Task:
    options = body.options
    return _task("product_crop", body, {"unit": options.unit.lower(), "width": options.width,
                                        "height": options.height}, job_id, resolve)


def rendition_task(body: RenditionRequest, job_id: str,
                   resolve: Resolve | None = None) -> Task:
    return _task("rendition", body, {}, job_id, resolve)


def depth_blur_task(body: DepthBlurRequest, job_id: str,
                    resolve: Resolve | None = None) -> Task:
    o = body.options
    params: dict[str, Any] = {
        "focal_distance": o.focalDistance, "focal_range": o.focalRange,
        "focus_subject": o.focusSubject, "blur_strength": o.blurStrength, "haze": o.haze,
        "temp": o.temp, "tint": o.tint, "saturation": o.saturation,
        "brightness": o.brightness, "grain": o.grain,
    }
    if o.focalSelector is not None:
        params["focal_selector"] = (o.focalSelector.x, o.focalSelector.y)
    return _task("depth_blur", body, params, job_id, resolve)


REPORTED = ("subject_box", "crop_box", "blur_sigma", "notices", "review")


def pie_status(job: JobRecord, status_url: str, hosted: dict[int, str] | None = None
               ) -> dict[str, Any]:
    """Adobe's ``PsJobApiResponse``: one entry for the one input, its renditions the outputs
    as requested (with ``width`` where one was asked for; a hosted output's ``href`` its
    signed URL from ``hosted``, by output index). A ``lampyris`` object of our own carries
    what the op reported (the subject's box, the crop's box, notices) and, on failure, the
    precise code; clients ignore it."""
    request_outputs = job.request.get("outputs", [])
    inputs = job.request.get("inputs") or [{}]
    hosted = hosted or {}
    entry: dict[str, Any] = {
        "input": inputs[0].get("href") or inputs[0].get("uploadId"),
        "status": visible_state(job),
        "created": timestamp(job.created), "modified": timestamp(job.modified),
        "_links": {"renditions": [_rendition_link(out, hosted.get(index))
                                  for index, out in enumerate(request_outputs)]},
    }
    if job.state == "succeeded":
        result = job.outcome()
        entry["lampyris"] = {k: result.metadata[k] for k in REPORTED if k in result.metadata}
        entry["lampyris"]["outputs"] = [{"width": o.width, "height": o.height,
                                         "mediaType": o.mediaType} for o in result.outputs]
    elif entry["status"] == "failed":
        failure = describe_failure(job.error or {})
        entry["errors"] = {
            "type": "InputValidationError" if failure.status < 500 else "JobError",
            "code": str(failure.status), "title": failure.message,
            "details": [{"name": failure.field or "job", "reason": failure.message}],
        }
        entry["lampyris"] = {"error": {"code": failure.code, "status": failure.status,
                                       "field": failure.field}}
    return {"jobId": job.id, "outputs": [entry], "_links": {"self": {"href": status_url}}}


def _rendition_link(out: dict[str, Any], hosted: str | None = None) -> dict[str, Any]:
    link = {"href": hosted or out.get("href"),
            "storage": "external" if hosted else out.get("storage"), "type": out.get("type")}
    if out.get("width"):
        link["width"] = out["width"]
    return link


# -- Photoshop v2's ``POST /v1/auto-crop`` (status at ``/v2/status/{jobId}``) -------------------

AspectRatio = Literal["1:1", "16:9", "9:16", "4:3", "3:4", "4:5", "5:4", "3:2", "2:3", "21:9"]
AutoCropMode = Literal["smartCrop", "subjectCrop", "fullSceneDetection", "objectDetection"]
CROPPING: tuple[str, ...] = ("smartCrop", "subjectCrop")
FOCUS_NOTICE = ("focus labels need an object detector, which lampyris does not have: the crop "
                "follows the most prominent subject the cutout matte finds")


class AutoCropImage(Wire):
    source: UrlSource
    mediaType: Literal["image/jpeg", "image/png", "image/webp"] | None = None


class AutoCropRequest(Wire):
    """Body of ``POST /v1/auto-crop`` (Photoshop v2's ``AutoCropRequest``)."""

    image: AutoCropImage
    mode: AutoCropMode
    aspectRatio: AspectRatio | list[AspectRatio] | None = None
    zoom: float | list[float] | None = None
    focus: list[str] | None = Field(default=None, max_length=20)
    outputType: Literal["images", "boundingBoxes"] = "images"
    lampyris: CallbackExtension | None = None

    def ratios(self) -> list[str]:
        """The aspect ratios asked for (an empty list is none), in order."""
        ratios = self.aspectRatio
        return [] if ratios is None else [ratios] if isinstance(ratios, str) else list(ratios)


def _invalid(field: str, reason: str) -> ApiError:
    return ApiError(400, "validation_error", f"{field}: {reason}",
                    details=[{"name": field, "reason": reason}])


def _zooms(body: AutoCropRequest, count: int) -> list[float] | None:
    """The zoom of each ratio, checked as Adobe's spec words it."""
    zoom = body.zoom
    if zoom is None:
        return None
    if not count:
        raise _invalid("zoom", "zoom must not be sent without aspectRatio")
    zooms = [zoom] if isinstance(zoom, int | float) else list(zoom)
    if isinstance(body.aspectRatio, list) and (isinstance(zoom, int | float)
                                               or len(zooms) != count):
        raise _invalid("zoom", f"with {count} aspect ratios, zoom is a list of {count} numbers")
    if not all(0 < z <= 1 for z in zooms):
        raise _invalid("zoom", "every zoom is a number in (0, 1]")
    return zooms


def auto_crop_task(body: AutoCropRequest, job_id: str, resolve: Resolve | None) -> Task:
    """A subject crop per aspect ratio (1:1 when none is given), each written as an image in
    the input's format unless only the boxes are asked for. ``objectDetection`` needs an
    object detector: 501."""
    if body.mode == "objectDetection":
        raise ApiError(501, "not_implemented",
                       "mode objectDetection needs an object detector, which lampyris does not "
                       "have: use subjectCrop, smartCrop or fullSceneDetection")
    ratios = body.ratios()
    if len(ratios) > 20:
        raise _invalid("aspectRatio", "at most 20 aspect ratios")
    if ratios and body.mode not in CROPPING:
        raise _invalid("aspectRatio", f"aspectRatio is for smartCrop and subjectCrop, not "
                       f"{body.mode}")
    if body.mode == "subjectCrop" and not body.focus:
        raise _invalid("focus", "subjectCrop needs focus labels")
    if body.mode in ("smartCrop", "fullSceneDetection") and body.focus:
        raise _invalid("focus", f"focus must be empty for {body.mode}")
    zooms = _zooms(body, len(ratios))
    cropping = body.mode in CROPPING
    pairs = [tuple(int(p) for p in r.split(":")) for r in ratios or ["1:1"]]
    if not cropping:
        pairs = [(1, 1)]  # the subject's box alone is reported
    params: dict[str, Any] = {"ratios": pairs}
    if zooms is not None:
        params["zooms"] = zooms
    images = cropping and body.outputType == "images"
    targets = [TaskTarget(media_type=body.image.mediaType, region=index)
               for index in range(len(pairs))] if images else []
    return Task(op="auto_crop", params=params,
                input=body.image.source.ref("image.source", resolve),
                hosted_prefix=f"results/{job_id}/" if images else None,  # None: nothing kept
                targets=targets)


def _box(box: list[int], url: str | None = None) -> dict[str, Any]:
    x0, y0, x1, y1 = box
    entry: dict[str, Any] = {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}
    if url is not None:
        entry["url"] = url
    return entry


def auto_crop_result(job: JobRecord, urls: list[str]) -> dict[str, Any]:
    """Adobe's ``AutoCropOutput``: the subject's box, no detected objects, and (in the
    cropping modes) one crop per aspect ratio with its image's URL when images were asked
    for. A ``lampyris`` object carries notices (focus labels not used)."""
    metadata = job.outcome().metadata
    request = job.request
    output: dict[str, Any] = {
        "subject": [{"boundingBoxes": [_box(metadata["subject_box"])]}], "objects": [],
        "crops": [],
    }
    if request.get("mode") in CROPPING:
        crops = metadata.get("crops", [])
        images = request.get("outputType", "images") == "images" and len(urls) == len(crops)
        links: list[str | None] = list(urls) if images else [None] * len(crops)
        output["crops"] = [{"boundingBoxes": [_box(box, url)]}
                           for box, url in zip(crops, links, strict=True)]
    notices = list(metadata.get("notices", []))
    if request.get("focus"):
        notices.append(FOCUS_NOTICE)
    if notices:
        output["lampyris"] = {"notices": notices}
    if isinstance(metadata.get("review"), dict):  # the cutout's confidence (issue 20)
        output["lampyris"] = {**output.get("lampyris", {}), "review": metadata["review"]}
    return output


def auto_crop_status(job: JobRecord, urls: list[str]) -> dict[str, Any]:
    """``/v2/status`` of an auto-crop job: the v2 status, its ``result.outputs`` Adobe's
    ``AutoCropOutput``."""
    if job.state != "succeeded":
        return v2_status(job, urls)
    return {"jobId": job.id, "status": job.state, "createdTime": timestamp(job.created),
            "modifiedTime": timestamp(job.modified),
            "result": {"outputs": auto_crop_result(job, urls)}}
