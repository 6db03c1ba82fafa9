"""Encode uint8 pixels to PNG, JPEG, WebP or PSD bytes: always tagged sRGB (PSD: an RGB document
of one layer, ``imaging.psd``), metadata only on request.

This is the encoder seam: Pillow/OpenCV failures become InvalidParameterError here.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Literal, get_args

import cv2
import numpy as np
from PIL import Image, ImageCms

from lampyris.errors import InvalidParameterError

OutputFormat = Literal["png", "jpeg", "webp", "psd"]

_EXTENSIONS: dict[str, str] = {"png": ".png", "jpeg": ".jpg", "webp": ".webp", "psd": ".psd"}
_EXIF_HEADER = b"Exif\x00\x00"
_DEFAULT_QUALITY = 90
_DEFAULT_PNG_LEVEL = 1
_WEBP_MAX_SIDE = 16383
_JPEG_MAX_SIDE = 65535

# Built once: an ICC v2 sRGB profile (~600 bytes) for the formats that carry ICC (JPEG, WebP).
SRGB_ICC: bytes = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

# WebP effort: lossy method 2 is ~2x faster than Pillow's default 4 for ~3% more bytes on a
# 12 MP photo; lossless method 1 / effort 25 matches the default's size ~1.5x faster.
# Lossless keeps libwebp's exact=False: colour under alpha 0 is invisible and may be rewritten.
_WEBP_LOSSY_METHOD = 2
_WEBP_LOSSLESS = {"method": 1, "quality": 25}


def extension(format: OutputFormat) -> str:
    """File extension (with the dot) for an output format."""
    _check_format(format)
    return _EXTENSIONS[format]


def encode(
    pixels: np.ndarray,
    format: OutputFormat,
    *,
    quality: int | None = None,
    lossless: bool = False,
    exif: bytes | None = None,
    xmp: bytes | None = None,
    png_compression: int | None = None,
) -> bytes:
    """Encode HxW (greyscale), HxWx3 (RGB) or HxWx4 (RGBA) uint8 pixels.

    ``quality`` (1-100, default 90) applies to JPEG and lossy WebP; lossless WebP uses a fixed
    effort instead. ``png_compression`` is the zlib level 0-9; the default (None: 1) is tuned
    for speed because PNG deflate dominates batches of 12 MP cutouts. EXIF/XMP are written only
    if given.
    """
    _check_format(format)
    pixels = _check_pixels(pixels)
    q = _DEFAULT_QUALITY if quality is None else quality
    if isinstance(q, bool) or not isinstance(q, int) or not 1 <= q <= 100:
        raise InvalidParameterError(f"quality must be an integer 1-100, got {quality!r}")
    if format == "png":
        png_compression = _DEFAULT_PNG_LEVEL if png_compression is None else png_compression
        if isinstance(png_compression, bool) or png_compression not in range(10):
            raise InvalidParameterError(f"png_compression must be 0-9, got {png_compression!r}")
        return _encode_png(pixels, png_compression, exif, xmp)
    if format == "psd":  # psd-tools is imported only when a PSD is written
        from lampyris.imaging.psd import flat_document

        return flat_document(pixels)
    if lossless and format == "jpeg":
        raise InvalidParameterError("JPEG cannot be lossless: use PNG or lossless WebP")
    height, width = pixels.shape[:2]
    side = _WEBP_MAX_SIDE if format == "webp" else _JPEG_MAX_SIDE
    if max(width, height) > side:
        raise InvalidParameterError(f"{format} images are limited to {side} pixels per side")
    options: dict[str, object] = {}
    if exif:
        options["exif"] = exif if exif.startswith(_EXIF_HEADER) else _EXIF_HEADER + exif
    if xmp:
        options["xmp"] = bytes(xmp)
    if format == "jpeg":
        if pixels.ndim == 3 and pixels.shape[2] == 4:
            raise InvalidParameterError("JPEG has no alpha channel: give a background colour")
        image = Image.fromarray(pixels)
        options.update(quality=q, optimize=False)
        if q > 95:  # 4:2:0 caps a saturated edge near 40 dB PSNR whatever the quality
            options["subsampling"] = 0  # 4:4:4 (Firefly's q99: 47 dB, see api.firefly_wire)
        if pixels.ndim == 3:  # an RGB profile would be invalid on a greyscale JPEG
            options["icc_profile"] = SRGB_ICC
        return _pillow_save(image, "JPEG", options)
    image = Image.fromarray(pixels if pixels.ndim == 3 else np.dstack([pixels] * 3))
    options["icc_profile"] = SRGB_ICC
    if lossless:
        options.update(lossless=True, **_WEBP_LOSSLESS)
    else:
        options.update(quality=q, method=_WEBP_LOSSY_METHOD)
    return _pillow_save(image, "WEBP", options)


def _check_format(format: str) -> None:
    if format not in get_args(OutputFormat):
        raise InvalidParameterError(
            f"unknown output format {format!r}: expected one of {', '.join(get_args(OutputFormat))}"
        )


def _check_pixels(pixels: np.ndarray) -> np.ndarray:
    """Refuse anything but non-empty uint8 L/RGB/RGBA; return a C-contiguous array."""
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8:
        raise InvalidParameterError("pixels must be a uint8 numpy array")
    channels_ok = pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (3, 4))
    if not channels_ok or pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise InvalidParameterError(
            f"pixels must be HxW, HxWx3 or HxWx4 and non-empty, got shape {pixels.shape}"
        )
    return np.ascontiguousarray(pixels)


def _pillow_save(image: Image.Image, fmt: str, options: dict[str, object]) -> bytes:
    buf = io.BytesIO()
    try:
        image.save(buf, fmt, **options)
    except (OSError, ValueError) as exc:  # e.g. EXIF/XMP larger than one JPEG marker
        raise InvalidParameterError(f"cannot encode {fmt}: {exc}") from exc
    return buf.getvalue()


def _encode_png(pixels: np.ndarray, level: int, exif: bytes | None, xmp: bytes | None) -> bytes:
    """PNG through OpenCV, then splice sRGB/eXIf/iTXt chunks in after IHDR.

    OpenCV cannot write iCCP, but an sRGB chunk is the PNG-native sRGB tag. Level 1 uses the
    SUB filter with zlib's RLE strategy: 2-3x faster than Pillow's level 1 and smaller too.
    """
    colour = pixels.ndim == 3
    if colour:
        code = cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
        pixels = cv2.cvtColor(pixels, code)
    params = [cv2.IMWRITE_PNG_COMPRESSION, level]
    if level == 1:
        params += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB,
                   cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
    try:
        ok, buf = cv2.imencode(".png", pixels, params)
    except cv2.error as exc:
        raise InvalidParameterError(f"cannot encode PNG: {exc}") from exc
    del pixels  # the BGR(A) copy goes before the file is joined (400 MB at 100 MP RGBA)
    data = buf.reshape(-1).data  # a memoryview: no 10 MB copy before the join
    if not ok or bytes(data[12:16]) != b"IHDR":
        raise InvalidParameterError("cannot encode PNG: the encoder returned no image")
    chunks = []
    if colour:  # greyscale masks are data, not colour: leave them untagged
        chunks.append(_png_chunk(b"sRGB", b"\x00"))  # rendering intent: perceptual
    if exif:
        body = exif[len(_EXIF_HEADER) :] if exif.startswith(_EXIF_HEADER) else exif
        chunks.append(_png_chunk(b"eXIf", body))
    if xmp:  # keyword, NUL, no compression, method 0, empty language and translated keyword
        chunks.append(_png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp))
    ihdr_end = 8 + 12 + 13  # signature + IHDR (length, type, 13 bytes of data, CRC)
    return b"".join([data[:ihdr_end], *chunks, data[ihdr_end:]])


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
