"""The ops catalog: every entry point looks ops up here by name."""

from __future__ import annotations

from typing import Any

from lampyris.errors import InvalidParameterError
from lampyris.ops import cutout as _cutout
from lampyris.ops import develop as _develop
from lampyris.ops import expand as _expand
from lampyris.ops import fill as _fill
from lampyris.ops import finish as _finish
from lampyris.ops import object_composite as _object_composite
from lampyris.ops.base import Op, OpResult

CATALOG: dict[str, Op] = {
    op.name: op
    for op in (_cutout.OP, _finish.OP, _develop.AUTO_TONE, _develop.AUTO_STRAIGHTEN,
               _develop.EDIT, _fill.OP, _expand.OP, _object_composite.OP)
}


def run(name: str, image: Any, params: dict[str, Any] | None = None, **kwargs: Any) -> OpResult:
    """Run op ``name`` on ``image`` with ``params`` validated by the op's own model."""
    try:
        op = CATALOG[name]
    except KeyError:
        raise InvalidParameterError(f"unknown op {name!r}: one of {', '.join(CATALOG)}") from None
    return op.run(image, op.params.model_validate(params or {}), **kwargs)


__all__ = ["CATALOG", "Op", "OpResult", "run"]
