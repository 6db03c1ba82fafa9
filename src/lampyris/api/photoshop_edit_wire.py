"""Photoshop ``POST /v2/edit``: Lightroom's develop settings on the v2 wire (request models and
their translation to an ``edit`` task). Status goes through ``GET /v2/status/{jobId}``.

Decisions (also in ``docs/compatibility.md``): up to 25 outputs, as the spec allows, all written
from one render in the order given (JPEG and its XMP sidecar in one job); sources and presets
by ``url`` only (no Creative Cloud or Lightroom paths); a destination is a pre-signed ``url``
(``storageType`` azure/dropbox, else external) or hosted here (``validityPeriod``, or an empty
destination), each output its own; DNG and embedded outputs are refused. ``xmp.source`` is
applied first, then ``presets`` in order, auto tone, and the explicit adjustments on top.
``xmp.masks`` are ignored (lampyris renders no local adjustments).

``lampyris`` is our own extension, which Adobe ignores: what a batch step asks for that the
wire has no field for (auto tone's strength, mood and house look, temperature and tint, presets
inline, an orientation), so a lampyris server renders exactly what the local chain would. An
``image.source.uploadId`` (from ``/v2/storage/image``) is lampyris' own too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Field

from lampyris.api.callbacks import CallbackExtension
from lampyris.api.errors import ApiError
from lampyris.api.firefly_wire import BinaryInput, Resolve
from lampyris.api.wire_common import Wire, jpeg_quality
from lampyris.errors import InvalidParameterError
from lampyris.imaging.tone_settings import WhiteBalance
from lampyris.imaging.xmp import MAX_PRESET_SIZE, read_preset
from lampyris.jobs import Task
from lampyris.jobs.payloads import TaskTarget
from lampyris.ops.develop import UprightMode
from lampyris.storage import StorageRef

Orientation = Literal["top_left", "top_right", "bottom_right", "bottom_left", "left_top",
                      "right_top", "right_bottom", "left_bottom"]
ORIENTATIONS: dict[str, int] = {name: n for n, name in enumerate(get_args(Orientation), 1)}
JpegQuality = Literal["very_poor", "poor", "low", "medium", "high", "maximum", "photoshop_max"]
# v2's named JPEG qualities as levels of Photoshop's 0..12 scale (see ``jpeg_quality``).
JPEG_LEVELS = dict(zip(get_args(JpegQuality), (1, 3, 5, 7, 9, 11, 12), strict=True))
PngCompression = Literal["none", "very_low", "low", "medium_low", "medium", "medium_high",
                         "default", "high", "very_high", "maximum"]
# v2's PNG compression names are zlib's levels 0..9, in order.
PNG_LEVELS = {name: level for level, name in enumerate(get_args(PngCompression))}
DEFAULT_VALIDITY = 3600
MAX_PRESETS = 10  # EditParams.presets' limit


def _range(low: float, high: float) -> Any:
    return Field(default=None, ge=low, le=high)


class Resource(Wire):
    """A FileResourceInput: lampyris reads ``url`` ones, and its own ``uploadId`` (an id from
    ``/v2/storage/image``) where the route resolves uploads."""

    url: str | None = Field(default=None, min_length=1, max_length=8192)
    uploadId: str | None = Field(default=None, min_length=1, max_length=64)
    creativeCloudPath: str | None = Field(default=None, max_length=1024)
    creativeCloudFileId: str | None = Field(default=None, max_length=1024)
    lightroomPath: str | None = Field(default=None, max_length=1024)

    def ref(self, name: str, resolve: Resolve | None = None) -> StorageRef:
        if self.url is not None:
            return StorageRef(self.url, "external")
        if self.uploadId is not None and resolve is not None:
            return resolve(BinaryInput(uploadId=self.uploadId), name)
        raise ApiError(400, "validation_error",
                       f"{name}: only url sources are supported by lampyris (not Creative "
                       "Cloud or Lightroom paths)")


class EditImage(Wire):
    source: Resource


class AutoStraighten(Wire):
    enabled: bool
    uprightMode: UprightMode = "auto"
    constrainCrop: bool = True


class Light(Wire):
    exposure: float | None = _range(-5, 5)
    contrast: float | None = _range(-100, 100)
    highlights: float | None = _range(-100, 100)
    shadows: float | None = _range(-100, 100)
    whites: float | None = _range(-100, 100)
    blacks: float | None = _range(-100, 100)


class Color(Wire):
    saturation: float | None = _range(-100, 100)
    vibrance: float | None = _range(-100, 100)
    whiteBalance: WhiteBalance | None = None


class Effects(Wire):
    clarity: float | None = _range(-100, 100)
    dehaze: float | None = _range(-100, 100)
    texture: float | None = _range(-100, 100)
    vignette: float | None = _range(-100, 100)


class Sharpen(Wire):
    detail: float | None = _range(0, 100)
    edgeMasking: float | None = _range(0, 100)
    radius: float | None = _range(0.5, 3.0)


class NoiseReduction(Wire):
    color: float | None = _range(0, 100)
    luminance: float | None = _range(0, 100)


class XmpInput(Wire):
    source: Resource
    orientation: Orientation | None = None


class LightroomEdits(Wire):
    autoTone: bool = False
    autoStraighten: AutoStraighten | None = None
    light: Light | None = None
    color: Color | None = None
    effects: Effects | None = None
    sharpen: Sharpen | None = None
    noiseReduction: NoiseReduction | None = None
    sharpness: float | None = _range(0, 150)
    presets: list[Resource] = Field(default_factory=list, max_length=10)
    xmp: XmpInput | None = None


# (group, wire name) → ToneSettings field
SETTINGS: dict[tuple[str, str], str] = {
    **{("light", k): k for k in ("exposure", "contrast", "highlights", "shadows", "whites",
                                 "blacks")},
    ("color", "saturation"): "saturation", ("color", "vibrance"): "vibrance",
    ("color", "whiteBalance"): "white_balance",
    **{("effects", k): k for k in ("clarity", "dehaze", "texture", "vignette")},
    ("sharpen", "detail"): "sharpen_detail", ("sharpen", "edgeMasking"): "sharpen_edge_masking",
    ("sharpen", "radius"): "sharpen_radius",
    ("noiseReduction", "color"): "color_noise_reduction",
    ("noiseReduction", "luminance"): "noise_reduction",
}


class Destination(Wire):
    url: str | None = Field(default=None, min_length=1, max_length=8192)
    storageType: Literal["azure", "dropbox"] | None = None
    validityPeriod: int | None = Field(default=None, ge=60, le=86400)
    creativeCloudPath: str | None = Field(default=None, max_length=1024)
    embedded: str | None = Field(default=None, max_length=32)


class EditOutput(Wire):
    destination: Destination
    mediaType: Literal["image/jpeg", "image/png", "image/x-adobe-dng", "application/rdf+xml"]
    quality: JpegQuality | None = None
    compression: PngCompression | None = None


class Look(Wire):
    """A house look (``autotone.HouseLook``): the median lightness and the grey's cast."""

    key: float = Field(gt=0.05, lt=0.95)
    cast: list[Annotated[float, Field(ge=-8, le=8)]] = Field(min_length=2, max_length=2)


