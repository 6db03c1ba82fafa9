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


def refine_matte(
    matte: np.ndarray,
    rgb: np.ndarray,
    *,
    eps: float = 1e-3,
    levels: tuple[float, float] = LEVELS,
    work_side: int = WORK_SIDE,
) -> np.ndarray:
    """Upsample ``matte`` (float32 [0,1], network resolution) to the size of ``rgb``.

    The filter radius is about one network pixel, so edges move to the image's edges without
    the matte being smoothed; ``eps`` trades edge snapping (small) against smoothness (large).
    """
    h, w = rgb.shape[:2]
    scale = min(1.0, work_side / max(h, w))
    ww, wh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(rgb, (ww, wh), interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    guide = _grey(small)
    p = cv2.resize(matte.astype(np.float32), (ww, wh), interpolation=cv2.INTER_LINEAR)
    r = max(1, round(max(ww, wh) / max(matte.shape)))

    mean_i = _box(guide, r)
    mean_p = _box(p, r)
    a = (_box(guide * p, r) - mean_i * mean_p) / (_box(guide * guide, r) - mean_i * mean_i + eps)
    b = mean_p - a * mean_i
    a, b = _box(a, r), _box(b, r)
    if scale < 1:
        a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
        guide = _grey(rgb)
    q = cv2.multiply(a, guide)
    q = cv2.add(q, b, dst=q)
    return apply_levels(q, levels)


def apply_levels(matte: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """Stretch ``[lo, hi]`` to ``[0, 1]`` and clip, in place."""
    lo, hi = levels
    if (lo, hi) != (0.0, 1.0):
        matte -= lo
        matte *= 1.0 / (hi - lo)
    return np.clip(matte, 0.0, 1.0, out=matte)


def binarise(matte: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """A hard mask (0 or 1) for callers that ask for Photoshop's ``binary`` mask format."""
    return (matte >= threshold).astype(np.float32)
