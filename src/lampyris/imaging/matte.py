"""Matte refinement: carry a low-resolution network matte up to full resolution along the
image's own edges, instead of a plain resize that blurs the boundary (rembg's behaviour).

This is the fast guided filter (He & Sun, 2015): the local linear model ``q = a·I + b`` is
fitted at a working resolution, and only ``a`` and ``b`` — smooth by construction — are
upsampled, so the full-resolution cost is one multiply-add per pixel.
"""

from __future__ import annotations

import cv2
import numpy as np

WORK_SIDE = 1024
"""Long side of the working resolution where the linear model is fitted."""

LEVELS = (0.05, 0.95)
"""Matte values below/above these snap to 0/1: u2net leaves a faint haze over backgrounds
and a few percent of transparency inside subjects, which shows as grey fog on a catalog page."""


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) * np.float32(1.0 / 255.0)


def working_copy(rgb: np.ndarray, work_side: int = WORK_SIDE) -> np.ndarray:
    """``rgb`` area-reduced to at most ``work_side`` on its long side (itself if smaller).

    Made once per image: the network input is cut from it too, so a 12 MP photo is read at
    full resolution once for both instead of twice.
    """
    h, w = rgb.shape[:2]
    scale = work_side / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def refine_matte(
    matte: np.ndarray,
    rgb: np.ndarray,
    *,
    eps: float = 1e-3,
    levels: tuple[float, float] = LEVELS,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """Upsample ``matte`` (float32 [0,1], network resolution) to an 8-bit alpha the size of
    ``rgb``.

    The filter radius is about one network pixel, so edges move to the image's edges without
    the matte being smoothed; ``eps`` trades edge snapping (small) against smoothness (large).
    Levels and the 0-255 scale are folded into the low-resolution coefficients, so the
    full-resolution work is two resizes, a multiply and a saturating add. ``work`` is
    ``working_copy(rgb)`` when the caller already has it.
    """
    h, w = rgb.shape[:2]
    small = working_copy(rgb) if work is None else work
    wh, ww = small.shape[:2]
    scale = ww / w
    guide = _grey(small)
    p = cv2.resize(matte.astype(np.float32), (ww, wh), interpolation=cv2.INTER_LINEAR)
    r = max(1, round(max(ww, wh) / max(matte.shape)))

    mean_i = _box(guide, r)
    mean_p = _box(p, r)
    a = (_box(guide * p, r) - mean_i * mean_p) / (_box(guide * guide, r) - mean_i * mean_i + eps)
    b = mean_p - a * mean_i
    lo, hi = levels
    gain = 255.0 / (hi - lo)
    a = _box(a, r) * np.float32(gain / 255.0)  # per 8-bit grey level
    b = (_box(b, r) - np.float32(lo)) * np.float32(gain)
    if scale < 1:
        a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    np.multiply(a, grey, out=a)  # numpy's mixed-type multiply is ~5x OpenCV's here
    return cv2.add(a, b, dtype=cv2.CV_8U)  # rounds and saturates to 0..255


def binarise(alpha: np.ndarray, threshold: int = 128) -> np.ndarray:
    """A hard 0/255 mask for callers that ask for Photoshop's ``binary`` mask format."""
    return np.where(alpha >= threshold, np.uint8(255), np.uint8(0))
