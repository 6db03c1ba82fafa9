"""The cutout op: background removal with catalog finishing (trim, padding, canvas, shadow).

Steps, in order: matte at model resolution → edge-aware upsampling → (binary) → colour
decontamination → RGBA → layout → shadow → background. Every entry point runs these.
"""

from __future__ import annotations

from typing import Any, Literal

import cv2
import numpy as np
from PIL import ImageColor
from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from lampyris.errors import InvalidParameterError
from lampyris.imaging.composite import RGBA, cutout_rgba, over_background
from lampyris.imaging.confidence import REVIEW_THRESHOLD, review_matte
from lampyris.imaging.decode import DecodedImage
from lampyris.imaging.decontaminate import decontaminate
from lampyris.imaging.holes import open_holes
from lampyris.imaging.layout import Layout, Length, lay_out, oversize, subject_box
from lampyris.imaging.matte import binarise, refine_matte, working_copy
from lampyris.imaging.shadow import add_shadow, shadow_room
from lampyris.models import MattingSession, get_session, resolve_spec
from lampyris.models.session import MattePasses, MirrorPass
from lampyris.ops.base import Op, OpResult, Timings, uint8_pixels


def parse_colour(value: Any) -> RGBA:
    """A background colour from ``"white"``, ``"#RRGGBB[AA]"``, ``"r,g,b[,a]"`` (a in 0-1), a
    tuple, or Photoshop's ``{red, green, blue, alpha}`` object."""
    if isinstance(value, dict):
        try:
            value = (value["red"], value["green"], value["blue"], value["alpha"])
        except KeyError as exc:
            raise ValueError(f"background colour needs red, green, blue and alpha: {exc}") from None
    if isinstance(value, str):
        text = value.strip()
        if "," in text and not text.lower().startswith(("rgb", "hsl", "hsv")):
            value = tuple(float(p) for p in text.split(","))
        else:
            try:
                rgba = ImageColor.getrgb(text)
            except ValueError:
                raise ValueError(f"unknown colour {value!r}") from None
            alpha = rgba[3] / 255.0 if len(rgba) == 4 else 1.0
            return (rgba[0], rgba[1], rgba[2], alpha)
    if not isinstance(value, list | tuple):
        raise ValueError(f"a colour is a name, '#rrggbb', 'r,g,b[,a]' or a list, not {value!r}")
    parts = tuple(value)
    if len(parts) not in (3, 4):
        raise ValueError("a colour has 3 or 4 components")
    r, g, b = (round(float(c)) for c in parts[:3])
    a = float(parts[3]) if len(parts) == 4 else 1.0
    if not all(0 <= c <= 255 for c in (r, g, b)) or not 0.0 <= a <= 1.0:
        raise ValueError("colour components are 0-255 and alpha 0-1")
    return (r, g, b, a)


MAX_SIDE = 16384
Holes = Literal["auto", "all", "off"]


def parse_canvas(value: Any) -> tuple[int, int]:
    """``"1200x1200"`` or ``(1200, 1200)``: sides of 1-16384 px, the area within the pixel
    cap (``LAMPYRIS_IMAGING_MAX_PIXELS``), as for a canvas, a new size or an expand canvas."""
    if isinstance(value, str):
        if len(value) > 32:
            raise ValueError("canvas must be WIDTHxHEIGHT, e.g. '1200x1200'")
        try:
            w, h = (int(p) for p in value.lower().split("x"))
        except ValueError:
            raise ValueError(f"canvas must be WIDTHxHEIGHT, not {value!r}") from None
    elif isinstance(value, list | tuple) and len(value) == 2:
        w, h = (int(p) for p in value)
    else:
        raise ValueError(f"canvas must be WIDTHxHEIGHT or [width, height], not {value!r}")
    if not (1 <= w <= MAX_SIDE and 1 <= h <= MAX_SIDE):
        raise ValueError(f"canvas sides must be 1-{MAX_SIDE} px")
    if (reason := oversize(w, h, f"canvas {w}x{h}")) is not None:
        raise ValueError(reason)
    return (w, h)


