"""Photoshop's remove-background wire: request models, their translation to a cutout task,
and the status bodies (Sensei v1 and v2 flavours).

Unknown fields are ignored (Adobe's SDKs send extras such as ``output.type``); fields we
accept but cannot honour are listed in ``docs/compatibility.md``. ``lampyris`` is our own
optional extension: catalog finishing (padding, canvas, shadow…) through the same calls.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any, Literal

from pydantic import Field

from lampyris.api.callbacks import CallbackExtension
from lampyris.api.errors import ApiError, describe_failure, v2_job_failure
from lampyris.api.firefly_wire import BinaryInput, Resolve
from lampyris.api.wire_common import (
    StorageDetails,
    Wire,
    develop_report,
    timestamp,
    visible_state,
)
from lampyris.jobs import JobRecord, Task
from lampyris.ops.cutout import Holes
from lampyris.storage import StorageRef


class Extensions(CallbackExtension):
    """lampyris-only cutout options (not Adobe's): ignored by Adobe, honoured here. ``model``
    is a registry name or a file of the server's model directory, never a path."""

    model: str | None = Field(default=None, min_length=1, max_length=255)
    mirror_pass: Literal["auto", "always", "never"] | None = None
    mask_format: Literal["soft", "binary"] | None = None
    padding: str | None = Field(default=None, max_length=32, examples=["6%"])
    canvas: str | None = Field(default=None, max_length=32, examples=["1200x1200"])
    shadow: bool | None = None
    shadow_opacity: float | None = Field(default=None, ge=0, le=1)
    decontaminate: float | None = Field(default=None, ge=0, le=1)
    max_upscale: float | None = Field(default=None, ge=1, le=64)
    holes: Holes | None = None


class MaskFormat(Wire):
    format: Literal["binary", "soft"] = "soft"


class ColourSpace(Wire):
    space: Literal["rgb", "rgba"] = "rgba"


class SenseiOutput(StorageDetails):
    mask: MaskFormat | None = None
    color: ColourSpace | None = None
    overwrite: bool = True


class SenseiOptions(Wire):
    """Adobe's 2021 ``options`` (``optimize``: ``performance`` or ``batch``), accepted and
    ignored; anything else in it is dropped, not stored."""

    optimize: str | None = Field(default=None, max_length=32)


class SenseiRequest(Wire):
    """Body of ``POST /sensei/cutout`` and ``/sensei/mask``."""

    input: StorageDetails
    output: SenseiOutput
    options: SenseiOptions | None = None
    lampyris: Extensions | None = None


class UrlSource(BinaryInput):
    """Adobe's ``{url}`` (pre-signed URLs may be long); ``uploadId`` (an id from
    ``/v2/storage/image``, as Firefly's sources take) is lampyris' own, so a batch can send a
    local file or an earlier step's result."""

    url: str | None = Field(default=None, min_length=1, max_length=8192)

    def ref(self, name: str, resolve: Resolve | None) -> StorageRef:
        """The storage reference: a URL as given, an upload id through ``resolve`` (the
        caller's own, unexpired uploads)."""
        if self.url is not None:
            return StorageRef(self.url, "external")
        if resolve is None:
            raise ApiError(400, "validation_error", f"{name}: give a url",
                           details=[{"name": name, "reason": "uploadId is not accepted here"}])
        return resolve(BinaryInput(uploadId=self.uploadId), name)


class SourceImage(Wire):
    source: UrlSource


MediaType = Literal["image/jpeg", "image/png", "image/webp", "image/vnd.adobe.photoshop"]


class OutputOptions(Wire):
    mediaType: MediaType | None = None


class Colour(Wire):
    red: float = Field(ge=0, le=255)
    green: float = Field(ge=0, le=255)
    blue: float = Field(ge=0, le=255)
    alpha: float = Field(ge=0, le=1)


class RemoveBackgroundRequest(Wire):
    """Body of ``POST /v2/remove-background``."""

    image: SourceImage
    mode: Literal["cutout", "mask", "psd"] = "cutout"
    output: OutputOptions | None = None
    trim: bool = False
    backgroundColor: Colour | None = None
    colorDecontamination: float = Field(default=1.0, ge=0, le=1)
    lampyris: Extensions | None = None


def _extensions(ext: Extensions | None) -> dict[str, Any]:
    return {} if ext is None else ext.model_dump(exclude_none=True, exclude={"callback"})


def sensei_task(body: SenseiRequest, mode: Literal["cutout", "mask"]) -> Task:
    params: dict[str, Any] = {"mode": mode}
    if body.output.mask is not None or mode == "mask":
        params["mask_format"] = (body.output.mask or MaskFormat()).format
    if mode == "cutout" and body.output.color is not None and body.output.color.space == "rgb":
        params["background"] = "white"  # three channels: the subject on white
    params.update(_extensions(body.lampyris))
    return Task(
        op="cutout", params=params,
        input=StorageRef(body.input.href, body.input.storage),
        output=StorageRef(body.output.href, body.output.storage),
        media_type="image/png",
    )


PSD_MEDIA_TYPE = "image/vnd.adobe.photoshop"
_LAYOUT_EXTENSIONS = ("padding", "canvas", "shadow", "max_upscale")


def _psd_task(body: RemoveBackgroundRequest, job_id: str, resolve: Resolve | None) -> Task:
    """``mode: psd``: the photo as a layer with the subject's mask as its layer mask (the op
    runs in mask mode; ``trim`` crops both), over a ``Background`` layer of
    ``backgroundColor`` when one is given. Colour decontamination does not apply: the layer
    keeps the photo's own pixels."""
    if body.output is not None and body.output.mediaType not in (None, PSD_MEDIA_TYPE):
        raise ApiError(400, "validation_error", f"mode psd writes {PSD_MEDIA_TYPE}: leave "
                       f"output.mediaType out or use mode cutout for {body.output.mediaType}",
                       details=[{"name": "output.mediaType", "reason": "psd mode"}])
    extensions = _extensions(body.lampyris)
    if clash := [name for name in _LAYOUT_EXTENSIONS if name in extensions]:
        raise ApiError(400, "validation_error", f"lampyris.{clash[0]} does not apply to mode "
                       "psd (the document keeps the photo's frame): use mode cutout for it",
                       details=[{"name": f"lampyris.{clash[0]}", "reason": "psd mode"}])
    extensions.pop("decontaminate", None)
    c = body.backgroundColor
    return Task(
        op="cutout", params={"mode": "mask", "trim": body.trim, **extensions},
        input=body.image.source.ref("image.source", resolve),
        hosted_prefix=f"results/{job_id}/", media_type=PSD_MEDIA_TYPE, layer_mask=True,
        backdrop=None if c is None else (round(c.red), round(c.green), round(c.blue), c.alpha),
    )


def v2_task(body: RemoveBackgroundRequest, job_id: str, resolve: Resolve | None = None) -> Task:
    if body.mode == "psd":
        return _psd_task(body, job_id, resolve)
    params: dict[str, Any] = {"mode": body.mode, "trim": body.trim}
    if body.mode == "cutout":
        # Adobe's default is 1, composited or not
        params["decontaminate"] = (1.0 if body.colorDecontamination is None
                                   else body.colorDecontamination)
        if body.backgroundColor is not None:
            c = body.backgroundColor
            params["background"] = {"red": c.red, "green": c.green, "blue": c.blue,
                                    "alpha": c.alpha}
    params.update(_extensions(body.lampyris))
    return Task(
        op="cutout", params=params, input=body.image.source.ref("image.source", resolve),
        hosted_prefix=f"results/{job_id}/",
        media_type=body.output.mediaType if body.output else None,
    )


def sensei_status(job: JobRecord, status_url: str) -> dict[str, Any]:
    """Both ``jobID`` (Adobe's docs, aio-lib) and ``jobId`` (the spec, the JS SDK)."""
    body: dict[str, Any] = {
        "jobID": job.id, "jobId": job.id, "status": visible_state(job),
        "created": timestamp(job.created), "modified": timestamp(job.modified),
        "input": job.request.get("input", {}).get("href"),
        "_links": {"self": {"href": status_url}},
    }
    if job.state == "succeeded":
        body["output"] = job.request.get("output")
        body["metadata"] = dict(job.outcome().metadata)
        if isinstance(body["metadata"].get("model"), str):  # a model_dir file: its name only
            body["metadata"]["model"] = PurePath(body["metadata"]["model"]).name
        if isinstance(body["metadata"].get("review"), dict):  # our extension: the confidence
            body["lampyris"] = {"review": body["metadata"]["review"]}
    elif job.state == "failed":
        failure = describe_failure(job.error or {})
        body["errors"] = {
            "type": "InputValidationError" if failure.status < 500 else "JobError",
            "code": str(failure.status), "title": failure.message,
            "error_code": failure.code,
            "details": [{"name": failure.field or "job", "reason": failure.message}],
        }
    return body


CUTOUT_REPORT = ("subject_box", "decontaminate", "frame_edges", "scale", "upscale_wanted",
                 "notices")


def cutout_report(job: JobRecord) -> dict[str, Any]:
    """What a cutout reported that a client may want (the subject's box, the decontamination
    applied, the layout's scale and cut edges, notices): the ``lampyris`` object of a v2
    remove-background output. Adobe returns only pixels; clients ignore it."""
    metadata = job.outcome().metadata
    return {k: metadata[k] for k in CUTOUT_REPORT if k in metadata}


def v2_status(job: JobRecord, output_urls: list[str]) -> dict[str, Any]:
    """Remove-background and edit jobs alike; the outputs also carry a ``lampyris`` object
    (what the cutout reported; an edit's settings chosen, the straighten angle), which
    clients ignore."""
    body: dict[str, Any] = {
        "jobId": job.id, "status": visible_state(job),
        "createdTime": timestamp(job.created), "modifiedTime": timestamp(job.modified),
    }
    if job.state == "succeeded":
        body["result"] = {"outputs": [
            {"destination": {"url": url}, "url": url, "mediaType": out.mediaType,
             "width": out.width, "height": out.height}
            for out, url in zip(job.outcome().outputs, output_urls, strict=True)
        ]}
        report = develop_report(job) if job.op != "cutout" else cutout_report(job)
        if isinstance(review := job.outcome().metadata.get("review"), dict):
            report["review"] = review  # the result's confidence (issue 20), any op's
        for entry in body["result"]["outputs"]:
            entry["lampyris"] = report
    elif job.state == "failed":
        body.update(v2_job_failure(describe_failure(job.error or {})))
    return body
