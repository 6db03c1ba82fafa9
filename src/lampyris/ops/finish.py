"""The finish op: a cutout's finishing (shadow, then background) on an RGBA layer.

The cutout op finishes its layer itself; a batch chain that develops the cutout before
finishing it (cutout → auto tone) runs this afterwards instead, so that the tone is judged on
and applied to the subject alone, and the background stays exactly the colour asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lampyris.errors import InvalidParameterError
from lampyris.imaging.composite import RGBA, over_background
from lampyris.imaging.decode import DecodedImage
from lampyris.ops.base import Op, OpResult, Timings
from lampyris.ops.cutout import parse_colour, shadowed


class FinishParams(BaseModel):
    """The cutout's ``shadow``, ``shadow_opacity`` and ``background``; ``grow`` lets the
    shadow add rows below a subject standing on the image's edge (the cutout grows unless it
    was fitted to a fixed canvas)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shadow: bool = False
    shadow_opacity: float = Field(default=0.45, ge=0.0, le=1.0)
    background: RGBA | None = None
    grow: bool = True

    _colour = field_validator("background", mode="before")(
        lambda v: None if v is None else parse_colour(v)
    )


def finish(image: DecodedImage | np.ndarray, params: FinishParams | None = None) -> OpResult:
    """``image`` (HxWx4) with a shadow under its subject and/or over a background colour."""
    params = params or FinishParams()
    layer = image.pixels if isinstance(image, DecodedImage) else image
    if layer.ndim != 3 or layer.shape[2] != 4 or layer.dtype != np.uint8:
        raise InvalidParameterError("finish takes an HxWx4 uint8 layer (a cutout)")
    timings = Timings()
    if params.shadow:
        with timings.step("shadow"):
            layer = shadowed(layer, params.shadow_opacity, grow=params.grow)
    if params.background is not None:
        with timings.step("background"):
            layer = over_background(layer, params.background)
    meta: dict[str, Any] = {"timings": timings.steps}
    return OpResult(layer, meta)


OP = Op("finish", FinishParams, finish)