class CutoutParams(BaseModel):
    """Background removal options; the names follow Photoshop's v2 API where one exists.

    ``decontaminate`` left out (None) means on (1) when the subject is composited onto a new
    background here (a ``background`` colour or a ``canvas``) and off for a plain transparent
    cutout, whose edge pixels stay the photo's; ``max_upscale`` caps how much a canvas may
    enlarge a small subject (1: never). ``holes`` opens the gaps of a see-through subject
    (a wicker ball, a chair's back) that the matte filled: ``auto`` where they show a
    coloured ground (measured harmless on the reference sets), ``all`` on white, grey and
    black grounds too (it may clear a label or print of the sweep's colour), ``off``."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    model: str = Field(default="u2netp", min_length=1, max_length=4096)
    mirror_pass: MirrorPass = "auto"
    mode: Literal["cutout", "mask"] = "cutout"
    mask_format: Literal["soft", "binary"] = "soft"
    decontaminate: float | None = Field(default=None, ge=0.0, le=1.0)
    holes: Holes = "auto"
    background: RGBA | None = None
    trim: bool = False
    padding: Length | None = None
    canvas: tuple[int, int] | None = None
    max_upscale: float = Field(default=1.0, ge=1.0, le=64.0)
    shadow: bool = False
    shadow_opacity: float = Field(default=0.45, ge=0.0, le=1.0)
    review_threshold: float = Field(default=REVIEW_THRESHOLD, ge=0.0, le=1.0)

    _colour = field_validator("background", mode="before")(
        lambda v: None if v is None else parse_colour(v)
    )
    _canvas = field_validator("canvas", mode="before")(
        lambda v: None if v is None else parse_canvas(v)
    )
    _padding = field_validator("padding", mode="before")(
        lambda v: v if v is None or isinstance(v, Length) else Length.parse(v)
    )

    @field_serializer("padding", when_used="unless-none")
    def _padding_text(self, padding: Length) -> str:
        """As ``"6%"`` or ``"40"``, so a dumped model validates back to itself (job rows)."""
        return str(padding)


AUTO_DECONTAMINATE = 1.0
"""The amount a cutout composited onto a new background gets unless told otherwise."""


def decontamination(params: CutoutParams, *, composited: bool = False) -> float:
    """The decontamination amount to apply: the one asked for, else ``AUTO_DECONTAMINATE``
    when the subject goes onto a new background (here, or by a later step: ``composited``)."""
    if params.decontaminate is not None:
        return params.decontaminate
    new_background = composited or params.background is not None or params.canvas is not None
    return AUTO_DECONTAMINATE if new_background else 0.0


def shadowed(layer: np.ndarray, opacity: float, *, grow: bool) -> np.ndarray:
    """``add_shadow``, once the rows it may add are known to keep the image within the pixel
    cap (a trimmed subject standing on the edge grows the image by up to 8 %). Finding them
    first costs one more subject box: 3 ms on a 12 MP layer, beside the shadow's seconds."""
    if grow:
        h, w = layer.shape[:2]
        room = shadow_room(layer[..., 3])
        if room and (reason := oversize(w, h + room, "the shadow")) is not None:
            raise InvalidParameterError(reason)
    return add_shadow(layer, opacity, grow=grow)


def predict_matte(
    pixels: np.ndarray,
    *,
    model: str = "u2netp",
    session: MattingSession | None = None,
    mirror_pass: MirrorPass = "auto",
    holes: Holes = "off",
) -> np.ndarray:
    """The soft matte of an RGB(A) uint8 image at full resolution, as 8-bit alpha (HxW),
    with the see-through gaps the network filled opened again unless ``holes`` is off."""
    return matte_and_passes(pixels, model=model, session=session, mirror_pass=mirror_pass,
                            holes=holes)[0]


