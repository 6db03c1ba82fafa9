"""The object-composite op: a product put into a scene generated from a prompt (Firefly's
Generate Object Composite).

The product is what the image's transparency shows, what a mask keeps (black), or else what
the cutout model finds. It is trimmed, fitted and stood on a new canvas (or placed by the
request's insets and alignment), and the scene is generated around it; its own pixels are
never changed.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from lampyris.errors import InvalidParameterError
from lampyris.imaging.composite import cutout_rgba
from lampyris.imaging.decode import DecodedImage
from lampyris.imaging.fill.engines import fill_region
from lampyris.imaging.fill.mask import mask_plane, transparency
from lampyris.imaging.fill.placement import Horizontal, Inset, Vertical, place_on_canvas
from lampyris.imaging.layout import subject_box
from lampyris.ops.base import Op, OpResult, Timings
from lampyris.ops.cutout import MAX_SIDE, parse_canvas, predict_matte
from lampyris.ops.fill import (
    GenerativeParams,
    fill_metadata,
    fill_review,
    pixels_of,
    plane_of,
)

# Without insets the product stands in the lower middle of the frame, as in a catalog shot.
_STAND = {"top": 0.14, "bottom": 0.10, "side": 0.12}


class CompositeParams(GenerativeParams):
    """``size`` is the output canvas (w, h; default the input's); insets (px) and alignment
    place the product, which is scaled to fit the room they leave. ``model`` is the cutout
    model used when the image is opaque and no mask is given."""

    engine: Literal["auto", "studio", "diffusion"] = "auto"
    prompt: str = Field(min_length=1, max_length=1024)
    size: tuple[int, int] | None = None
    top: int | None = Field(default=None, ge=0, le=MAX_SIDE)
    bottom: int | None = Field(default=None, ge=0, le=MAX_SIDE)
    left: int | None = Field(default=None, ge=0, le=MAX_SIDE)
    right: int | None = Field(default=None, ge=0, le=MAX_SIDE)
    horizontal: Horizontal | None = None
    vertical: Vertical | None = None
    model: str = Field(default="u2netp", min_length=1, max_length=4096)

    _size = field_validator("size", mode="before")(
        lambda v: None if v is None else parse_canvas(v)
    )


def _product(pixels: np.ndarray, mask: np.ndarray | None, model: str) -> tuple[np.ndarray, str]:
    """The product as an RGBA layer, and where its outline came from."""
    rgb = np.ascontiguousarray(pixels[..., :3])
    if mask is not None:
        return cutout_rgba(rgb, 255 - mask_plane(mask)), "mask"
    if transparency(pixels) is not None:
        return pixels, "alpha"
    return cutout_rgba(rgb, predict_matte(pixels, model=model)), "cutout"


def object_composite(
    image: DecodedImage | np.ndarray,
    params: CompositeParams,
    *,
    mask: DecodedImage | np.ndarray | None = None,
) -> OpResult:
    """The product of ``image`` in a scene drawn from ``params.prompt``."""
    pixels = pixels_of(image)
    timings = Timings()
    with timings.step("matte"):
        layer, outline = _product(pixels, None if mask is None else plane_of(mask),
                                  params.model)
        if not (layer[..., 3] > 0).any():
            raise InvalidParameterError("no product found in the image to place in a scene")
        x0, y0, x1, y1 = subject_box(layer[..., 3])
        layer = layer[y0:y1, x0:x1]
    size = params.size or (pixels.shape[1], pixels.shape[0])
    given = Inset(params.top, params.bottom, params.left, params.right)
    vertical = params.vertical
    if given == Inset():
        vertical = vertical or "bottom"
        w, h = size
        side = round(w * _STAND["side"])
        given = Inset(top=round(h * _STAND["top"]), bottom=round(h * _STAND["bottom"]),
                      left=side, right=side)
    with timings.step("place"):
        placed, box = place_on_canvas(layer, size, inset=given, horizontal=params.horizontal,
                                      vertical=vertical)
    engine = "studio" if params.engine == "auto" else params.engine
    hole = 255 - placed[..., 3]
    with timings.step("fill"):
        out, info = fill_region(
            np.ascontiguousarray(placed[..., :3]), hole, engine=engine,
            prompt=params.prompt, negative_prompt=params.negative_prompt, seed=params.seed,
        )
    x, y, w, h = box
    return OpResult(out, fill_metadata(info, timings, outline=outline,
                                       placement={"x": x, "y": y, "width": w, "height": h},
                                       review=fill_review(info, hole,
                                                          params.review_threshold)))


OP = Op("object_composite", CompositeParams, object_composite, images=("mask",))
