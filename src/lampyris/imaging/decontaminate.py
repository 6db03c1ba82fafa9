"""Colour decontamination: remove the background's colour spill from semi-transparent edges.

Edge pixels are a mix ``I = α·F + (1-α)·B``; shown on a new background they keep a fringe of
the old one. We estimate the pure foreground ``F`` with blur fusion (Forte & Pitié, 2021: two
box-blur passes, large then small radius), which is linear-time and needs no solver.
"""

from __future__ import annotations

import cv2
import numpy as np


def _blur(x: np.ndarray, radius: int) -> np.ndarray:
    return cv2.blur(x, (radius, radius))


def _fusion(
    image: np.ndarray, fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    a = alpha[..., None]
    blurred_alpha = _blur(alpha, radius)[..., None]
    blurred_f = _blur(fg * a, radius) / (blurred_alpha + 1e-5)
    blurred_b = _blur(bg * (1.0 - a), radius) / ((1.0 - blurred_alpha) + 1e-5)
    f = blurred_f + a * (image - a * blurred_f - (1.0 - a) * blurred_b)
    return np.clip(f, 0.0, 1.0, out=f), blurred_b


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Foreground colours (float32 HxWx3 in [0,1]) for an RGB uint8 image and its matte.

    Radii scale with the image so a 12 MP photo gets the same relative neighbourhood as the
    1 MP images the method was tuned on.
    """
    image = rgb.astype(np.float32) * np.float32(1.0 / 255.0)
    side = max(alpha.shape)
    large = max(9, round(side / 11))
    small = max(3, round(side / 170))
    fg, bg = _fusion(image, image, image, alpha, large)
    return _fusion(image, fg, bg, alpha, small)[0]


def decontaminate(rgb: np.ndarray, alpha_u8: np.ndarray, amount: float) -> np.ndarray:
    """``rgb`` with edge colours moved ``amount`` (0..1) of the way to the estimated foreground,
    for an 8-bit matte ``alpha_u8``.

    Only the region around the soft edge is processed: elsewhere alpha is 0 (invisible) or 1
    (the estimate equals the input), so the result there is the input itself.
    """
    if amount <= 0:
        return rgb
    edge = (alpha_u8 > 0) & (alpha_u8 < 255)
    rows, cols = np.nonzero(edge.any(axis=1))[0], np.nonzero(edge.any(axis=0))[0]
    if rows.size == 0:
        return rgb
    side = max(alpha_u8.shape)
    margin = max(9, round(side / 11))
    y0, y1 = max(0, rows[0] - margin), min(alpha_u8.shape[0], rows[-1] + margin + 1)
    x0, x1 = max(0, cols[0] - margin), min(alpha_u8.shape[1], cols[-1] + margin + 1)
    region = rgb[y0:y1, x0:x1]
    alpha = alpha_u8[y0:y1, x0:x1].astype(np.float32) * np.float32(1.0 / 255.0)
    fg = estimate_foreground(region, alpha)
    mixed = region.astype(np.float32) * np.float32(1.0 - amount) + fg * np.float32(255.0 * amount)
    out = rgb.copy()
    out[y0:y1, x0:x1] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return out
