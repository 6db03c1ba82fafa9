"""Shared fixtures for the imaging tests: hand-built ICC profiles and in-memory image files.

littlecms can only *create* sRGB/Lab/XYZ profiles, so the non-sRGB ones are written byte by
byte here (ICC v2: header, tag table, tags) to exercise real colour management.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from PIL import Image

D50 = (0.9642, 1.0, 0.8249)
# Adobe RGB (1998) colorants adapted to D50, as in Adobe's own profile; gamma 563/256.
ADOBE_RGB_D50 = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))
ADOBE_GAMMA = 563 / 256
SRGB_D50 = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
# What the hand-built CMYK profile says pure cyan ink looks like (naive conversion: 0,255,255).
PRINT_CYAN = (0, 160, 220)


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(v: tuple[float, float, float]) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(c) for c in v)


def _desc(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_)) + ascii_ + b"\0" * 8 + b"\0" * 70


def _gamma(g: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(g * 256)) + b"\0\0"


def build_icc(device_class: bytes, space: bytes, pcs: bytes, tags: dict[bytes, bytes]) -> bytes:
    """Assemble an ICC v2.1 profile from raw tag bodies (4-byte aligned, as the spec asks)."""
    tags = {b"desc": _desc("lampyris test profile"), b"cprt": b"text\0\0\0\0none\0", **tags}
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags.items():
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = offset + len(body)
    header = (
        struct.pack(">I", size) + b"\0\0\0\0" + struct.pack(">I", 0x02100000)
        + device_class + space + pcs + b"\0" * 12 + b"acsp" + b"\0" * 24
        + struct.pack(">I", 0) + b"".join(_s15(c) for c in D50) + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def srgb_to_lab_d50(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """Reference maths: sRGB -> XYZ (D50-adapted matrix) -> CIELAB."""
    c = np.array(rgb, dtype=np.float64) / 255
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = np.array(SRGB_D50).T @ lin / np.array(D50)
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def _cmyk_lut() -> bytes:
    """lut16 (mft2) A2B0: a 2-point grid over C, M, Y, K; corners hold Lab (v2 encoding)."""
    out = b"mft2\0\0\0\0" + bytes([4, 3, 2, 0])
    out += b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1)) + struct.pack(">HH", 2, 2)
    out += struct.pack(">8H", *([0, 65535] * 4))
    for index in range(16):  # first input channel (C) varies slowest
        c, m, y, k = ((index >> shift) & 1 for shift in (3, 2, 1, 0))
        rgb = tuple(round(255 * (1 - ink) * (1 - k)) for ink in (c, m, y))
        if (c, m, y, k) == (1, 0, 0, 0):
            rgb = PRINT_CYAN
        lab_l, lab_a, lab_b = srgb_to_lab_d50(rgb)  # type: ignore[arg-type]
        out += struct.pack(
            ">3H",
            round(min(max(lab_l, 0), 100) * 0xFF00 / 100),
            round((lab_a + 128) * 256),
            round((lab_b + 128) * 256),
        )
    return out + struct.pack(">6H", *([0, 65535] * 3))


@pytest.fixture(scope="session")
def adobe_rgb_icc() -> bytes:
    curve = _gamma(ADOBE_GAMMA)
    r, g, b = ADOBE_RGB_D50
    return build_icc(b"mntr", b"RGB ", b"XYZ ", {
        b"wtpt": _xyz(D50), b"rXYZ": _xyz(r), b"gXYZ": _xyz(g), b"bXYZ": _xyz(b),
        b"rTRC": curve, b"gTRC": curve, b"bTRC": curve,
    })


@pytest.fixture(scope="session")
def linear_gray_icc() -> bytes:
    """Greyscale with gamma 1.0: stored 128 is 50% light, i.e. sRGB ~188."""
    return build_icc(b"mntr", b"GRAY", b"XYZ ", {b"wtpt": _xyz(D50), b"kTRC": _gamma(1.0)})


@pytest.fixture(scope="session")
def cmyk_icc() -> bytes:
    return build_icc(b"prtr", b"CMYK", b"Lab ", {b"wtpt": _xyz(D50), b"A2B0": _cmyk_lut()})


@pytest.fixture(scope="session")
def print_cyan() -> tuple[int, int, int]:
    """The sRGB colour cmyk_icc assigns to pure cyan ink."""
    return PRINT_CYAN


@pytest.fixture(scope="session")
def adobe_rgb_to_srgb() -> Callable[[tuple[int, int, int]], tuple[int, int, int]]:
    """Reference maths, independent of littlecms: Adobe RGB -> XYZ (D50) -> sRGB."""

    def convert(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
        linear = (np.array(rgb) / 255) ** ADOBE_GAMMA
        xyz = np.array(ADOBE_RGB_D50).T @ linear
        c = np.clip(np.linalg.solve(np.array(SRGB_D50).T, xyz), 0, 1)
        encoded = np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)
        r, g, b = (int(v) for v in np.rint(encoded * 255))
        return r, g, b

    return convert


@pytest.fixture
def save() -> Callable[..., bytes]:
    """Encode a PIL image (or a uint8 array) with Pillow, returning the file's bytes."""

    def _save(image: Image.Image | np.ndarray, fmt: str, **options: Any) -> bytes:
        if isinstance(image, np.ndarray):
            image = Image.fromarray(image)
        buf = io.BytesIO()
        image.save(buf, fmt, **options)
        return buf.getvalue()

    return _save
