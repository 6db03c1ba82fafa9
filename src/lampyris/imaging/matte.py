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
    full-resolution work is, on edge tiles only, two warps, a multiply and a saturating add.
    ``work`` is ``working_copy(rgb)`` when the caller already has it.
    """
    small = working_copy(rgb) if work is None else work
    wh, ww = small.shape[:2]
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
    if small.shape != rgb.shape:
        return _apply_on_edges(a, b, small, rgb)
    return _apply(a, b, rgb)


def _apply(a: np.ndarray, b: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """``a·grey + b`` as 8-bit alpha, for coefficients already at ``rgb``'s size."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    np.multiply(a, grey, out=a)  # numpy's mixed-type multiply is ~5x OpenCV's here
    return cv2.add(a, b, dtype=cv2.CV_8U)  # rounds and saturates to 0..255


TILE = 16
"""Working-resolution tile side for the full-resolution pass (about 66 px on a 12 MP photo)."""


def _apply_on_edges(
    a: np.ndarray, b: np.ndarray, small: np.ndarray, rgb: np.ndarray
) -> np.ndarray:
    """Upsample the model to full resolution only where the matte is undecided.

    Away from edges the alpha is 0 or 255 at the working resolution, and two working pixels
    from any undecided one it stays so at full resolution; those tiles are filled from the
    working alpha. Only edge tiles get the upsampled ``a·grey + b`` (a third of a typical
    product photo), which halves the full-resolution cost.
    """
    h, w = rgb.shape[:2]
    wh, ww = small.shape[:2]
    alpha_w = _apply(a.copy(), b, small)
    unsure = cv2.dilate(((alpha_w > 0) & (alpha_w < 255)).astype(np.uint8), np.ones((5, 5)))
    th, tw = -(-wh // TILE), -(-ww // TILE)
    padded = np.zeros((th * TILE, tw * TILE), np.uint8)
    padded[:wh, :ww] = unsure
    tiles = np.asarray(padded.reshape(th, TILE, tw, TILE).any(axis=(1, 3)))
    out = cv2.resize(alpha_w, (w, h), interpolation=cv2.INTER_NEAREST)
    sx, sy = ww / w, wh / h
    for ty in range(th):
        y0, y1 = _span(ty, 1, sy, h)
        row = tiles[ty]
        tx = 0
        while tx < tw:  # runs of edge tiles along the row become one rectangle
            if not row[tx]:
                tx += 1
                continue
            end = tx
            while end < tw and row[end]:
                end += 1
            x0, x1 = _span(tx, end - tx, sx, w)
            m = np.array([[sx, 0, (x0 + 0.5) * sx - 0.5], [0, sy, (y0 + 0.5) * sy - 0.5]],
                         np.float32)
            size = (x1 - x0, y1 - y0)
            flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
            a_up = cv2.warpAffine(a, m, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
            b_up = cv2.warpAffine(b, m, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
            out[y0:y1, x0:x1] = _apply(a_up, b_up, rgb[y0:y1, x0:x1])
            tx = end
    return out


def _span(start: int, count: int, scale: float, limit: int) -> tuple[int, int]:
    """Full-resolution pixel range covered by ``count`` working tiles from tile ``start``."""
    lo = int(start * TILE / scale)
    hi = min(limit, int(np.ceil((start + count) * TILE / scale)))
    return lo, hi


def binarise(alpha: np.ndarray, threshold: int = 128) -> np.ndarray:
    """A hard 0/255 mask for callers that ask for Photoshop's ``binary`` mask format."""
    return np.where(alpha >= threshold, np.uint8(255), np.uint8(0))
