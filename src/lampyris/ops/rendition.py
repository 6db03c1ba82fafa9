"""The rendition op: one image at another width, its aspect ratio kept.

Photoshop's ``renditionCreate`` writes many sizes and formats of one document in one job; for
a raster input each output is this op (its ``width``, ``maxWidth``) followed by the output's
own encoding, so a job decodes once and renders each size from the full image. A PSD input
is refused: lampyris reads no layers, and Pillow's flattened preview of a PSD is not what
Photoshop would render.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lampyris.errors import InvalidParameterError, UnsupportedImageError
from lampyris.imaging.decode import DecodedImage
from lampyris.imaging.layout import oversize, resize_layer
from lampyris.ops.base import Op, OpResult, Timings

MAX_WIDTH = 32768


class RenditionParams(BaseModel):
    """``width`` 0 keeps the image's width; ``max_width`` (0: none) caps the result, whatever
    ``width`` asks, as Adobe's ``maxWidth`` does. The height follows the aspect ratio."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width: int = Field(default=0, ge=0, le=MAX_WIDTH)
    max_width: int = Field(default=0, ge=0, le=MAX_WIDTH)


def target_size(size: tuple[int, int], params: RenditionParams) -> tuple[int, int]:
    """(width, height) of the rendition of an image of ``size``: ``max_width`` caps the width
    asked for (or the image's), so an upscale past it is capped too."""
    width, height = size
    target = params.width or width
    if params.max_width > 0:
        target = min(target, params.max_width)
    return target, max(1, round(height * target / width))


def rendition(image: DecodedImage | np.ndarray, params: RenditionParams | None = None
              ) -> OpResult:
    """``image`` (colour or a mask) resized to the rendition's width (area filter down, cubic
    up; colour premultiplied by alpha so transparent pixels do not darken the edges)."""
    params = params or RenditionParams()
    if isinstance(image, DecodedImage) and image.format == "PSD":
        raise UnsupportedImageError(
            "PSD input: lampyris renders raster inputs only (JPEG, PNG, TIFF, WebP); export "
            "a flattened image from Photoshop and send that")
    pixels = image.pixels if isinstance(image, DecodedImage) else image
    if pixels.dtype != np.uint8 or not (pixels.ndim == 2 or (pixels.ndim == 3
                                                             and pixels.shape[2] in (3, 4))):
        raise InvalidParameterError("rendition takes an HxW, HxWx3 or HxWx4 uint8 image")
    size = target_size((pixels.shape[1], pixels.shape[0]), params)
    if (reason := oversize(*size, f"width {size[0]}")) is not None:
        raise InvalidParameterError(reason)
    timings = Timings()
    with timings.step("resize"):
        if pixels.ndim == 2 or pixels.shape[2] == 4:  # a mask, or colour with alpha
            out = resize_layer(pixels, size)
        elif size == (pixels.shape[1], pixels.shape[0]):
            out = pixels
        else:
            shrink = size[0] < pixels.shape[1]
            out = cv2.resize(pixels, size,
                             interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    meta: dict[str, Any] = {"width": size[0], "height": size[1], "timings": timings.steps}
    return OpResult(np.ascontiguousarray(out), meta)


OP = Op("rendition", RenditionParams, rendition)