class AutoToneOptions(Wire):
    strength: float | None = Field(default=None, ge=0, le=1)
    mood: bool | None = None


class Extensions(CallbackExtension):
    """lampyris-only develop options. ``autoTone`` runs Lightroom's Auto as the ``auto_tone``
    op with its own options (with ``edits.autoTone`` and nothing else); ``look`` aims auto tone
    at a house look; ``temperature`` and ``tint`` are Lightroom's sliders the wire lacks;
    ``presets`` are XMP documents given inline (instead of ``edits.presets`` urls);
    ``orientation`` (EXIF 1..8) turns the picture first, over ``edits.xmp.orientation``."""

    autoTone: AutoToneOptions | None = None
    look: Look | None = None
    temperature: float | None = _range(-100, 100)
    tint: float | None = _range(-100, 100)
    presets: list[Annotated[str, Field(min_length=1, max_length=MAX_PRESET_SIZE)]] = Field(
        default_factory=list, max_length=MAX_PRESETS)
    orientation: int | None = Field(default=None, ge=1, le=8)


class V2EditRequest(Wire):
    """Body of ``POST /v2/edit``."""

    image: EditImage
    edits: LightroomEdits = Field(default_factory=LightroomEdits)
    outputs: list[EditOutput] = Field(min_length=1, max_length=25)
    lampyris: Extensions | None = None


def edit_settings(edits: LightroomEdits) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for (group, name), field in SETTINGS.items():
        section = getattr(edits, group)
        value = None if section is None else getattr(section, name)
        if value is not None:
            settings[field] = value
    if edits.sharpness is not None:
        settings["sharpness"] = edits.sharpness
    return settings


def _refuse(name: str, reason: str) -> ApiError:
    return ApiError(400, "validation_error", f"{name}: {reason}",
                    details=[{"name": name, "reason": reason}])


