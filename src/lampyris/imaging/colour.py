"""Turn a Pillow image of any mode and embedded ICC profile into 8-bit sRGB RGB/RGBA pixels.

Everything downstream works on sRGB uint8, so this is the one place that knows about 16-bit and
float samples, palettes, premultiplied alpha, CMYK and colour profiles.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image, ImageCms

from lampyris.errors import UnsupportedImageError

__all__ = ["is_srgb", "to_srgb_array"]


def is_srgb(info: Mapping[Any, Any]) -> bool:
    """True when an image's pixels are sRGB already: no embedded profile, or an sRGB one."""
    icc = info.get("icc_profile")
    if not icc:
        return True
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return False  # let the general path decide what a broken profile means
    return profile.xcolor_space.strip() == "RGB" and "sRGB" in (profile.profile_description or "")


def to_srgb_array(image: Image.Image, *, reduce_to: tuple[int, int] | None = None) -> np.ndarray:
    """Any Pillow mode -> HxWx3 (RGB) or HxWx4 (RGBA) uint8 sRGB, through ``image.info``'s ICC.

    ``reduce_to=(w, h)`` box-reduces by the largest integer factor that keeps both sides >= it;
    shrinking before the ICC transform makes the transform cheaper. Pillow's own errors pass
    through untranslated (decode() runs this under its guard). The result is a fresh,
    writeable array.
    """
    im = _eight_bit(image)
    if reduce_to is not None:
        factor = min(im.width // reduce_to[0], im.height // reduce_to[1])
        if factor >= 2:  # ceil(size / factor) stays >= reduce_to; LA/RGBA are premultiplied
            im = im.reduce(factor)
    im = _apply_icc(im, image.info.get("icc_profile") or None)
    if im.mode not in ("RGB", "RGBA"):
        im = im.convert("RGBA" if im.mode == "LA" else "RGB")  # CMYK without profile: naive
    return _export(im)


_BAND_BYTES = 1 << 23


def _export(im: Image.Image) -> np.ndarray:
    """``np.array(im)`` band by band: ``np.asarray`` goes through ``tobytes()``, which holds
    its chunks and their join at once, and is read-only, so a writeable whole-image export
    costs two full-size copies more (600 MB on a 100 MP RGB image); ~8 MB bands cost none."""
    w, h = im.size
    channels = len(im.getbands())
    out = np.empty((h, w, channels), np.uint8)
    rows = max(1, _BAND_BYTES // max(1, w * channels))
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        out[y0:y1] = np.asarray(im.crop((0, y0, w, y1))).reshape(y1 - y0, w, channels)
    return out


def _eight_bit(im: Image.Image) -> Image.Image:
    """Reduce every mode to L, LA, RGB, RGBA or CMYK at 8 bits, keeping transparency."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode == "1":
        return im.convert("L")
    if mode in ("P", "PA"):
        return im.convert("RGBA" if mode == "PA" or im.has_transparency_data else "RGB")
    if mode in ("La", "RGBa"):  # premultiplied alpha
        return im.convert(mode.upper())
    if mode.startswith("I") or mode == "F":
        return Image.fromarray(_scale_to_uint8(np.asarray(im)))
    try:
        return im.convert("RGB")  # YCbCr, HSV, RGBX, ...
    except ValueError as exc:
        raise UnsupportedImageError(f"colour mode {mode!r} is not supported") from exc


def _scale_to_uint8(a: np.ndarray) -> np.ndarray:
    """High-bit greyscale to 8 bits by shifting, not clipping (Pillow's convert("L") clips)."""
    if a.dtype.kind == "u" and a.dtype.itemsize == 2:
        return (a >> 8).astype(np.uint8)
    if a.dtype.kind == "f":
        a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if a.dtype.kind in "iu" and lo >= 0 and hi <= 255:  # 32-bit container, 8-bit data
        return a.astype(np.uint8)
    if a.dtype.kind in "iu" and lo >= 0 and hi <= 65535:  # "I" holding 16-bit samples
        return (a >> 8).astype(np.uint8)
    if a.dtype.kind == "f" and lo >= 0 and hi <= 1:  # normalised float
        return np.rint(a * 255).astype(np.uint8)
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    return np.rint((a - lo) * (255.0 / (hi - lo))).astype(np.uint8)  # unknown range: stretch


_ICC_SPACE = {"L": "GRAY", "RGB": "RGB", "CMYK": "CMYK"}


def _apply_icc(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Transform through the embedded profile to sRGB; a broken or mismatched one is ignored."""
    if not icc:
        return im
    alpha = im.getchannel("A") if im.mode in ("LA", "RGBA") else None
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        space = src.profile.xcolor_space.strip()
        description = src.profile.profile_description or ""
        if _ICC_SPACE.get(im.mode.removesuffix("A")) != space or (
            space == "RGB" and "sRGB" in description  # already sRGB: skip a no-op transform
        ):
            return im
        colour = im.convert(im.mode[:-1]) if alpha is not None else im
        out = ImageCms.profileToProfile(
            colour,
            src,
            ImageCms.createProfile("sRGB"),  # built per call: lcms handles are not shared
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
            outputMode="RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im  # the naive conversion beats refusing a photo over its profile
    assert out is not None  # profileToProfile returns None only when inPlace=True
    if alpha is not None:
        out.putalpha(alpha)
    return out
