"""Lightroom's ``/lrService`` wire: request models, their translation to develop tasks, and the
status body.

Decisions where Adobe's contract leaves room (also in ``docs/compatibility.md``):

* One output per job, as Adobe's service says ("Only a single output is supported currently");
  DNG output is refused (lampyris writes no raw files); ``application/rdf+xml`` writes the
  settings the job chose as an XMP sidecar instead of pixels.
* ``SharpenEdgeMasking`` is 0..10 in Lightroom's API but 0..100 everywhere else (Lightroom's
  Masking slider, XMP, Photoshop ``/v2/edit``): it is scaled ×10.
* ``quality`` 1..12 is Photoshop's JPEG scale, mapped by ``wire_common.jpeg_quality``.
* ``overwrite`` is accepted and ignored: a pre-signed PUT always overwrites.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from lampyris.api.callbacks import CallbackExtension
from lampyris.api.errors import ApiError, describe_failure
from lampyris.api.wire_common import (
    StorageDetails,
    Wire,
    develop_report,
    jpeg_quality,
    timestamp,
    visible_state,
)
from lampyris.errors import InvalidParameterError
from lampyris.imaging.tone_settings import WhiteBalance as WhiteBalanceName
from lampyris.imaging.xmp import MAX_PRESET_SIZE, read_preset
from lampyris.jobs import JobRecord, Task
from lampyris.ops.develop import UprightMode
from lampyris.storage import StorageRef

OutputType = Literal["image/jpeg", "image/png", "image/x-adobe-dng", "application/rdf+xml"]
EDGE_MASKING_SCALE = 10.0


class LrOutputDetails(StorageDetails):
    type: OutputType
    overwrite: bool = True
    quality: int = Field(default=12, ge=1, le=12)


class LrRequest(Wire):
    """What every Lightroom submit has: the outputs (one, in practice)."""

    outputs: list[LrOutputDetails] = Field(min_length=1, max_length=25)
    lampyris: CallbackExtension | None = None


class AutoToneRequest(LrRequest):
    """Body of ``POST /lrService/autoTone``: ``inputs`` is one reference, not a list."""

    inputs: StorageDetails


class StraightenOptions(Wire):
    uprightMode: UprightMode
    constrainCrop: bool = True


class AutoStraightenRequest(LrRequest):
    """Body of ``POST /lrService/autoStraighten``."""

    inputs: StorageDetails
    options: StraightenOptions | None = None


class SourceInput(Wire):
    source: StorageDetails


class PresetInputs(SourceInput):
    presets: list[StorageDetails] = Field(min_length=1, max_length=10)


class PresetsRequest(LrRequest):
    """Body of ``POST /lrService/presets``: XMP preset files, applied in order."""

    inputs: PresetInputs


def _slider(low: float, high: float) -> Any:
    return Field(default=None, ge=low, le=high)


class EditOptions(Wire):
    """Lightroom's slider names and ranges (the spec types most as integers; any number in
    range is taken)."""

    Exposure: float | None = _slider(-5, 5)
    Contrast: float | None = _slider(-100, 100)
    Saturation: float | None = _slider(-100, 100)
    VignetteAmount: float | None = _slider(-100, 100)
    Vibrance: float | None = _slider(-100, 100)
    Highlights: float | None = _slider(-100, 100)
    Shadows: float | None = _slider(-100, 100)
    Whites: float | None = _slider(-100, 100)
    Blacks: float | None = _slider(-100, 100)
    Clarity: float | None = _slider(-100, 100)
    Dehaze: float | None = _slider(-100, 100)
    Texture: float | None = _slider(-100, 100)
    Sharpness: float | None = _slider(0, 150)
    ColorNoiseReduction: float | None = _slider(0, 100)
    NoiseReduction: float | None = _slider(0, 100)
    SharpenDetail: float | None = _slider(0, 100)
    SharpenEdgeMasking: float | None = _slider(0, 10)
    SharpenRadius: float | None = _slider(0.5, 3.0)
    WhiteBalance: WhiteBalanceName | None = None


# Lightroom's option name → ToneSettings field.
EDIT_SETTINGS = {
    "Exposure": "exposure", "Contrast": "contrast", "Saturation": "saturation",
    "VignetteAmount": "vignette", "Vibrance": "vibrance", "Highlights": "highlights",
    "Shadows": "shadows", "Whites": "whites", "Blacks": "blacks", "Clarity": "clarity",
    "Dehaze": "dehaze", "Texture": "texture", "Sharpness": "sharpness",
    "ColorNoiseReduction": "color_noise_reduction", "NoiseReduction": "noise_reduction",
    "SharpenDetail": "sharpen_detail", "SharpenEdgeMasking": "sharpen_edge_masking",
    "SharpenRadius": "sharpen_radius", "WhiteBalance": "white_balance",
}


class EditRequest(LrRequest):
    """Body of ``POST /lrService/edit``."""

    inputs: SourceInput
    options: EditOptions


class XmpOptions(Wire):
    xmp: str = Field(min_length=1, max_length=MAX_PRESET_SIZE)
    orientation: int | None = Field(default=None, ge=1, le=8)


class XmpRequest(LrRequest):
    """Body of ``POST /lrService/xmp``: one preset's XMP inline."""

    inputs: SourceInput
    options: XmpOptions