def _target(out: EditOutput, number: int) -> TaskTarget:
    """One output as the job writes it; DNG, Creative Cloud and embedded ones are refused."""
    if out.mediaType == "image/x-adobe-dng":
        raise _refuse(f"outputs.{number}.mediaType", "image/x-adobe-dng output is not supported"
                      " by lampyris: use image/jpeg, image/png or application/rdf+xml")
    if out.destination.creativeCloudPath is not None or out.destination.embedded is not None:
        raise _refuse(f"outputs.{number}.destination", "Creative Cloud and embedded "
                      "destinations are not supported by lampyris: give a pre-signed url or a "
                      "validityPeriod")
    destination = out.destination
    return TaskTarget(
        media_type=out.mediaType,
        output=(None if destination.url is None
                else StorageRef(destination.url, destination.storageType or "external")),
        quality=None if out.quality is None else jpeg_quality(JPEG_LEVELS[out.quality]),
        png_compression=None if out.compression is None else PNG_LEVELS[out.compression],
    )


def _auto_tone_params(body: V2EditRequest, ext: Extensions) -> dict[str, Any]:
    """``lampyris.autoTone``: the ``auto_tone`` op's own parameters."""
    alone = (body.edits.model_dump(exclude_defaults=True) == {"autoTone": True}
             and ext.model_dump(exclude_defaults=True,
                                exclude={"autoTone", "look", "callback"}) == {})
    if not alone:
        raise _refuse("lampyris.autoTone", "runs Lightroom's Auto alone: send edits.autoTone "
                      "true and no other edit")
    assert ext.autoTone is not None
    params: dict[str, Any] = ext.autoTone.model_dump(exclude_none=True)
    if ext.look is not None:
        params["look"] = ext.look.model_dump()
    return params


def _inline_presets(ext: Extensions) -> list[str]:
    """The inline XMP presets, each read once here: a malformed one is a 400."""
    for number, text in enumerate(ext.presets):
        try:
            read_preset(text)
        except InvalidParameterError as exc:
            raise _refuse(f"lampyris.presets.{number}", str(exc)) from None
    return list(ext.presets)


def v2_edit_task(body: V2EditRequest, job_id: str, resolve: Resolve | None = None) -> Task:
    targets = [_target(out, number) for number, out in enumerate(body.outputs)]
    edits, ext = body.edits, body.lampyris or Extensions()
    presets: list[StorageRef] = []
    op = "edit"
    if ext.autoTone is not None:
        op, params = "auto_tone", _auto_tone_params(body, ext)
    else:
        params = {"settings": edit_settings(edits), "auto_tone": edits.autoTone}
        params["settings"].update(ext.model_dump(include={"temperature", "tint"},
                                                 exclude_none=True))
        if ext.look is not None:
            params["look"] = ext.look.model_dump()
        if edits.autoStraighten is not None and edits.autoStraighten.enabled:
            params["straighten"] = {"upright_mode": edits.autoStraighten.uprightMode,
                                    "constrain_crop": edits.autoStraighten.constrainCrop}
        presets = [p.ref(f"edits.presets.{i}") for i, p in enumerate(edits.presets)]
        if edits.xmp is not None:
            presets.insert(0, edits.xmp.source.ref("edits.xmp.source"))
            if edits.xmp.orientation is not None:
                params["orientation"] = ORIENTATIONS[edits.xmp.orientation]
        if ext.orientation is not None:
            params["orientation"] = ext.orientation
        if ext.presets:
            if presets:
                raise _refuse("lampyris.presets", "give presets by url (edits.presets, "
                              "edits.xmp) or inline, not both")
            params["presets"] = _inline_presets(ext)
        if len(presets) > MAX_PRESETS:
            raise _refuse("edits.presets", f"at most {MAX_PRESETS} presets, edits.xmp included")
    hosted = any(target.output is None for target in targets)
    single = targets[0] if len(targets) == 1 else TaskTarget()
    return Task(
        op=op, params=params, input=body.image.source.ref("image.source", resolve),
        output=single.output, hosted_prefix=f"results/{job_id}/" if hosted else None,
        media_type=single.media_type, quality=single.quality,
        png_compression=single.png_compression,
        targets=targets if len(targets) > 1 else [],
        attachments={"presets": presets} if presets else {},
    )


def hosted_validity(request: dict[str, Any], number: int = 0) -> int | None:
    """Seconds output ``number``'s hosted URL stays valid, as the request asked (``None``: the
    default)."""
    outputs = request.get("outputs")
    if not isinstance(outputs, list) or not outputs:
        return None  # remove-background: the server's LAMPYRIS_RESULT_URL_TTL
    out = outputs[number % len(outputs)]
    return int(out.get("destination", {}).get("validityPeriod") or DEFAULT_VALIDITY)
