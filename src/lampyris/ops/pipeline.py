"""One image through a chain of op calls to encoded outputs: the per-image pipeline.

Every way in (a server job, a batch item, a file command) decodes its input, calls ``render``
(``render_outputs`` for several outputs of one run), and stores what comes back; none of them
runs ops or encodes on its own. The pipeline owns what a result needs between the first op and
the bytes: the order of the calls and what each reported (by the name of the step it does the
work of), a seed for the ops that take one, flattening over a background for a format without
alpha, the XMP sidecar (settings only: the pixels are not rendered when nobody will see
them), a cutout's mask as a PSD layer mask, and the notices a person should read. A fill
whose fidelity guard did not hold never gets here as pixels: the fill engines refuse it
(``FidelityError``), and every entry point fails that output with the guard's reason.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from lampyris.errors import InvalidParameterError
from lampyris.imaging.composite import over_background
from lampyris.imaging.decode import DecodedImage
from lampyris.imaging.encode import OutputFormat, encode, extension
from lampyris.imaging.tone_settings import ToneSettings
from lampyris.imaging.xmp import write_xmp
from lampyris.ops import CATALOG, run

XMP_MEDIA_TYPE = "application/rdf+xml"
PSD_MEDIA_TYPE = "image/vnd.adobe.photoshop"
Sidecar = Literal["none", "also", "only"]
_SETTINGS_ONLY = frozenset({"auto_tone", "auto_straighten", "edit"})  # take ``render=False``


@dataclass(frozen=True)
class Call:
    """One op call: the op, its parameters, and the step it does the work of (what it reports
    under: a cutout's ``finish`` call, run after the develop steps, reports as the ``cutout``)."""

    step: str
    op: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputSpec:
    """How the last call's pixels are written.

    ``flatten``: an RGBA colour to put transparent results on when the format has no alpha
    (JPEG); ``None`` refuses such a result instead. ``sidecar``: ``also`` writes the develop
    settings as XMP beside the image, ``only`` writes just them (the image is not rendered).
    ``keep_metadata`` carries the input's EXIF and XMP into the image. ``layer_mask`` (PSD
    only): the last call's pixels are a mask, written as the layer mask of the input photo
    (Remove Background's PSD), over a layer of the ``flatten`` colour when one is given.
    ``width`` / ``max_width`` (0: none): this output resized by the ``rendition`` op, as
    Photoshop's output ``width`` and ``maxWidth`` say (several sizes from one render).
    ``region``: this output is cut to that one of the boxes the last call reported as
    ``crops`` (auto crop: one matte, one image per aspect ratio).
    """

    format: OutputFormat = "png"
    quality: int | None = None
    lossless: bool = False
    png_compression: int | None = None
    flatten: tuple[int, int, int, float] | None = None
    sidecar: Sidecar = "none"
    keep_metadata: bool = False
    layer_mask: bool = False
    width: int = 0
    max_width: int = 0
    region: int | None = None

    def __post_init__(self) -> None:
        """A layer mask must match the photo's pixels: a resized one would not."""
        if self.layer_mask and (self.width or self.max_width):
            raise InvalidParameterError(
                "a layered PSD (layer_mask) keeps the photo's size: width and max_width do "
                "not apply to it")
        if self.region is not None and self.region < 0:
            raise InvalidParameterError(f"output region {self.region}: a crop's index is 0 "
                                        "or more")

    @property
    def extension(self) -> str:
        """Without the dot: ``png``, ``jpg``, ``webp``."""
        return extension(self.format).lstrip(".")


@dataclass
class Rendered:
    """One output: its bytes (the image, or the XMP document when ``sidecar`` is ``only``),
    the XMP sidecar when asked for beside the image, the final pixels (for thumbnails), what
    each step reported (plain JSON, by step name) and the seconds spent per stage."""

    data: bytes
    media_type: str
    suffix: str
    pixels: np.ndarray
    reports: dict[str, Any]
    timings: dict[str, float]
    sidecar: bytes | None = None
    seed: int | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the output's pixels."""
        height, width = self.pixels.shape[:2]
        return int(width), int(height)

    @property
    def notices(self) -> list[str]:
        return notices(self.reports)

    def op_metadata(self, step: str) -> dict[str, Any]:
        """What one step reported, with its op's own timings (a job's ``metadata``)."""
        return {**self.reports.get(step, {}), "timings": self.timings}


def render(
    image: DecodedImage | np.ndarray,
    calls: Sequence[Call],
    output: OutputSpec,
    *,
    images: Mapping[str, DecodedImage] | None = None,
    seed: int | None = None,
) -> Rendered:
    """Run ``calls`` on ``image`` in order and encode the result as ``output`` says.

    ``images`` are the extra images every call that takes them receives as keyword arguments
    (a fill's ``mask``); ``seed`` goes to every call whose op has a seed. Raises
    ``LampyrisError`` for what the input or parameters make impossible (the fidelity guard's
    ``FidelityError`` included)."""
    return render_outputs(image, calls, [output], images=images, seed=seed)[0]


def render_outputs(
    image: DecodedImage | np.ndarray,
    calls: Sequence[Call],
    outputs: Sequence[OutputSpec],
    *,
    images: Mapping[str, DecodedImage] | None = None,
    seed: int | None = None,
) -> list[Rendered]:
    """``render`` with several outputs of one run (a v2 edit's JPEG and its XMP sidecar): the
    calls run once, each output is encoded from their pixels and reports, in order. The
    pixels are rendered unless every output is a settings-only sidecar."""
    keep_settings = all(output.sidecar == "only" for output in outputs)
    pixels, reports, timings = run_calls(image, calls, images=images, seed=seed,
                                         settings_only=keep_settings)
    return [_encoded(image, calls, pixels, reports, dict(timings), output, seed)
            for output in outputs]


def _encoded(image: DecodedImage | np.ndarray, calls: Sequence[Call], pixels: np.ndarray,
             reports: dict[str, Any], timings: dict[str, float], output: OutputSpec,
             seed: int | None) -> Rendered:
    """One output of a run: the image's bytes (or its XMP sidecar) as ``output`` says."""
    start = time.perf_counter()
    sidecar = None
    if output.sidecar != "none":
        settings = ToneSettings.model_validate(reports.get(calls[-1].step, {}).get("settings",
                                                                                  {}))
        sidecar = write_xmp(settings)
    if output.sidecar == "only":
        assert sidecar is not None
        timings["encode"] = time.perf_counter() - start
        return Rendered(sidecar, XMP_MEDIA_TYPE, ".xmp", pixels, reports, timings, seed=seed)
    if output.region is not None:  # one of the boxes the op reported (auto crop's crops)
        crops = reports.get(calls[-1].step, {}).get("crops", [])
        if not 0 <= output.region < len(crops):
            raise InvalidParameterError(
                f"output region {output.region}: the step {calls[-1].step!r} reported "
                f"{len(crops)} crop box{'' if len(crops) == 1 else 'es'}")
        x0, y0, x1, y1 = crops[output.region]
        pixels = np.ascontiguousarray(pixels[y0:y1, x0:x1])
    if output.width or output.max_width:  # a rendition's size (ops/rendition.py)
        pixels = run("rendition", pixels, {"width": output.width,
                                           "max_width": output.max_width}).pixels
    if (output.flatten is not None and output.format == "jpeg" and pixels.ndim == 3
            and pixels.shape[2] == 4):
        pixels = over_background(pixels, output.flatten)  # JPEG has no alpha
    if output.layer_mask:
        data, pixels = _masked_psd(image, pixels, reports.get(calls[-1].step, {}),
                                   output.flatten)
    else:
        source = image if isinstance(image, DecodedImage) and output.keep_metadata else None
        data = encode(pixels, output.format, quality=output.quality, lossless=output.lossless,
                      png_compression=output.png_compression,
                      exif=source.exif if source else None, xmp=source.xmp if source else None)
    timings["encode"] = timings.get("encode", 0.0) + time.perf_counter() - start
    return Rendered(data, media_type(output.format), extension(output.format), pixels, reports,
                    timings, sidecar, seed)


def media_type(format: OutputFormat) -> str:
    """The media type of an encoded output (PSD's is Adobe's vendor type)."""
    return PSD_MEDIA_TYPE if format == "psd" else f"image/{format}"


def _masked_psd(image: DecodedImage | np.ndarray, mask: np.ndarray, report: dict[str, Any],
                background: tuple[int, int, int, float] | None) -> tuple[bytes, np.ndarray]:
    """The input photo with ``mask`` as its layer mask; a trimmed mask (the cutout's ``trim``)
    takes the photo's same box, which the op reports as ``subject_box``. With the document,
    the pixels it shows (the photo under its mask, over the background when there is one), so
    a report's thumbnail is the cutout a retoucher will see, not the bare mask."""
    from lampyris.imaging.psd import masked_document  # psd-tools only when a PSD is written

    photo = image.pixels if isinstance(image, DecodedImage) else image
    if mask.ndim != 2:
        raise InvalidParameterError("a layered PSD takes a mask: run the cutout in mask mode")
    if mask.shape != photo.shape[:2]:
        x0, y0, x1, y1 = report.get("subject_box") or (0, 0, 0, 0)
        photo = photo[y0:y1, x0:x1]
    colour = np.dstack([photo] * 3) if photo.ndim == 2 else photo[..., :3]
    shown = np.dstack([colour, mask])
    if background is not None:
        shown = over_background(shown, background)
    return masked_document(photo, mask, background=background), shown


def run_calls(
    image: DecodedImage | np.ndarray,
    calls: Sequence[Call],
    *,
    images: Mapping[str, DecodedImage] | None = None,
    seed: int | None = None,
    settings_only: bool = False,
) -> tuple[np.ndarray, dict[str, Any], dict[str, float]]:
    """The calls alone: the final pixels, what each step reported and the seconds per stage.
    ``settings_only``: the last call, a develop op, returns its settings over unrendered
    pixels."""
    timings: dict[str, float] = {}
    reports: dict[str, Any] = {}
    pixels: Any = image
    start = time.perf_counter()
    for index, call in enumerate(calls):
        params = call.params
        if seed is not None and "seed" in CATALOG[call.op].params.model_fields:
            params = {**params, "seed": seed}
        if call.op == "finish" and "bottom" in reports.get("cutout", {}).get(
                "frame_edges", ()):
            params = {**params, "grow": False}  # the photo's cut stays on the bottom edge
        op = CATALOG[call.op]
        kwargs: dict[str, Any] = {k: v for k, v in (images or {}).items() if k in op.images}
        if settings_only and index == len(calls) - 1 and call.op in _SETTINGS_ONLY:
            kwargs["render"] = False
        result = run(call.op, pixels, params, **kwargs)
        pixels = result.pixels
        reports[call.step] = {**reports.get(call.step, {}), **result.plain_metadata()}
        for stage, seconds in result.metadata.get("timings", {}).items():
            timings[stage] = timings.get(stage, 0.0) + seconds
    timings["ops"] = time.perf_counter() - start
    return pixels, reports, timings


def notices(reports: Mapping[str, Any]) -> list[str]:
    """What the steps want a person to know about a result they did produce (a subject kept
    smaller than the canvas asked for, prompt words the backdrop did not use), one line each,
    prefixed by the step: for the summary, the report and the ledger."""
    lines: list[str] = []
    for name, report in reports.items():
        if not isinstance(report, dict):
            continue
        lines.extend(f"{name}: {text}" for text in report.get("notices", ()))
        if unused := report.get("unused_words"):
            lines.append(f"{name}: prompt words not used: {', '.join(map(str, unused))}")
    return lines
