"""A photo whose true matte is known, and the rough masks a person or another tool would draw
of it: for the refine-mask tests (op and route).

The subject is a wavy yellow blob, its edge anti-aliased at 4x, on a noisy green gradient
(``wavy_subject``) or on wood grain whose light stripes have the subject's own colour
(``grain_subject``: colour alone cannot tell them apart); ``rough_mask`` grows the true shape
and cuts it into blocks, so the rough edge misses the true one by up to about
``grow + block / 2`` pixels, and ``brushed_mask`` grows it and blurs it, as a soft brush does.
"""

from __future__ import annotations

import cv2
import numpy as np


def wavy_subject(width: int = 480, height: int = 360,
                 seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(HxWx3 uint8 photo, HxW float32 true matte in [0, 1])."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height * 4, 0:width * 4] / 4.0
    angle = np.arctan2(yy - height / 2, xx - width / 2)
    radius = np.hypot(xx - width / 2, yy - height / 2)
    edge = min(width, height) * (0.28 + 0.05 * np.sin(5 * angle) + 0.02 * np.sin(13 * angle))
    alpha = cv2.resize((radius < edge).astype(np.float32), (width, height),
                       interpolation=cv2.INTER_AREA)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    ground = np.dstack([60 + 80 * x / width, np.full_like(x, 140.0), 90 + 40 * y / height])
    ground += rng.normal(0, 6, ground.shape)
    subject = np.array([230.0, 180.0, 60.0]) + rng.normal(0, 6, (height, width, 3))
    photo = alpha[..., None] * subject + (1 - alpha[..., None]) * ground
    return np.clip(photo, 0, 255).astype(np.uint8), alpha.astype(np.float32)


def grain_subject(width: int = 480, height: int = 360,
                  seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``wavy_subject``'s blob on wavy wood grain, dark brown to the blob's own yellow."""
    _, alpha = wavy_subject(width, height, seed)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    light = ((np.sin((x + 8 * np.sin(y / 23)) / 9.0) + 1) / 2)[..., None]
    ground = np.array([110.0, 70.0, 35.0]) * (1 - light) + np.array([215.0, 165.0, 70.0]) * light
    ground += rng.normal(0, 6, ground.shape)
    subject = np.array([230.0, 180.0, 60.0]) + rng.normal(0, 6, (height, width, 3))
    photo = alpha[..., None] * subject + (1 - alpha[..., None]) * ground
    return np.clip(photo, 0, 255).astype(np.uint8), alpha


def brushed_mask(alpha: np.ndarray, grow: int = 7, blur: float = 3.0) -> np.ndarray:
    """The true shape grown by ``grow`` px and blurred (HxW uint8): a soft brush's mask."""
    inside = (alpha > 0.5).astype(np.uint8) * 255
    inside = cv2.dilate(inside, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    return cv2.GaussianBlur(inside, (0, 0), blur)


def rough_mask(alpha: np.ndarray, block: int = 16, grow: int = 4) -> np.ndarray:
    """A blocky, grown 0/255 mask of ``alpha``'s subject (HxW uint8)."""
    h, w = alpha.shape
    inside = (alpha > 0.5).astype(np.uint8) * 255
    inside = cv2.dilate(inside, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    small = cv2.resize(inside, (w // block, h // block), interpolation=cv2.INTER_AREA)
    return cv2.resize(np.where(small > 127, 255, 0).astype(np.uint8), (w, h),
                      interpolation=cv2.INTER_NEAREST)


def edge_band(alpha: np.ndarray, reach: int = 15) -> np.ndarray:
    """Pixels within ``reach`` of the true matte's soft edge: where refinement is judged."""
    soft = ((alpha > 0.02) & (alpha < 0.98)).astype(np.uint8)
    return cv2.dilate(soft, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0


def edge_error(mask: np.ndarray, alpha: np.ndarray) -> float:
    """Mean |mask − alpha| (mask uint8 0..255) over the edge band."""
    band = edge_band(alpha)
    return float(np.abs(mask.astype(np.float32) / 255 - alpha)[band].mean())
