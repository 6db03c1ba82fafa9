"""Fill masks as clients send them: any image, white = generate, black = keep.

A mask arrives as a PNG or JPEG of any mode; what counts is its brightness. Transparent
mask pixels count as black (keep), so a mask painted on a transparent layer works too.

Usage:
    plane = mask_plane(decoded_mask.pixels, invert=True)   # HxW uint8, non-zero = fill
"""

from __future__ import annotations

import cv2
import numpy as np

from lampyris.errors import InvalidParameterError


def mask_plane(pixels: np.ndarray, *, invert: bool = False) -> np.ndarray:
    """The HxW uint8 fill mask of an image given as a mask (grey, RGB or RGBA)."""
    if pixels.ndim == 2:
        plane = pixels
    elif pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        plane = cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2GRAY)
        if pixels.shape[2] == 4:
            plane = cv2.multiply(plane, np.ascontiguousarray(pixels[..., 3]), scale=1 / 255)
    else:
        raise InvalidParameterError("a mask is a greyscale, RGB or RGBA image")
    if plane.dtype != np.uint8:
        raise InvalidParameterError("a mask must be 8-bit")
    return 255 - plane if invert else np.ascontiguousarray(plane)


def transparency(pixels: np.ndarray) -> np.ndarray | None:
    """The fill mask a cutout implies (its transparent area), or None for an opaque image."""
    if pixels.ndim != 3 or pixels.shape[2] != 4 or (pixels[..., 3] == 255).all():
        return None
    return 255 - pixels[..., 3]
