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


def png_bomb(width: int = 20_000, height: int = 10_000) -> bytes:
    """A valid greyscale PNG of ``width`` x ``height`` (200 MP by default) in a few hundred KB:
    rows of zeros compress ~1000:1, which is what makes such files dangerous."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + pixels
    block = row * 256
    parts = [packer.compress(block) for _ in range(height // 256)]
    parts.append(packer.compress(row * (height % 256)))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts))
            + chunk(b"IEND", b""))


def distinct_products(count: int, size: tuple[int, int] = (160, 120)) -> list[bytes]:
    """``count`` different small product JPEGs (position and colour vary), for batch runs."""
    rng = np.random.default_rng(7)
    w, h = size
    out = []
    for i in range(count):
        img = np.full((h, w, 3), 232 + i % 7, np.uint8)
        colour = tuple(int(c) for c in rng.integers(0, 200, 3))
        centre = (w // 2 + int(rng.integers(-12, 13)), h // 2 + int(rng.integers(-8, 9)))
        cv2.circle(img, centre, min(w, h) // 3, colour, -1)
        buffer = io.BytesIO()
        Image.fromarray(img).save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out