def _single_output(body: LrRequest) -> LrOutputDetails:
    if len(body.outputs) > 1:
        reason = "Only a single output is supported currently"
        raise ApiError(400, "validation_error", f"outputs: {reason}",
                       details=[{"name": "outputs", "reason": reason}])
    out = body.outputs[0]
    if out.type == "image/x-adobe-dng":
        reason = ("image/x-adobe-dng output is not supported by lampyris: use image/jpeg, "
                  "image/png or application/rdf+xml")
        raise ApiError(400, "validation_error", f"outputs.0.type: {reason}",
                       details=[{"name": "outputs.0.type", "reason": reason}])
    return out


def _task(op: str, body: LrRequest, source: StorageDetails, params: dict[str, Any],
          attachments: dict[str, list[StorageRef]] | None = None) -> Task:
    out = _single_output(body)
    return Task(
        op=op, params=params, input=StorageRef(source.href, source.storage),
        output=StorageRef(out.href, out.storage), media_type=out.type,
        quality=jpeg_quality(out.quality) if out.type == "image/jpeg" else None,
        attachments=attachments or {},
    )


def auto_tone_task(body: AutoToneRequest) -> Task:
    return _task("auto_tone", body, body.inputs, {})


def auto_straighten_task(body: AutoStraightenRequest) -> Task:
    options = body.options or StraightenOptions(uprightMode="auto")
    params = {"upright_mode": options.uprightMode, "constrain_crop": options.constrainCrop}
    return _task("auto_straighten", body, body.inputs, params)


def presets_task(body: PresetsRequest) -> Task:
    refs = [StorageRef(p.href, p.storage) for p in body.inputs.presets]
    return _task("edit", body, body.inputs.source, {}, {"presets": refs})


def edit_settings(options: EditOptions) -> dict[str, Any]:
    settings = {EDIT_SETTINGS[name]: value
                for name, value in options.model_dump(exclude_none=True).items()}
    if "sharpen_edge_masking" in settings:
        settings["sharpen_edge_masking"] *= EDGE_MASKING_SCALE
    return settings


def edit_task(body: EditRequest) -> Task:
    return _task("edit", body, body.inputs.source, {"settings": edit_settings(body.options)})


def xmp_task(body: XmpRequest) -> Task:
    """The inline XMP is read once here, so a malformed one is a 400, not a failed job."""
    try:
        read_preset(body.options.xmp)
    except InvalidParameterError as exc:
        raise ApiError(400, "validation_error", f"options.xmp: {exc}",
                       details=[{"name": "options.xmp", "reason": str(exc)}]) from None
    params: dict[str, Any] = {"presets": [body.options.xmp]}
    if body.options.orientation is not None:
        params["orientation"] = body.options.orientation
    return _task("edit", body, body.inputs.source, params)


def request_record(body: LrRequest) -> dict[str, Any]:
    """What the job row keeps of the request: the status echoes its input and output, and an
    inline XMP (up to 1 MiB, already in the task) is left out."""
    record = body.model_dump(mode="json", exclude_none=True)
    if isinstance(record.get("options"), dict):
        record["options"].pop("xmp", None)
    return record


def lr_status(job: JobRecord, status_url: str) -> dict[str, Any]:
    """Lightroom's status: one entry per output, with a ``lampyris`` object of our own (the
    settings chosen, the straighten angle, the output's size; on failure the precise code)."""
    inputs = job.request.get("inputs", {})
    source = inputs.get("source", inputs)
    (out,) = job.request.get("outputs", [{}])[:1]
    entry: dict[str, Any] = {
        "input": source.get("href"), "status": visible_state(job),
        "_links": {"self": {"href": out.get("href"), "storage": out.get("storage")}},
    }
    if job.state == "succeeded":
        entry["lampyris"] = develop_report(job)
    elif entry["status"] == "failed":
        failure = describe_failure(job.error or {})
        entry["errorDetails"] = entry["details"] = failure.message
        entry["lampyris"] = {"error": {"code": failure.code, "status": failure.status,
                                       "field": failure.field}}
    return {
        "jobId": job.id, "created": timestamp(job.created), "modified": timestamp(job.modified),
        "outputs": [entry], "_links": {"self": {"href": status_url}},
    }
