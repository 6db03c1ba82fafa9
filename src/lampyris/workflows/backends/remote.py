"""The remote backend: every step of the chain as a job on a lampyris server (or Adobe's
cloud) through ``lampyris.client``, as the seed workflow does, one job per op call:

============  ===================================================================================
op call       route
============  ===================================================================================
cutout        Photoshop ``POST /v2/remove-background``: the result hosted by the service
fill          Firefly ``POST /v3/images/fill-async``: the image and a mask of its transparency
              (white = fill: what the local ``fill`` op takes from a cutout), both uploaded
auto_tone     Photoshop ``POST /v2/edit`` with ``edits.autoTone`` (Lightroom's Auto), hosted
straighten    ``/v2/edit`` with ``edits.autoStraighten`` (Lightroom's Upright), hosted
edit          ``/v2/edit`` with Lightroom's sliders (``light``, ``color``, ``effects``…), hosted
refine_mask   ``POST /v1/refine-mask``: the image and its rough mask (the image's transparency,
              what the local step takes), both uploaded; the result hosted (lampyris servers)
product_crop  ``POST /pie/psdService/productCrop`` (padding in ``options``), the input as an
              upload or URL and the output hosted (both lampyris' own: lampyris servers only);
              the crop's ``background`` is put under its transparency here, as the op does
rendition     ``POST /pie/psdService/renditionCreate``: one output at the step's width
depth_blur    ``POST /pie/psdService/depthBlur``: the step's settings as Adobe's ``options``
============  ===================================================================================

Lightroom's own ``/lrService`` routes write only to a pre-signed PUT URL the caller names,
which a batch into a local folder does not have; ``/v2/edit`` carries the same Lightroom edits
and hosts its result, on Adobe's service and on a lampyris server alike.

**Inputs.** A source that signs URLs (``s3://``, ``az://``, ``gs://``) gives the first job a
pre-signed GET. Any other source (a local folder) is uploaded with ``/v2/storage/image``, which
Firefly takes on Adobe's service and every route takes on a lampyris server (``uploadId``, its
extension); Photoshop's routes on Adobe's service read only URLs, so there a chain that starts
with one needs a signing source. Between steps the previous result travels by its hosted URL
to Adobe, and as an upload to a lampyris server (its routes then read their own store: no
request back to itself, whatever its network). A fill always uploads the image and its mask.
Intermediates are lossless PNG; the last result is downloaded (with the client's retry
policy) and encoded here exactly as the local backend encodes (``ops.pipeline.render``).

**Review.** Each job's ``lampyris.review`` (a lampyris server's confidence in its result,
``result.outputs[].lampyris.review`` on v2 and v3) is kept under its step, and the item's one
review is made from them as the local backend makes it (``item.review_of``, the run's
``--review-threshold`` deciding the flag), so the ledger, the summary, the report and
``--on-review move:URL`` work the same; Adobe's service reports none.

**Same pixels.** The op calls are ``steps.execution``'s, so the decontamination the local chain
decides travels too; parameters Adobe has no field for go in each body's ``lampyris``
object, which only a lampyris server reads: against one, a batch gives the local backend's
pixels. A cutout that develop steps follow and that has a shadow or a background is finished
after them (``finish``), for which no route exists: that chain is refused before any input is
read (``check_chain``), rather than run into different pixels. So is a catalog step
(``refine_mask``, ``product_crop``, ``rendition``, ``depth_blur``) against Adobe's cloud, whose
routes read the rough mask by URL and write psdService results only to a pre-signed PUT URL
(neither of which a batch has), and a matting ``model`` or ``mirror_pass`` other than the
default, which no route carries.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

import numpy as np

from lampyris.client import (
    FIREFLY_SCOPES,
    AuthenticationError,
    ClientError,
    FireflyClient,
    Job,
    JobFailedError,
    PhotoshopClient,
    source,
)
from lampyris.client.photoshop import pie_output, rendition_urls
from lampyris.errors import (
    InputError,
    InvalidParameterError,
    LampyrisError,
    StorageCredentialsError,
)
from lampyris.imaging.composite import over_background
from lampyris.imaging.decode import decode
from lampyris.imaging.encode import encode
from lampyris.imaging.fill.mask import transparency
from lampyris.ops.cutout import CutoutParams, decontamination
from lampyris.ops.depth_blur import DepthBlurParams
from lampyris.ops.develop import AutoToneParams, EditParams, StraightenParams
from lampyris.ops.fill import FillParams
from lampyris.ops.pipeline import notices, render
from lampyris.ops.product_crop import ProductCropParams
from lampyris.ops.refine_mask import RefineMaskParams, rough_plane
from lampyris.ops.rendition import RenditionParams
from lampyris.storage.locations import Location
from lampyris.storage.translate import retryable, translate
from lampyris.workflows.item import (
    ItemOutcome,
    WorkItem,
    review_of,
    thumbnail,
    without_review,
    write_result,
)
from lampyris.workflows.steps import Step, execution, mask_at_end

Route = Literal["cutout", "fill", "edit", "refine_mask", "product_crop", "rendition",
                "depth_blur"]
ROUTES: dict[str, Route] = {"cutout": "cutout", "fill": "fill", "auto_tone": "edit",
                            "auto_straighten": "edit", "edit": "edit",
                            "refine_mask": "refine_mask", "product_crop": "product_crop",
                            "rendition": "rendition", "depth_blur": "depth_blur"}
PIE: frozenset[Route] = frozenset({"product_crop", "rendition", "depth_blur"})
"""The ``/pie/psdService`` routes: one input, outputs written to a pre-signed PUT URL (Adobe)
or hosted (a lampyris server, for a body without an href)."""
CATALOG: frozenset[Route] = PIE | {"refine_mask"}
SIGNING = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})  # fsspec's sign() works
INTERMEDIATE = "image/png"  # lossless between steps; the last result is encoded here

FINISH_REFUSED = (
    "the remote backend cannot run this chain: a cutout with a shadow or a background that "
    "develop steps follow is finished after them (the finish op), which no Adobe route does; "
    "leave the shadow and background off the cutout (a fill step can draw the background), "
    "or use --backend local")
ADOBE_NEEDS_URL = (
    "Adobe's Photoshop routes read their input only by URL: against Adobe's cloud the source "
    "must sign URLs (s3://, az://, gs://), not {protocol}://; a lampyris server (--server) "
    "takes uploads")

ADOBE_CATALOG = (
    "the remote backend cannot run the {step} step on Adobe's cloud: Adobe's {route} "
    "{reason}, which a batch does not make; run it on a lampyris server (--server URL) or "
    "with --backend local")
_ADOBE_REASONS = {
    "refine_mask": ("/v1/refine-mask", "reads the rough mask by URL (here: the input's "
                    "transparency, made by the batch)"),
    **{route: (f"/pie/psdService route for {route}",
               "writes its result only to a pre-signed PUT URL") for route in PIE},
}
MATTE_REFUSED = (
    "the remote backend cannot run the {step} step with {name}={value!r}: the service's route "
    "has no field for it (the server uses its default, {default!r}); leave it out or use "
    "--backend local")

_CUTOUT_EXTENSIONS = ("model", "mirror_pass", "mask_format", "padding", "canvas", "shadow",
                      "shadow_opacity", "max_upscale", "holes")
# ToneSettings field → where /v2/edit's ``edits`` has it (group, name); None: top level.
V2_SETTINGS: dict[str, tuple[str | None, str]] = {
    **{k: ("light", k) for k in ("exposure", "contrast", "highlights", "shadows", "whites",
                                 "blacks")},
    "saturation": ("color", "saturation"), "vibrance": ("color", "vibrance"),
    "white_balance": ("color", "whiteBalance"),
    **{k: ("effects", k) for k in ("clarity", "dehaze", "texture", "vignette")},
    "sharpen_detail": ("sharpen", "detail"), "sharpen_edge_masking": ("sharpen", "edgeMasking"),
    "sharpen_radius": ("sharpen", "radius"),
    "color_noise_reduction": ("noiseReduction", "color"),
    "noise_reduction": ("noiseReduction", "luminance"),
    "sharpness": (None, "sharpness"),
}
EXTENSION_SETTINGS = ("temperature", "tint")  # Lightroom sliders /v2/edit has no field for
_UPLOAD_SUFFIXES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jpe": "image/jpeg",
                    ".png": "image/png", ".webp": "image/webp", ".tif": "image/tiff",
                    ".tiff": "image/tiff"}


@dataclass(frozen=True)
class RemoteSettings:
    """Where the service is and who we are; ``url`` None means Adobe's own hosts."""

    client_id: str
    client_secret: str
    url: str | None = None
    timeout: float = 600.0
    url_expiry: int = 3600


