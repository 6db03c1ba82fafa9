"""The ops catalog: every entry point looks ops up here by name."""

from __future__ import annotations

from typing import Any

from lampyris.errors import InvalidParameterError
from lampyris.ops import cutout as _cutout
from lampyris.ops import depth_blur as _depth_blur
from lampyris.ops import develop as _develop
from lampyris.ops import expand as _expand
from lampyris.ops import fill as _fill
from lampyris.ops import fill_masked_areas as _fill_masked_areas
from lampyris.ops import finish as _finish
from lampyris.ops import generate as _generate
from lampyris.ops import object_composite as _object_composite
from lampyris.ops import product_crop as _product_crop
from lampyris.ops import refine_mask as _refine_mask
from lampyris.ops import rendition as _rendition
from lampyris.ops.base import Op, OpResult

CATALOG: dict[str, Op] = {
    op.name: op
    for op in (_cutout.OP, _finish.OP, _develop.AUTO_TONE, _develop.AUTO_STRAIGHTEN,
               _develop.EDIT, _fill.OP, _expand.OP, _object_composite.OP,
               _product_crop.OP, _product_crop.AUTO_CROP, _rendition.OP, _depth_blur.OP,
               _refine_mask.OP, _fill_masked_areas.OP,
               _generate.GENERATE, _generate.GENERATE_SIMILAR)
}


def run(name: str, image: Any, params: dict[str, Any] | None = None, **kwargs: Any) -> OpResult:
    """Run op ``name`` on ``image`` with ``params`` validated by the op's own model."""
    try:
        op = CATALOG[name]
    except KeyError:
        raise InvalidParameterError(f"unknown op {name!r}: one of {', '.join(CATALOG)}") from None
    return op.run(image, op.params.model_validate(params or {}), **kwargs)


__all__ = ["CATALOG", "Op", "OpResult", "run"]
