"""The Firefly tests' picture: a textured product shot with a red disc (the product) and a
blue box in the lower-left corner (the object to remove), at any scale of 320x240; its hole
mask and its cutout; ``kept_psnr``, a JPEG result's closeness to its input outside the mask.
And ``leak_one_pixel``: a fill whose fidelity guard cannot hold."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from lampyris.imaging.fill import engines


def png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def kept_psnr(original: np.ndarray, output: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (dB) of ``output`` against ``original`` where ``mask`` is 0 (the kept region):
    how close a JPEG result stays to its input outside the fill (inf: identical)."""
    kept = mask == 0
    error = (original[kept].astype(np.float64) - output[kept]) ** 2
    mse = float(error.mean())
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def is_jpeg(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


def scene(scale: int = 1) -> np.ndarray:
    """(240·scale)x(320·scale) RGB: the disc centred at (190, 110)·scale, radius 65·scale."""
    h, w = 240 * scale, 320 * scale
    rng = np.random.default_rng(7)
    img = np.full((h, w, 3), 228, np.uint8)
    img[...] += rng.integers(0, 12, img.shape, dtype=np.uint8)
    img[_disc(scale)] = (190, 40, 40)
    img[160 * scale:200 * scale, 35 * scale:85 * scale] = (40, 90, 160)
    return img


def hole(scale: int = 1) -> tuple[slice, slice]:
    """Rows and columns of the fill mask: around the corner box."""
    return slice(150 * scale, 210 * scale), slice(20 * scale, 100 * scale)


def hole_mask(scale: int = 1) -> np.ndarray:
    mask = np.zeros((240 * scale, 320 * scale), np.uint8)
    mask[hole(scale)] = 255
    return mask


def cutout(scale: int = 1) -> np.ndarray:
    """The disc alone on transparency (RGBA)."""
    return np.dstack([scene(scale), np.where(_disc(scale), 255, 0).astype(np.uint8)])


def _disc(scale: int) -> np.ndarray:
    yy, xx = np.mgrid[:240 * scale, :320 * scale]
    return (yy - 110 * scale) ** 2 + (xx - 190 * scale) ** 2 < (65 * scale) ** 2


def leak_one_pixel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``enforce`` let one pixel outside the mask through, changed by 99 levels: the
    guard cannot fail with the engines as they are, so tests of its refusal need this."""
    real = engines.enforce

    def leaky(original: np.ndarray, filled: np.ndarray, mask: np.ndarray,
              **kwargs: int) -> np.ndarray:
        out = real(original, filled, mask, **kwargs)
        y, x = np.argwhere(mask == 0)[0]
        v = out[y, x].astype(int)
        out[y, x] = np.where(v < 128, v + 99, v - 99)
        return out

    monkeypatch.setattr(engines, "enforce", leaky)
