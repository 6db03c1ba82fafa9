"""Generated product photos and the checks a cutout of one must pass."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def product_photo(width: int = 640, height: int = 480, fmt: str = "JPEG") -> bytes:
    """A red disc on a light grey studio background: a subject u2netp finds reliably."""
    img = np.full((height, width, 3), 236, np.uint8)
    cv2.circle(img, (width // 2, height // 2), min(width, height) // 3, (200, 30, 30), -1)
    out = io.BytesIO()
    Image.fromarray(img).save(out, fmt, quality=90)
    return out.getvalue()


def assert_sane_cutout(png: bytes, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A PNG of ``size`` whose subject is opaque and whose background is transparent."""
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "RGBA" and image.size == size
    rgba = np.asarray(image)
    w, h = size
    assert rgba[h // 2, w // 2, 3] == 255, "subject centre must be opaque"
    corners = rgba[[0, 0, -1, -1], [0, -1, 0, -1], 3]
    assert (corners == 0).all(), "background corners must be transparent"
    subject = rgba[..., 3] > 127
    expected = np.pi * (min(w, h) // 3) ** 2 / (w * h)
    assert abs(subject.mean() - expected) < 0.02, "the matte covers about the disc"
    return rgba
