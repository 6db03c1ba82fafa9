"""The product crop op: the original photo cropped to its subject's box plus padding.

Photoshop's ``productCrop`` (the SDK's ``applyAutoCrop``) is, by Adobe's own published action
list, select subject → trim to it → grow the canvas by ``width`` x ``height`` (relative,
centred, in pixels or percent of the trimmed size) → drop the mask: the photo's own pixels in
a box around the subject. Here the box is the cutout matte's (the same network and refinement
as ``cutout``); padding reaching past the photo's edge is transparent (white in a JPEG).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lampyris.errors import InvalidParameterError
from lampyris.imaging.composite import RGBA, over_background
from lampyris.imaging.decode import DecodedImage
from lampyris.imaging.layout import FRAME_ALPHA, oversize, subject_box
from lampyris.models import MattingSession
from lampyris.models.session import MirrorPass
from lampyris.ops.base import Op, OpResult, Timings, uint8_pixels
from lampyris.ops.cutout import parse_colour, predict_matte

Unit = Literal["pixels", "percent"]
MAX_PADDING = 100_000
"""Pixels, or percent of the subject's side; the pixel cap bounds the image it makes."""


class ProductCropParams(BaseModel):
    """Adobe's ``CropOptions``: ``unit`` (``Pixels`` or ``Percent``, any case), and ``width``
    and ``height``, the padding added to the subject's box in total (half on each side), as
    Photoshop's relative canvas size adds it. ``background`` (lampyris' own): a colour put
    under transparent pixels (padding past the photo's edge), for formats without alpha."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Unit = "pixels"
    width: int = Field(default=0, ge=0, le=MAX_PADDING)
    height: int = Field(default=0, ge=0, le=MAX_PADDING)
    background: RGBA | None = None
    model: str = Field(default="u2netp", min_length=1, max_length=4096)
    mirror_pass: MirrorPass = "auto"

    _colour = field_validator("background", mode="before")(
        lambda v: None if v is None else parse_colour(v)
    )
    _unit = field_validator("unit", mode="before")(
        lambda v: v.strip().lower() if isinstance(v, str) else v
    )


def padded_box(box: tuple[int, int, int, int], params: ProductCropParams
               ) -> tuple[int, int, int, int]:
    """``box`` (x0, y0, x1, y1) grown by the padding, centred (an odd pixel goes right and
    down); it may reach past the photo's edges."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if params.unit == "percent":
        pad_w, pad_h = round(w * params.width / 100), round(h * params.height / 100)
    else:
        pad_w, pad_h = params.width, params.height
    left, top = pad_w // 2, pad_h // 2
    return x0 - left, y0 - top, x1 + pad_w - left, y1 + pad_h - top


def found_subject(alpha: np.ndarray) -> tuple[tuple[int, int, int, int], bool]:
    """The subject's box and whether there is one: haze only (nothing at ``FRAME_ALPHA``)
    is no subject, so the whole photo is, as the notice then says."""
    if not (alpha >= FRAME_ALPHA).any():
        return (0, 0, alpha.shape[1], alpha.shape[0]), False
    return subject_box(alpha), True


