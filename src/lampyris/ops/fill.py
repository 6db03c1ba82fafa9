"""The fill op: generate the masked part of an image (Firefly's Generative Fill).

The mask comes from the caller (white = fill) or, for a cutout, from its transparency, so the
batch step "new background after cutout" needs no mask file. The engine is chosen per request
(``auto``: ``studio`` when the hole surrounds a subject, ``patch`` for a hole inside a picture),
and every result carries the fidelity check: outside the mask, the input's exact pixels.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lampyris.errors import InvalidParameterError
from lampyris.imaging.confidence import REVIEW_THRESHOLD, review_fill
from lampyris.imaging.decode import DecodedImage
from lampyris.imaging.fill.engines import EngineChoice, fill_region
from lampyris.imaging.fill.mask import mask_plane, transparency
from lampyris.ops.base import Op, OpResult, Timings
from lampyris.ops.cutout import parse_canvas


class GenerativeParams(BaseModel):
    """What every generative op takes: the engine, the prompts and the seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: EngineChoice = "auto"
    prompt: str = Field(default="", max_length=1024)
    negative_prompt: str = Field(default="", max_length=1024)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    review_threshold: float = Field(default=REVIEW_THRESHOLD, ge=0.0, le=1.0)


class FillParams(GenerativeParams):
    """``invert_mask`` swaps fill and keep; ``size`` (w, h) resizes the result afterwards."""

    invert_mask: bool = False
    size: tuple[int, int] | None = None

    _size = field_validator("size", mode="before")(
        lambda v: None if v is None else parse_canvas(v)
    )


def pixels_of(image: DecodedImage | np.ndarray) -> np.ndarray:
    pixels = image.pixels if isinstance(image, DecodedImage) else image
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype != np.uint8:
        raise InvalidParameterError("the image must be HxWx3 or HxWx4 uint8")
    return pixels


def plane_of(mask: DecodedImage | np.ndarray) -> np.ndarray:
    """A mask's pixels: a decoded image, or an array (HxW, or HxWx3/4)."""
    return mask.pixels if isinstance(mask, DecodedImage) else mask


def fill_metadata(info: dict[str, object], timings: Timings, **extra: Any) -> dict[str, Any]:
    return {**info, **extra, "timings": timings.steps}


def fill_review(info: dict[str, Any], hole: np.ndarray, threshold: float) -> dict[str, Any]:
    """The ``review`` object of a fill: the guard's verdict and the share of the image that
    was generated (``hole``: non-zero where the engine drew)."""
    fidelity = info.get("fidelity") or {}
    held = bool(fidelity.get("held", False))
    return review_fill(held, float(np.count_nonzero(hole)) / max(hole.size, 1),
                       threshold).as_dict()


def resized(rgb: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is None or size == (rgb.shape[1], rgb.shape[0]):
        return rgb
    shrink = size[0] * size[1] < rgb.shape[0] * rgb.shape[1]
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def fill(
    image: DecodedImage | np.ndarray,
    params: FillParams | None = None,
    *,
    mask: DecodedImage | np.ndarray | None = None,
) -> OpResult:
    """Fill the white of ``mask`` (or the transparent area of a cutout) in ``image``."""
    params = params or FillParams()
    pixels = pixels_of(image)
    if mask is None:
        plane = transparency(pixels)
        if plane is None:
            raise InvalidParameterError(
                "fill needs a mask (white = fill), or an image with transparency (a cutout)"
            )
        if params.invert_mask:
            plane = 255 - plane
    else:
        plane = mask_plane(plane_of(mask), invert=params.invert_mask)
    timings = Timings()
    with timings.step("fill"):
        out, info = fill_region(
            np.ascontiguousarray(pixels[..., :3]), plane, engine=params.engine,
            prompt=params.prompt, negative_prompt=params.negative_prompt, seed=params.seed,
        )
    out = resized(out, params.size)
    return OpResult(out, fill_metadata(info, timings, filled_share=float((plane > 0).mean()),
                                       review=fill_review(info, plane,
                                                          params.review_threshold)))


OP = Op("fill", FillParams, fill, images=("mask",))
