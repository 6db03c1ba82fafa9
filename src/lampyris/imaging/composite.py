"""Assembling outputs: an RGBA cutout from image and matte, or the cutout over a colour."""

from __future__ import annotations

import cv2
import numpy as np

RGBA = tuple[int, int, int, float]
"""A background colour: red, green, blue 0-255 and alpha 0-1 (Photoshop v2's shape)."""


def cutout_rgba(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """HxWx4: the image's colours with the matte as alpha (not premultiplied).

    Fully transparent pixels become (0, 0, 0, 0), as rembg and Photoshop write them: the old
    background's colours are not kept hidden in the file, and PNGs come out a third smaller.
    """
    rgba = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2RGBA)
    rgba[..., 3] = alpha
    return cv2.bitwise_and(rgba, rgba, mask=alpha)


def over_background(rgba: np.ndarray, colour: RGBA) -> np.ndarray:
    """``rgba`` composited over a flat colour: RGB when the colour is opaque, else RGBA."""
    r, g, b, bg_alpha = colour
    a = rgba[..., 3:4].astype(np.float32) * np.float32(1.0 / 255.0)
    bg = np.asarray((r, g, b), np.float32)
    if bg_alpha >= 1.0:
        rgb = rgba[..., :3].astype(np.float32) * a + bg * (1.0 - a)
        return (rgb + 0.5).astype(np.uint8)
    out_a = a + np.float32(bg_alpha) * (1.0 - a)
    premul = rgba[..., :3].astype(np.float32) * a + bg * np.float32(bg_alpha) * (1.0 - a)
    rgb = premul / np.maximum(out_a, 1e-6)
    out = np.empty_like(rgba)
    out[..., :3] = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    out[..., 3] = np.clip(out_a[..., 0] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out