# --- translators: a chain's op calls → the routes' options ---------------------------------


@dataclass(frozen=True)
class RemoteCall:
    """One job of a chain: the step it does the work of, the route, the client's options."""

    step: str
    route: Route
    options: dict[str, Any]


def own_thresholds(reports: dict[str, Any], steps: Sequence[Step]) -> None:
    """A step's own ``review_threshold`` decides its flag, as the local op does: the server
    judged the score against its default, and no route carries the threshold."""
    for step in steps:
        threshold = step.params.get("review_threshold")
        review = reports.get(step.name, {}).get("review")
        if threshold is not None and isinstance(review, dict):
            review["threshold"] = float(threshold)
            review["flag"] = float(review.get("score", 1.0)) < float(threshold)


def v2_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """A cutout call's parameters (``steps.execution``'s, decontamination decided) as
    ``PhotoshopClient.remove_background`` keyword arguments; what v2 has no field for goes in
    ``extensions``."""
    model = CutoutParams.model_validate(dict(params))
    options: dict[str, Any] = {"mode": model.mode, "trim": model.trim,
                               "media_type": INTERMEDIATE}
    if model.mode == "cutout":
        options["color_decontamination"] = decontamination(model)
    if model.background is not None:
        options["background_color"] = tuple(model.background)
    extensions: dict[str, Any] = {}
    for key in _CUTOUT_EXTENSIONS:
        if params.get(key) is None:
            continue
        value = getattr(model, key)
        if key == "canvas":
            value = f"{value[0]}x{value[1]}"
        elif key == "padding":
            value = str(value)
        extensions[key] = value
    if extensions:
        options["extensions"] = extensions
    return options


