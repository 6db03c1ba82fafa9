"""The fill-masked-areas op: remove what several masks mark and fill it from the picture around
(Photoshop's ``/v1/fill-masked-areas``).

The masks are united (the brightest value wins) and handed to the fill op, so the engines,
their choice and the fidelity guard are the fill's own: outside the masks the output is the
input's exact pixels, or the fill is refused. Adobe's call removes objects, so the default
engine is ``patch`` (the picture's own texture continued into the hole), not ``auto``, which
would draw a studio backdrop when the masks cover most of the border.

A pipeline hands an op its extra images by keyword, so the masks arrive as ``mask``,
``mask_2`` … ``mask_16``: at most ``MAX_MASKS``.
"""

from __future__ import annotations

import numpy as np

from lampyris.errors import InvalidParameterError
from lampyris.imaging.decode import DecodedImage
from lampyris.imaging.fill.engines import EngineChoice
from lampyris.imaging.fill.mask import mask_plane
from lampyris.ops.base import Op, OpResult
from lampyris.ops.fill import FillParams, GenerativeParams, fill, plane_of

MAX_MASKS = 16
MASK_NAMES: tuple[str, ...] = ("mask", *(f"mask_{n}" for n in range(2, MAX_MASKS + 1)))


class FillMaskedAreasParams(GenerativeParams):
    """The fill's engine, prompt and seed; ``patch`` by default (removing objects)."""

    engine: EngineChoice = "patch"


def united(masks: list[DecodedImage | np.ndarray]) -> np.ndarray:
    """One HxW uint8 mask, non-zero wherever any of ``masks`` is (they must share a size)."""
    planes = [mask_plane(plane_of(m)) for m in masks]
    first = planes[0].shape
    for number, plane in enumerate(planes[1:], 2):
        if plane.shape != first:
            raise InvalidParameterError(
                f"mask {number} is {plane.shape[1]}x{plane.shape[0]} but mask 1 is "
                f"{first[1]}x{first[0]}: give every mask the image's size")
    return np.maximum.reduce(planes) if len(planes) > 1 else planes[0]


def fill_masked_areas(
    image: DecodedImage | np.ndarray,
    params: FillMaskedAreasParams | None = None,
    **masks: DecodedImage | np.ndarray,
) -> OpResult:
    """``image`` with the areas of every mask (white = remove) filled by the fill engines."""
    params = params or FillMaskedAreasParams()
    unknown = sorted(set(masks) - set(MASK_NAMES))
    if unknown:
        raise InvalidParameterError(f"unknown mask names {', '.join(unknown)}: at most "
                                    f"{MAX_MASKS} masks, named mask, mask_2 … mask_{MAX_MASKS}")
    given = [masks[name] for name in MASK_NAMES if name in masks]
    if not given:
        raise InvalidParameterError("fill-masked-areas needs at least one mask (white = fill)")
    fill_params = FillParams(**params.model_dump())
    result = fill(image, fill_params, mask=united(given))
    result.metadata["masks"] = len(given)
    return result


OP = Op("fill_masked_areas", FillMaskedAreasParams, fill_masked_areas, images=MASK_NAMES)
