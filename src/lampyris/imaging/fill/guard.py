"""The fidelity guard: outside the fill mask the output equals the input, pixel for pixel.

Every fill engine's result passes through ``enforce``; ``check`` measures what a job reports,
so the promise is verified on the very pixels that are delivered, not assumed.

``refuse`` turns a check that did not hold into the one error every entry point reports
(the CLI, a batch item, a server job), so a changed product is never delivered.

Usage::

    output = enforce(original, filled, mask, feather=4)
    result["fidelity"] = refuse(check(original, output, mask))
"""

from __future__ import annotations

import cv2
import numpy as np

from lampyris.errors import FidelityError, InvalidParameterError


def _hole(original: np.ndarray, other: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if other.shape != original.shape:
        raise InvalidParameterError(
            f"the images differ in shape: {original.shape} and {other.shape}"
        )
    if mask.shape != original.shape[:2]:
        raise InvalidParameterError(
            f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
            f"{original.shape[1]}x{original.shape[0]}"
        )
    return mask.astype(bool)


def enforce(
    original: np.ndarray, filled: np.ndarray, mask: np.ndarray, *, feather: int = 0
) -> np.ndarray:
    """``filled`` with every pixel outside ``mask`` (non-zero = hole) copied back from
    ``original``. With ``feather`` > 0 the fill is blended towards the original over the
    hole's outer ``feather`` pixels, so a seam fades in; pixels outside stay exact."""
    if feather < 0:
        raise InvalidParameterError(f"feather must be zero or more, not {feather}")
    hole = _hole(original, filled, mask)
    out = original.copy()
    if not hole.any():
        return out
    if feather == 0:
        out[hole] = filled[hole]
        return out
    # Distance (in px) from each hole pixel to the nearest pixel outside the hole: 1 at the rim.
    inside = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)
    weight = np.clip(inside / float(feather + 1), 0.0, 1.0)[hole]
    if original.ndim == 3:
        weight = weight[:, None]
    blended = weight * filled[hole].astype(np.float32) + (1.0 - weight) * original[hole]
    out[hole] = np.clip(np.rint(blended), 0, np.iinfo(original.dtype).max).astype(original.dtype)
    return out


def check(original: np.ndarray, output: np.ndarray, mask: np.ndarray) -> dict[str, bool | int]:
    """What a job result reports: whether the guard held, how many pixels outside the mask
    changed, and the largest channel difference among them."""
    hole = _hole(original, output, mask)
    outside = ~hole
    diff = np.abs(original[outside].astype(np.int64) - output[outside].astype(np.int64))
    if diff.ndim == 2:
        diff = diff.max(axis=1)
    changed = int(np.count_nonzero(diff))
    return {
        "held": changed == 0,
        "changed_outside": changed,
        "max_difference_outside": int(diff.max()) if diff.size else 0,
    }


def refuse(report: dict[str, bool | int]) -> dict[str, bool | int]:
    """``report`` when the guard held; otherwise the ``FidelityError`` that refuses it."""
    if not report["held"]:
        raise FidelityError(
            f"the fidelity guard did not hold: {report['changed_outside']} pixels outside the "
            f"mask changed (by up to {report['max_difference_outside']} levels); nothing was "
            "delivered")
    return report
