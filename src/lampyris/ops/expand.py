"""The expand op: a bigger canvas around the picture, the new area generated (Generative
Expand).

The picture is placed by Firefly's ``placement`` (insets and alignment), or where a mask's
black area says; everything else is generated. A photo is continued by ``patch`` (its own
texture), a cutout gets a ``studio`` backdrop, unless the request names an engine.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, field_validator

from lampyris.errors import InvalidParameterError
from lampyris.imaging.decode import DecodedImage
from lampyris.imaging.fill.engines import fill_region
from lampyris.imaging.fill.mask import mask_plane, transparency
from lampyris.imaging.fill.placement import Horizontal, Inset, Vertical, as_rgba, place_on_canvas
from lampyris.imaging.layout import oversize, subject_box
from lampyris.ops.base import Op, OpResult, Timings
from lampyris.ops.cutout import MAX_SIDE, parse_canvas
from lampyris.ops.fill import (
    GenerativeParams,
    fill_metadata,
    fill_review,
    pixels_of,
    plane_of,
)


class ExpandParams(GenerativeParams):
    """``size`` is the new canvas (w, h), by default twice the picture's area; the insets
    (px) and alignment place the picture on it (no alignment: towards the side of a lone
    inset, else centred). ``invert_mask`` swaps a mask's meaning."""

    size: tuple[int, int] | None = None
    top: int | None = Field(default=None, ge=0, le=MAX_SIDE)
    bottom: int | None = Field(default=None, ge=0, le=MAX_SIDE)
    left: int | None = Field(default=None, ge=0, le=MAX_SIDE)
    right: int | None = Field(default=None, ge=0, le=MAX_SIDE)
    horizontal: Horizontal | None = None
    vertical: Vertical | None = None
    invert_mask: bool = False

    _size = field_validator("size", mode="before")(
        lambda v: None if v is None else parse_canvas(v)
    )

    @property
    def inset(self) -> Inset:
        return Inset(self.top, self.bottom, self.left, self.right)


def _default_size(w: int, h: int) -> tuple[int, int]:
    return round(w * 1.414), round(h * 1.414)


def expand(
    image: DecodedImage | np.ndarray,
    params: ExpandParams | None = None,
    *,
    mask: DecodedImage | np.ndarray | None = None,
) -> OpResult:
    """``image`` on a larger canvas with the new area generated."""
    params = params or ExpandParams()
    pixels = pixels_of(image)
    layer = as_rgba(pixels)
    timings = Timings()
    with timings.step("place"):
        if mask is None:
            size = params.size or _default_size(layer.shape[1], layer.shape[0])
            if (reason := oversize(*size, f"expanding to {size[0]}x{size[1]}")) is not None:
                raise InvalidParameterError(f"{reason}: give a smaller size")
            placed, box = place_on_canvas(layer, size, inset=params.inset,
                                          horizontal=params.horizontal, vertical=params.vertical)
            keep = placed[..., 3]
        else:
            placed, box, keep = _place_by_mask(layer, plane_of(mask), params)
    hole = 255 - keep
    if not (hole > 0).any():
        raise InvalidParameterError(
            "nothing to expand: the picture covers the whole canvas (give a larger size)"
        )
    engine = params.engine
    if engine == "auto":
        engine = "studio" if transparency(pixels) is not None else "patch"
    with timings.step("fill"):
        out, info = fill_region(
            np.ascontiguousarray(placed[..., :3]), hole, engine=engine, prompt=params.prompt,
            negative_prompt=params.negative_prompt, seed=params.seed,
        )
    x, y, w, h = box
    return OpResult(out, fill_metadata(info, timings, placement={"x": x, "y": y, "width": w,
                                                                "height": h},
                                       review=fill_review(info, hole,
                                                          params.review_threshold)))


def _place_by_mask(
    layer: np.ndarray, mask_pixels: np.ndarray, params: ExpandParams
) -> tuple[np.ndarray, tuple[int, int, int, int], np.ndarray]:
    """A mask the size of the new canvas: its black (kept) area says where the picture goes;
    the picture is fitted into that area's bounding box and centred there."""
    plane = mask_plane(mask_pixels, invert=params.invert_mask)
    canvas = (plane.shape[1], plane.shape[0])
    if params.size is not None and params.size != canvas:
        raise InvalidParameterError(
            f"the mask is {canvas[0]}x{canvas[1]} but the requested size is "
            f"{params.size[0]}x{params.size[1]}: an expand mask is the size of the new canvas"
        )
    kept = (plane < 128).astype(np.uint8) * 255
    if not kept.any():
        raise InvalidParameterError("the mask keeps nothing: black marks where the picture goes")
    x0, y0, x1, y1 = subject_box(kept)
    inset = Inset(top=y0, bottom=canvas[1] - y1, left=x0, right=canvas[0] - x1)
    placed, box = place_on_canvas(layer, canvas, inset=inset)
    keep = np.minimum(placed[..., 3], 255 - plane)
    return placed, box, keep


OP = Op("expand", ExpandParams, expand, images=("mask",))