def edit_options(op: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A develop call (``auto_tone``, ``auto_straighten``, ``edit``) as
    ``PhotoshopClient.edit`` keyword arguments: Lightroom's ``edits``, and in ``extensions``
    what ``/v2/edit`` lacks (auto tone's strength, mood and house look, temperature, tint,
    presets inline, an orientation)."""
    edits: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    if op == "auto_tone":
        tone = AutoToneParams.model_validate(dict(params))
        edits["autoTone"] = True
        extensions["autoTone"] = {"strength": tone.strength, "mood": tone.mood}
        if tone.look is not None:
            extensions["look"] = {"key": tone.look.key, "cast": list(tone.look.cast)}
    elif op == "auto_straighten":
        upright = StraightenParams.model_validate(dict(params))
        edits["autoStraighten"] = _straighten(upright)
    elif op == "edit":
        edit = EditParams.model_validate(dict(params))
        if edit.auto_tone:
            edits["autoTone"] = True
        if edit.straighten is not None:
            edits["autoStraighten"] = _straighten(edit.straighten)
        for name, value in edit.settings.changed().items():
            if name in EXTENSION_SETTINGS:
                extensions[name] = value
                continue
            group, wire = V2_SETTINGS[name]
            if group is None:
                edits[wire] = value
            else:
                edits.setdefault(group, {})[wire] = value
        if edit.look is not None:
            extensions["look"] = {"key": edit.look.key, "cast": list(edit.look.cast)}
        if edit.presets:
            extensions["presets"] = list(edit.presets)
        if edit.orientation != 1:
            extensions["orientation"] = edit.orientation
    else:
        raise InvalidParameterError(f"the remote backend has no develop route for {op!r}")
    options: dict[str, Any] = {"edits": edits, "media_type": INTERMEDIATE}
    if extensions:
        options["extensions"] = extensions
    return options


def _straighten(params: StraightenParams) -> dict[str, Any]:
    return {"enabled": True, "uprightMode": params.upright_mode,
            "constrainCrop": params.constrain_crop}


def fill_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """A fill call as ``FireflyClient.fill`` keyword arguments: the step's seed as the one
    seed, its engine in ``extensions`` (a server's default engine may differ), and PNG from a
    lampyris server (its results are JPEG by default, as Firefly's): the local fill's exact
    pixels outside the mask."""
    fill = FillParams.model_validate(dict(params))
    options: dict[str, Any] = {"seeds": [fill.seed],
                               "extensions": {"engine": fill.engine, "format": "png"}}
    if fill.invert_mask:
        options["invert_mask"] = True
    if fill.prompt:
        options["prompt"] = fill.prompt
    if fill.negative_prompt:
        options["negative_prompt"] = fill.negative_prompt
    if fill.size is not None:
        options["size"] = tuple(fill.size)
    return options


def _default_matte(step: str, params: ProductCropParams | DepthBlurParams) -> None:
    """Refuse a matting model or mirror pass other than the default: the psdService bodies
    carry neither, so the server would matte differently from the local step."""
    defaults = type(params)()
    for name in ("model", "mirror_pass"):
        value, default = getattr(params, name), getattr(defaults, name)
        if value != default:
            raise InvalidParameterError(MATTE_REFUSED.format(step=step, name=name, value=value,
                                                             default=default))


def product_crop_options(step: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A product crop call as ``PhotoshopClient.product_crop`` keyword arguments (Adobe's
    ``CropOptions``); its ``background`` is not sent (no field has it) but put under the
    result's transparency here (``background``, read by the backend), as the op does."""
    crop = ProductCropParams.model_validate(dict(params))
    _default_matte(step, crop)
    options: dict[str, Any] = {"unit": crop.unit, "width": crop.width, "height": crop.height}
    if crop.background is not None:
        options["background"] = tuple(crop.background)
    return options


def rendition_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """A rendition call as the one output of ``PhotoshopClient.create_renditions``: its
    ``width`` and ``maxWidth`` (0: none), as a lossless PNG."""
    size = RenditionParams.model_validate(dict(params))
    return {"outputs": [pie_output(INTERMEDIATE, width=size.width, max_width=size.max_width)]}


def depth_blur_options(step: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A depth blur call as ``PhotoshopClient.depth_blur`` keyword arguments: every setting
    in Adobe's ``DepthBlurDetails`` spelling."""
    blur = DepthBlurParams.model_validate(dict(params))
    _default_matte(step, blur)
    options: dict[str, Any] = {
        "focalDistance": blur.focal_distance, "focalRange": blur.focal_range,
        "focusSubject": blur.focus_subject, "blurStrength": blur.blur_strength,
        "haze": blur.haze, "temp": blur.temp, "tint": blur.tint,
        "saturation": blur.saturation, "brightness": blur.brightness, "grain": blur.grain,
    }
    if blur.focal_selector is not None:
        options["focalSelector"] = {"x": blur.focal_selector[0], "y": blur.focal_selector[1]}
    return {"options": options}


def refine_mask_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """A refine-mask call as ``PhotoshopClient.refine_mask`` keyword arguments, and
    ``invert_mask`` (read by the backend, which makes the rough mask: the image's
    transparency, inverted here when asked, as the op inverts it)."""
    refine = RefineMaskParams.model_validate(dict(params))
    options: dict[str, Any] = {"color_decontamination": refine.decontaminate,
                               "invert_mask": refine.invert_mask}
    if refine.radius is not None:
        options["extensions"] = {"radius": refine.radius}
    return options


def plan(steps: Sequence[Step]) -> list[RemoteCall]:
    """The jobs that run ``steps``: one per op call of ``steps.execution``. A call no route
    can do (a cutout's ``finish`` after develop steps) refuses the chain."""
    calls: list[RemoteCall] = []
    for call in execution(steps):
        route = ROUTES.get(call.op)
        if route is None:
            if call.op in ("finish", "composite"):
                raise InvalidParameterError(FINISH_REFUSED)
            raise InvalidParameterError(f"the remote backend has no route for the {call.op!r} "
                                        "op: use --backend local")
        if route == "cutout":
            options = v2_options(call.params)
        elif route == "fill":
            options = fill_options(call.params)
        elif route == "refine_mask":
            options = refine_mask_options(call.params)
        elif route == "product_crop":
            options = product_crop_options(call.step, call.params)
        elif route == "rendition":
            options = rendition_options(call.params)
        elif route == "depth_blur":
            options = depth_blur_options(call.step, call.params)
        else:
            options = edit_options(call.op, call.params)
        calls.append(RemoteCall(call.step, route, options))
    return calls


def check_chain(steps: Sequence[Step], source_location: Location, *, adobe: bool) -> None:
    """Refuse, before any input is read, what the remote backend cannot run the way the local
    chain would: a call with no route or a parameter no route carries, or (against Adobe's
    cloud) a catalog step, or a Photoshop job first on a source that cannot sign URLs."""
    calls = plan(steps)
    for call in calls if adobe else ():
        if call.route in CATALOG:
            route, reason = _ADOBE_REASONS[call.route]
            raise InvalidParameterError(ADOBE_CATALOG.format(step=call.step, route=route,
                                                             reason=reason))
    if (adobe and calls and calls[0].route != "fill"
            and source_location.protocol not in SIGNING):
        raise InvalidParameterError(ADOBE_NEEDS_URL.format(protocol=source_location.protocol))


def rough_mask(pixels: Any, *, invert: bool = False) -> bytes:
    """The rough mask a refine-mask of ``pixels`` takes remotely, as the local op derives it
    (``rough_plane``: the image's opacity, white = subject), as a greyscale PNG."""
    return encode(rough_plane(pixels, None, invert), "png")


def fill_mask(pixels: Any) -> bytes:
    """The mask a fill of ``pixels`` takes remotely, as the local fill op derives it: the
    transparent area, white = fill (a greyscale PNG)."""
    plane = transparency(pixels)
    if plane is None:
        raise InvalidParameterError(
            "fill needs a mask (white = fill), or an image with transparency (a cutout)")
    return encode(plane, "png")


def result_pixels(data: bytes, *, mask: bool = False) -> Any:
    """The last result's pixels as the local chain has them: a mask (``mask_at_end``) one
    channel, where decoding makes the service's greyscale PNG RGB (as does a job after it,
    reading the mask as colour: its channels are equal)."""
    pixels = decode(data).pixels
    if mask and pixels.ndim == 3:
        return np.ascontiguousarray(pixels[..., 0])
    return pixels


def upload_type(data: bytes, name: str = "") -> str | None:
    """The media type an upload of ``data`` is sent as (by its signature, else the file
    name's suffix), or None when the uploads route takes none of its kind."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    return _UPLOAD_SUFFIXES.get(PurePosixPath(name).suffix.lower())


def job_report(route: Route, job: Job) -> dict[str, Any]:
    """What a job's status says of its result, under the local op's names: the output size
    and what a lampyris server reports in its ``lampyris`` objects (a cutout's subject box
    and notices, the settings auto tone chose, a fill's engine and fidelity check, and every
    route's ``review``)."""
    if route in PIE:
        return _pie_report(job)
    if route == "refine_mask":
        return _masking_report(job)
    result = job.body.get("result")
    outputs = result.get("outputs") if isinstance(result, Mapping) else None
    first = outputs[0] if isinstance(outputs, list) and outputs else {}
    first = first if isinstance(first, Mapping) else {}
    extension = first.get("lampyris")
    extension = extension if isinstance(extension, Mapping) else {}
    report: dict[str, Any] = {"job": job.job_id}
    size = result.get("size") if isinstance(result, Mapping) else None
    for key in ("width", "height"):
        value = first.get(key)
        if value is None and isinstance(size, Mapping):
            value = size.get(key)
        if value is not None:
            report[key] = value
    if route == "fill":
        if extension.get("engine") is not None:
            report["engine"] = extension["engine"]
        fidelity = extension.get("fidelity")
        if isinstance(fidelity, Mapping):
            report["fidelity"] = {"held": fidelity.get("held"),
                                  "changed_outside": fidelity.get("changedOutside"),
                                  "max_difference_outside": fidelity.get("maxDifferenceOutside")}
        if "understood" in extension:
            report["understood"] = extension["understood"]
        if "unusedWords" in extension:
            report["unused_words"] = extension["unusedWords"]
        if isinstance(extension.get("review"), Mapping):
            report["review"] = dict(extension["review"])
    else:
        report.update({k: v for k, v in extension.items()
                       if k not in ("mediaType", "width", "height")})
    return report


def _pie_report(job: Job) -> dict[str, Any]:
    """A psdService status's ``outputs[0].lampyris``: the output's size and what the op
    reported (subject and crop boxes, blur sigma, notices, review), under the op's names."""
    outputs = job.body.get("outputs")
    entry = outputs[0] if isinstance(outputs, list) and outputs else {}
    extension = entry.get("lampyris") if isinstance(entry, Mapping) else None
    extension = extension if isinstance(extension, Mapping) else {}
    report: dict[str, Any] = {"job": job.job_id}
    sizes = extension.get("outputs")
    first = sizes[0] if isinstance(sizes, list) and sizes else None
    if isinstance(first, Mapping):
        report.update({k: first[k] for k in ("width", "height") if k in first})
    report.update({k: v for k, v in extension.items() if k not in ("outputs", "error")})
    return report


def _masking_report(job: Job) -> dict[str, Any]:
    """A refine-mask status's result (``mask``, or ``image`` decontaminated): its size, the
    radius used, the bounding box and the review, under the op's names."""
    report: dict[str, Any] = {"job": job.job_id}
    for key in ("mask", "image"):
        entry = job.body.get(key)
        if not isinstance(entry, Mapping):
            continue
        extension = entry.get("lampyris")
        if isinstance(extension, Mapping):
            report.update({k: v for k, v in extension.items() if k != "mediaType"})
        if isinstance(entry.get("boundingBox"), Mapping):
            report["bounding_box"] = dict(entry["boundingBox"])
        break
    return report


# --- the backend -----------------------------------------------------------------------------


@dataclass
class _Image:
    """The image between two jobs: where the service has it (a URL), the bytes once they are
    here, the upload id once it is uploaded, and a name (for an upload's media type)."""

    url: str | None
    data: bytes | None = None
    upload_id: str | None = None
    name: str = ""
    signed: bool = False  # ``url`` is the source's own pre-signed GET


class _NoOutput(Exception):
    """A job succeeded but named no output."""


class RemoteBackend:
    name = "remote"

    def __init__(self, settings: RemoteSettings, concurrency: int = 4) -> None:
        self.settings = settings
        self.capacity = concurrency
        self._lampyris = settings.url is not None
        hosts: dict[str, Any] = {} if settings.url is None else {"base_url": settings.url,
                                                                 "ims_url": settings.url}
        self._photoshop = PhotoshopClient(settings.client_id, settings.client_secret,
                                          timeout=120, **hosts)
        self._firefly = FireflyClient(settings.client_id, settings.client_secret, timeout=120,
                                      scopes=FIREFLY_SCOPES, **hosts)
        self._threads = ThreadPoolExecutor(concurrency, thread_name_prefix="lampyris-remote")

    def submit(self, item: WorkItem) -> Future[ItemOutcome]:
        calls = plan(item.steps)  # a refused chain raises here (the CLI checks it first)
        return self._threads.submit(self._process, item, calls)

    def close(self, *, cancel: bool = False) -> None:
        self._threads.shutdown(wait=True, cancel_futures=cancel)
        self._photoshop.close()
        self._firefly.close()

    def _process(self, item: WorkItem, calls: list[RemoteCall]) -> ItemOutcome:
        timings: dict[str, float] = {}
        stage, step = "read", "read"
        before: bytes | None = None
        try:
            start = time.perf_counter()
            fs_in, _ = item.source.open()
            current = _Image(self._signed(fs_in, item.source_path),
                             name=PurePosixPath(item.source_path).name)
            if current.url is None:
                current.data = fs_in.cat_file(item.source_path)
                digest = hashlib.sha256(current.data).hexdigest()
            else:
                current.signed = True
                digest = _hash(fs_in, item.source_path)
            if item.known_hash == digest:
                return ItemOutcome(True, digest, unchanged=True, timings=timings)
            original = current.data
            timings["read"] = time.perf_counter() - start

            stage = "service"
            reports: dict[str, Any] = {}
            for call in calls:
                step = call.step
                current, report = self._run(call, current, timings)
                reports[step] = {**reports.get(step, {}), **report}
            step = "result"
            final = self._bytes(current, timings)

            stage = "process"
            start = time.perf_counter()
            # no op runs here: the pipeline only encodes, as it does for the local backend
            # (the source's metadata is not at hand: the result came back as a PNG)
            rendered = render(result_pixels(final, mask=mask_at_end(item.steps) is not None), [],
                              item.output)
            timings["encode"] = time.perf_counter() - start

            stage = step = "write"
            start = time.perf_counter()
            own_thresholds(reports, item.steps)
            review = review_of(reports, item.review_threshold)  # the server's, re-decided here
            routed_to = write_result(item, review, rendered.data)
            timings["write"] = time.perf_counter() - start
            if item.thumbs:  # after the service judged the input: only for the report
                before = _thumbnail(lambda: original if original is not None
                                    else fs_in.cat_file(item.source_path))
        except JobFailedError as exc:  # the service's own reason: the same input fails again
            return ItemOutcome(False, error=f"{step}: service: {exc}", timings=timings)
        except AuthenticationError as exc:  # every other input would be refused the same way
            return ItemOutcome(False, error=f"{step}: service: {exc}", fatal=True,
                               timings=timings)
        except ClientError as exc:
            status = getattr(exc, "status", None)
            refused = isinstance(status, int) and 400 <= status < 500 and status not in (408,
                                                                                         429)
            return ItemOutcome(False, error=f"{step}: service: {exc}", retryable=not refused,
                               timings=timings)
        except _NoOutput as exc:
            return ItemOutcome(False, error=f"{step}: service: {exc}", retryable=True,
                               timings=timings)
        except InputError as exc:
            return ItemOutcome(False, error=f"{step}: {exc}", timings=timings)
        except StorageCredentialsError as exc:
            return ItemOutcome(False, error=f"{stage}: {exc}", fatal=True, timings=timings)
        except LampyrisError as exc:
            return ItemOutcome(False, error=f"{step}: {exc}",
                               retryable=stage in ("read", "write"), timings=timings)
        except MemoryError:
            return ItemOutcome(False, error="out of memory for this image", timings=timings)
        except Exception as exc:  # storage (one line; retried where it may pass), or a bug
            where = {"read": item.source.url, "write": item.sink.url}.get(stage, "")
            error = translate(exc, where) if where else None
            if error is None:
                return ItemOutcome(False, error=f"{step}: internal error: {exc!r}",
                                   timings=timings)
            return ItemOutcome(False, error=f"{stage}: {error}", retryable=retryable(error),
                               fatal=isinstance(error, StorageCredentialsError),
                               timings=timings)

        details: dict[str, Any] = {
            "width": rendered.size[0], "height": rendered.size[1],
            "output_bytes": len(rendered.data), "job": reports[calls[-1].step]["job"],
            "steps": {name: without_review(report) for name, report in reports.items()},
        }
        outcome = ItemOutcome(True, digest, timings=timings, details=details, review=review,
                              routed_to=routed_to)
        if said := notices(reports):
            details["notices"] = said
        if item.thumbs:
            outcome.thumbs = {"after": thumbnail(rendered.pixels)}
            if before is not None:
                outcome.thumbs["before"] = before
        return outcome

    def _signed(self, fs: Any, path: str) -> str | None:
        """The source's pre-signed GET, or None for a source that cannot sign (local)."""
        try:
            url = fs.sign(path, expiration=self.settings.url_expiry)
        except NotImplementedError:
            return None
        return str(url)

    def _run(self, call: RemoteCall, current: _Image, timings: dict[str, float]
             ) -> tuple[_Image, dict[str, Any]]:
        """One job: submit, wait, and the next image (the job's hosted result)."""
        if call.route == "fill":
            pixels = decode(self._bytes(current, timings)).pixels
            mask = fill_mask(pixels)
            image_id = self._upload(current, timings)
            mask_id = self._upload(_Image(None, mask, name="mask.png"), timings)
            options = dict(call.options)
            start = time.perf_counter()
            job = self._firefly.wait(self._firefly.fill(
                source(upload_id=image_id), source(upload_id=mask_id), **options),
                timeout=self.settings.timeout)
        elif call.route == "refine_mask":
            options = dict(call.options)
            pixels = decode(self._bytes(current, timings)).pixels
            mask = rough_mask(pixels, invert=options.pop("invert_mask"))
            image = self._input(current, timings)
            mask_id = self._upload(_Image(None, mask, name="mask.png"), timings)
            start = time.perf_counter()
            job = self._photoshop.wait(self._photoshop.refine_mask(
                image.get("image_url"), image_upload_id=image.get("upload_id"),
                mask_upload_id=mask_id, **options), timeout=self.settings.timeout)
        elif call.route in PIE:
            return self._pie(call, current, timings)
        else:
            given = self._input(current, timings)
            start = time.perf_counter()
            if call.route == "cutout":
                ref = self._photoshop.remove_background(**given, **call.options)
            else:
                ref = self._photoshop.edit(**given, **call.options,
                                           validity_period=self.settings.url_expiry)
            job = self._photoshop.wait(ref, timeout=self.settings.timeout)
        seconds = time.perf_counter() - start
        timings["service"] = timings.get("service", 0.0) + seconds
        if not job.outputs:
            raise _NoOutput(f"job {job.job_id} succeeded without an output")
        report = job_report(call.route, job)
        report["seconds"] = round(seconds, 3)
        return _Image(job.outputs[0], name="result.png"), report

    def _pie(self, call: RemoteCall, current: _Image, timings: dict[str, float]
             ) -> tuple[_Image, dict[str, Any]]:
        """One psdService job on a lampyris server: the input as a URL or an upload, the one
        output hosted there (lossless PNG); a product crop's background put under the
        result's transparency here."""
        given = self._input(current, timings)
        source_kw = ({"input_href": given["image_url"]} if "image_url" in given
                     else {"upload_id": given["upload_id"]})
        options = dict(call.options)
        background = options.pop("background", None)
        start = time.perf_counter()
        if call.route == "product_crop":
            ref = self._photoshop.product_crop(**source_kw, outputs=[pie_output(INTERMEDIATE)],
                                               **options)
        elif call.route == "rendition":
            ref = self._photoshop.create_renditions(**source_kw, **options)
        else:
            ref = self._photoshop.depth_blur(**source_kw, outputs=[pie_output(INTERMEDIATE)],
                                             **options)
        job = self._photoshop.wait(ref, timeout=self.settings.timeout)
        seconds = time.perf_counter() - start
        timings["service"] = timings.get("service", 0.0) + seconds
        urls = rendition_urls(job)
        if not urls:
            raise _NoOutput(f"job {job.job_id} succeeded without an output")
        report = job_report(call.route, job)
        report["seconds"] = round(seconds, 3)
        result = _Image(urls[0], name="result.png")
        if background is not None:
            pixels = decode(self._bytes(result, timings)).pixels
            if pixels.ndim == 3 and pixels.shape[2] == 4:
                result = _Image(None, encode(over_background(pixels, background), "png"),
                                name="result.png")
        return result, report

    def _input(self, current: _Image, timings: dict[str, float]) -> dict[str, Any]:
        """A Photoshop route's input: a URL it can fetch, or (a lampyris server) an upload."""
        if current.url is not None and (current.signed or not self._lampyris):
            return {"image_url": current.url}
        if not self._lampyris:
            raise InvalidParameterError(ADOBE_NEEDS_URL.format(protocol="file"))
        return {"upload_id": self._upload(current, timings)}

    def _bytes(self, current: _Image, timings: dict[str, float]) -> bytes:
        """The image's bytes: downloaded once (with the client's retry policy)."""
        if current.data is None:
            assert current.url is not None
            start = time.perf_counter()
            current.data = self._photoshop.download(current.url)
            timings["download"] = timings.get("download", 0.0) + time.perf_counter() - start
        return current.data

    def _upload(self, current: _Image, timings: dict[str, float]) -> str:
        """The image's upload id: uploaded once, as it is where the route takes its kind
        (a corrupt file is the service's to refuse), else as a lossless PNG."""
        if current.upload_id is None:
            data = self._bytes(current, timings)
            media_type = upload_type(data, current.name)
            if media_type is None:  # HEIC, AVIF, BMP, GIF: the pixels, losslessly
                data, media_type = encode(decode(data).pixels, "png"), "image/png"
            start = time.perf_counter()
            current.upload_id = self._firefly.upload(data, media_type)
            timings["upload"] = timings.get("upload", 0.0) + time.perf_counter() - start
        return current.upload_id


def _thumbnail(read: Callable[[], bytes]) -> bytes | None:
    """The input's thumbnail for the report, or None: a source that cannot be read again or
    decoded here (a format without its plugin) never fails an input whose output is written."""
    try:
        return thumbnail(decode(read()).pixels)
    except Exception:
        return None


def _hash(fs: Any, path: str) -> str:
    """The input's content hash, streamed (a signed source is never held whole)."""
    digest = hashlib.sha256()
    with fs.open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