def matte_and_passes(
    pixels: np.ndarray,
    *,
    model: str = "u2netp",
    session: MattingSession | None = None,
    mirror_pass: MirrorPass = "auto",
    holes: Holes = "off",
) -> tuple[np.ndarray, MattePasses, np.ndarray]:
    """``predict_matte``, with the network's passes and the working copy it made: the
    review score reads them rather than running the network again."""
    session = session or get_session(resolve_spec(model))
    rgb = pixels[..., :3]
    work = working_copy(rgb)
    passes = session.passes(work, mirror=mirror_pass)
    alpha = refine_matte(passes.matte, rgb, work=work)
    if holes != "off":
        alpha = open_holes(rgb, alpha, neutral=holes == "all")
    return alpha, passes, work


def cutout(
    image: DecodedImage | np.ndarray,
    params: CutoutParams | None = None,
    *,
    session: MattingSession | None = None,
) -> OpResult:
    """Remove the background of ``image``; returns RGBA, RGB (opaque background) or a mask."""
    params = params or CutoutParams()
    pixels = uint8_pixels(image, "cutout")
    timings = Timings()
    rgb = pixels[..., :3]
    with timings.step("matte"):
        alpha, passes, work = matte_and_passes(
            pixels, model=params.model, session=session, mirror_pass=params.mirror_pass,
            holes=params.holes,
        )
        if pixels.shape[2] == 4:  # keep transparency the input already had
            alpha = cv2.multiply(alpha, np.ascontiguousarray(pixels[..., 3]), scale=1 / 255)
        if params.mask_format == "binary":
            alpha = binarise(alpha)
        # Judged inside the matte step (about 5 ms): it reads the matte's own passes.
        review = review_matte(passes.first, passes.mirrored, alpha, work,
                              params.review_threshold)
    del work
    # subject_box is in the input's coordinates, before any trim or canvas fitting.
    meta: dict[str, Any] = {"model": params.model, "subject_box": subject_box(alpha),
                            "review": review.as_dict()}

    def fit(layer: np.ndarray) -> Layout:
        return lay_out(layer, trim=params.trim, padding=params.padding, canvas=params.canvas,
                       max_upscale=params.max_upscale)

    if params.mode == "mask":
        with timings.step("layout"):
            laid = fit(alpha)
        meta.update(_layout_report(laid), timings=timings.steps)
        return OpResult(laid.pixels, meta)

    if (amount := decontamination(params)) > 0:
        with timings.step("decontaminate"):
            rgb = decontaminate(rgb, alpha, amount)
    meta["decontaminate"] = amount
    with timings.step("layout"):
        laid = fit(cutout_rgba(rgb, alpha))
    del rgb, alpha  # the layer has them: a decontaminated copy is not held through the shadow
    layer = laid.pixels
    meta.update(_layout_report(laid))
    if params.shadow:
        with timings.step("shadow"):
            layer = shadowed(layer, params.shadow_opacity,
                             grow=params.canvas is None and "bottom" not in laid.edges)
    if params.background is not None:
        with timings.step("background"):
            layer = over_background(layer, params.background)
    meta["timings"] = timings.steps
    return OpResult(layer, meta)


def _layout_report(laid: Layout) -> dict[str, Any]:
    """What the layout decided, for the job result and the batch report: the photo edges kept
    as cuts, the scale, and a notice when the subject was left smaller than asked."""
    report: dict[str, Any] = {}
    if laid.edges:
        report["frame_edges"] = list(laid.edges)
    if laid.wanted != 1.0 or laid.scale != 1.0:
        report["scale"] = round(laid.scale, 4)
    if (notice := laid.notice()) is not None:
        report["upscale_wanted"] = round(laid.wanted, 4)
        report["notices"] = [notice]
    return report


OP = Op("cutout", CutoutParams, cutout)