def crop_out(pixels: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``pixels`` inside ``box``; where the box reaches past the photo, transparent pixels
    (the result gains an alpha channel only then)."""
    x0, y0, x1, y1 = box
    height, width = pixels.shape[:2]
    if x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height:
        return np.ascontiguousarray(pixels[y0:y1, x0:x1])
    out = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    part = pixels[sy0:sy1, sx0:sx1]
    target = out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]
    target[..., :3] = part[..., :3]
    target[..., 3] = part[..., 3] if part.shape[2] == 4 else 255
    return out


def product_crop(
    image: DecodedImage | np.ndarray,
    params: ProductCropParams | None = None,
    *,
    session: MattingSession | None = None,
) -> OpResult:
    """Crop ``image`` to its subject (the cutout matte's box) with ``params``' padding."""
    params = params or ProductCropParams()
    pixels = uint8_pixels(image, "product crop")
    timings = Timings()
    with timings.step("matte"):
        alpha = predict_matte(pixels, model=params.model, session=session,
                              mirror_pass=params.mirror_pass)
    subject, found = found_subject(alpha)
    box = padded_box(subject, params)
    if (reason := oversize(box[2] - box[0], box[3] - box[1], "the crop's padding")) is not None:
        raise InvalidParameterError(reason)
    with timings.step("crop"):
        out = crop_out(pixels, box)
        if params.background is not None and out.shape[2] == 4:
            out = over_background(out, params.background)
    meta: dict[str, Any] = {"model": params.model, "subject_box": list(subject),
                            "crop_box": list(box), "timings": timings.steps}
    if not found:  # haze at most: nothing solid to crop to
        meta["notices"] = ["no subject was found: the whole photo was kept as the subject"]
    return OpResult(out, meta)


OP = Op("product_crop", ProductCropParams, product_crop)


Ratio = tuple[int, int]


class AutoCropParams(BaseModel):
    """Photoshop v2 auto crop's ``subjectCrop``: one crop per aspect ratio (``ratios``, as
    width and height), each with its ``zoom``: the share of the crop's limiting side the
    subject fills (1: as tight as the ratio allows)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ratios: list[Ratio] = Field(default_factory=lambda: [(1, 1)], min_length=1, max_length=20)
    zooms: list[float] | None = None
    model: str = Field(default="u2netp", min_length=1, max_length=4096)
    mirror_pass: MirrorPass = "auto"

    @field_validator("ratios")
    @classmethod
    def _ratios(cls, ratios: list[Ratio]) -> list[Ratio]:
        """A side below 1 makes no crop (0 divides by zero, a negative flips the box)."""
        if not all(w >= 1 and h >= 1 for w, h in ratios):
            raise ValueError("every aspect ratio's width and height are at least 1")
        return ratios

    @field_validator("zooms")
    @classmethod
    def _zooms(cls, zooms: list[float] | None) -> list[float] | None:
        if zooms is not None and not all(0 < z <= 1 for z in zooms):
            raise ValueError("every zoom is in (0, 1]")
        return zooms

    def pairs(self) -> list[tuple[Ratio, float]]:
        zooms = self.zooms or [1.0] * len(self.ratios)
        if len(zooms) != len(self.ratios):
            raise InvalidParameterError(f"{len(self.ratios)} aspect ratios need as many zooms, "
                                        f"not {len(zooms)}")
        return list(zip(self.ratios, zooms, strict=True))


def ratio_box(subject: tuple[int, int, int, int], size: tuple[int, int], ratio: Ratio,
              zoom: float) -> tuple[int, int, int, int]:
    """The crop of aspect ``ratio`` around ``subject`` whose limiting side the subject fills
    at ``zoom``, centred on it and moved (then shrunk) to lie within an image of ``size``."""
    x0, y0, x1, y1 = subject
    width, height = size
    aspect = ratio[0] / ratio[1]
    crop_h = max((y1 - y0) / zoom, (x1 - x0) / (zoom * aspect), 1.0)
    crop_w = crop_h * aspect
    shrink = min(1.0, width / crop_w, height / crop_h)
    crop_w, crop_h = max(1, round(crop_w * shrink)), max(1, round(crop_h * shrink))
    left = min(max(round((x0 + x1 - crop_w) / 2), 0), width - crop_w)
    top = min(max(round((y0 + y1 - crop_h) / 2), 0), height - crop_h)
    return left, top, left + crop_w, top + crop_h


def auto_crop(
    image: DecodedImage | np.ndarray,
    params: AutoCropParams | None = None,
    *,
    session: MattingSession | None = None,
) -> OpResult:
    """The subject's box and one crop box per ratio (``crops``); the pixels are the input's,
    each output cut to its box by the pipeline (``OutputSpec.region``): one matte, many
    crops."""
    params = params or AutoCropParams()
    pixels = uint8_pixels(image, "auto crop")
    timings = Timings()
    with timings.step("matte"):
        alpha = predict_matte(pixels, model=params.model, session=session,
                              mirror_pass=params.mirror_pass)
    subject, found = found_subject(alpha)
    size = (pixels.shape[1], pixels.shape[0])
    crops = [list(ratio_box(subject, size, ratio, zoom)) for ratio, zoom in params.pairs()]
    meta: dict[str, Any] = {"model": params.model, "subject_box": list(subject),
                            "crops": crops, "timings": timings.steps}
    if not found:
        meta["notices"] = ["no subject was found: the crops are of the whole photo"]
    return OpResult(pixels, meta)


AUTO_CROP = Op("auto_crop", AutoCropParams, auto_crop)
