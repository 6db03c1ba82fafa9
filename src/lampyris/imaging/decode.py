"""Decode any supported image into upright, 8-bit sRGB pixels, refusing bombs before allocating.

This is the Pillow seam: every Pillow/OS exception is translated into lampyris errors here.
"""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError, features

from lampyris.errors import (
    CorruptImageError,
    ImageTooLargeError,
    InvalidParameterError,
    UnsupportedImageError,
)
from lampyris.imaging.colour import is_srgb, to_srgb_array
from lampyris.imaging.settings import ImagingSettings

try:  # HEIC is optional (extra "heif"); registering makes Image.open recognise it.
    import pillow_heif
except ImportError:  # pragma: no cover - depends on the environment
    HEIF_SUPPORTED = False
else:
    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp",
                            ".gif", ".heic", ".heif", ".avif"})
"""File name suffixes that name an image: what a folder, a glob or a bucket listing picks up
(a file named explicitly is tried whatever it is called; the decoder reads the bytes)."""

# Pillow >= 11.2 decodes AVIF itself; older Pillow has no "avif" feature key at all.
AVIF_SUPPORTED = "avif" in features.modules and bool(features.check_module("avif"))

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO

# Pillow raises these for damaged data; struct/zlib errors escape some plugins unwrapped.
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError,
            RuntimeError, struct.error, zlib.error)
_EXIF_HEADER = b"Exif\x00\x00"
_BOMB = "image dimensions are far over the pixel limit (a decompression bomb?): refused unread"
_ORIENTATION = 0x0112
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs", b"mif1",
                b"msf1", b"avif", b"avis"}


@dataclass(frozen=True)
class DecodedImage:
    """Upright sRGB pixels plus the metadata a caller may want to carry into the output."""

    pixels: np.ndarray  # HxWx3 (RGB) or HxWx4 (RGBA) uint8, sRGB, EXIF orientation applied
    format: str | None  # Pillow's format name: "JPEG", "PNG", "WEBP", "HEIF", "AVIF", ...
    exif: bytes | None  # raw EXIF ("Exif\0\0" + TIFF), Orientation reset to 1
    xmp: bytes | None
    original_size: tuple[int, int]  # (width, height) of the full-resolution upright image

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def has_alpha(self) -> bool:
        return int(self.pixels.shape[2]) == 4


@cache
def _default_max_pixels() -> int:
    """The environment is read once per process; pass max_pixels to override per call."""
    return ImagingSettings().max_pixels


def decode(
    source: Source,
    *,
    max_pixels: int | None = None,
    reduce_to: tuple[int, int] | None = None,
) -> DecodedImage:
    """Decode ``source`` (bytes, path or binary file) to upright 8-bit sRGB RGB/RGBA pixels.

    ``reduce_to=(w, h)`` lets the decoder skip work: JPEGs are DCT-scaled and other formats
    box-reduced by an integer factor, so the result is the smallest cheap size that is still
    >= (w, h) in both dimensions -- NOT exactly (w, h); callers resize further.
    """
    limit = _default_max_pixels() if max_pixels is None else max_pixels
    if limit <= 0:
        raise InvalidParameterError(f"max_pixels must be positive, got {limit}")
    if reduce_to is not None and (len(reduce_to) != 2 or min(reduce_to) <= 0):
        raise InvalidParameterError(f"reduce_to must be two positive sizes, got {reduce_to}")
    with _open(source) as im:
        full_w, full_h = im.size
        if full_w * full_h > limit:
            raise ImageTooLargeError(
                f"image is {full_w}x{full_h} = {full_w * full_h:,} pixels; "
                f"the limit is {limit:,} pixels"
            )
        with _pillow_guard():
            fast = _fast_decode(source, im) if reduce_to is None else None
            if fast is not None:
                orientation = _orientation(im, header_only=True)
                pixels = _orient(fast, orientation)
            else:
                if reduce_to is not None and im.format in ("JPEG", "MPO"):
                    box = _stored_box(reduce_to, _orientation(im, header_only=True))
                    im.draft(im.mode, box)  # DCT scaling by 1/2, 1/4 or 1/8, still >= box
                im.load()
                orientation = _orientation(im, header_only=False)  # PNG eXIf may follow IDAT
                shrink = None if reduce_to is None else _stored_box(reduce_to, orientation)
                pixels = to_srgb_array(im, reduce_to=shrink)
                im.close()  # Pillow's copy of the pixels goes before a turn makes another
                pixels = _orient(pixels, orientation)
        swap = orientation >= 5
        return DecodedImage(
            pixels=pixels,
            format=im.format,
            exif=_upright_exif(im.info.get("exif")),
            xmp=_xmp(im.info, reset_orientation=orientation != 1),
            original_size=(full_h, full_w) if swap else (full_w, full_h),
        )


def _stored_box(box: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The requested upright box in the file's stored orientation (90° turns swap it)."""
    w, h = int(box[0]), int(box[1])
    return (h, w) if orientation >= 5 else (w, h)


def _fast_decode(source: Source, im: Image.Image) -> np.ndarray | None:
    """Full-size pixels decoded by OpenCV straight into one numpy array, for the two common
    plain cases: an untagged or sRGB-tagged RGB JPEG (half the time of Pillow's decode plus
    its array export: 50 ms on 12 MP), and an 8-bit RGB/RGBA PNG (as fast as Pillow, and
    without its 4-byte-a-pixel image: a 100 MP PNG peaks 570 MB above its file's bytes, the
    array and the binding's copy of it, instead of 960 MB). None means "take the general
    path": other modes, real ICC profiles, truncated files (only Pillow reports those), or
    anything OpenCV declines."""
    if not isinstance(source, str | os.PathLike | bytes | bytearray | memoryview):
        return None  # a stream: Pillow reads it
    if not is_srgb(im.info):
        return None
    if im.format in ("JPEG", "MPO") and im.mode == "RGB":
        plain_png = False
    elif im.format == "PNG" and im.mode in ("RGB", "RGBA") and "transparency" not in im.info:
        plain_png = True
    else:
        return None
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            data = f.read()
    else:
        data = bytes(source)
    if plain_png:
        if not _plain_png(data):
            return None
    elif data.rstrip(b"\x00")[-2:] != b"\xff\xd9":  # no end-of-image marker: truncated
        return None
    flags = cv2.IMREAD_UNCHANGED if plain_png else cv2.IMREAD_COLOR_RGB
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flags | cv2.IMREAD_IGNORE_ORIENTATION)
    if pixels is None or pixels.shape[:2] != (im.height, im.width) or pixels.dtype != np.uint8:
        return None
    if plain_png:  # OpenCV's channel order is BGR(A): swap in place
        channels = 4 if im.mode == "RGBA" else 3
        if pixels.ndim != 3 or pixels.shape[2] != channels:
            return None
        cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA if channels == 4 else cv2.COLOR_BGR2RGB,
                     dst=pixels)
    return pixels


def _plain_png(data: bytes) -> bool:
    """An 8-bit, non-animated PNG whose chunks are all there and whose EXIF (if any) comes
    before the pixels, where Pillow's header-only read has seen it: what OpenCV decodes to
    exactly Pillow's pixels."""
    if len(data) < 33 or data[24] != 8:  # IHDR's bit depth
        return False
    pos, seen_pixels = 8, False
    while pos + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        if kind == b"IEND":
            return True
        if kind == b"acTL" or (kind == b"eXIf" and seen_pixels):
            return False
        seen_pixels = seen_pixels or kind == b"IDAT"
        pos += 12 + length
    return False  # truncated: Pillow reports it


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """``pixels`` flipped and/or turned as EXIF ``orientation`` (1..8) says: a new array."""
    return _orient(pixels, orientation, fresh=False)


def _orient(a: np.ndarray, orientation: int, *, fresh: bool = True) -> np.ndarray:
    """Apply EXIF orientation on the array: cv2 is ~2x faster than Pillow's transpose. Both
    decoders hand over a fresh writeable array, so upright pixels are returned as they are
    (``fresh=False`` copies them, for a caller's array)."""
    if orientation in (5, 7):  # transpose / transverse
        a = cv2.transpose(a)
        return a if orientation == 5 else cv2.rotate(a, cv2.ROTATE_180)
    if orientation in _TURNS:
        return cv2.rotate(a, _TURNS[orientation])
    if orientation in (2, 4):
        return cv2.flip(a, 1 if orientation == 2 else 0)
    return a if fresh else np.array(a, dtype=np.uint8)


_TURNS = {3: cv2.ROTATE_180, 6: cv2.ROTATE_90_CLOCKWISE, 8: cv2.ROTATE_90_COUNTERCLOCKWISE}


def probe(source: Source) -> tuple[int, int, str | None]:
    """Upright (width, height) and format from the header alone: no pixels are decoded.

    A PNG whose eXIf chunk follows the pixel data reports its stored (unrotated) size.
    """
    with _open(source) as im:
        w, h = im.size
        if _orientation(im, header_only=True) >= 5:
            w, h = h, w
        return w, h, im.format


@contextmanager
def _pillow_guard() -> Iterator[None]:
    """Map Pillow's decode failures to lampyris errors; our limit replaces Pillow's bomb warning.

    warnings.catch_warnings swaps process-global state: interleaved threads can leave the
    filter installed, which only ever silences Pillow's DecompressionBombWarning.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(_BOMB) from exc
    except MemoryError as exc:
        raise ImageTooLargeError("not enough memory to decode this image") from exc
    except _DAMAGED as exc:
        raise CorruptImageError(f"image data is damaged or truncated: {exc}") from exc


@contextmanager
def _open(source: Source) -> Iterator[Image.Image]:
    """Open lazily (header only) after peeking at the signature to tell corrupt from foreign."""
    fp, head = _prepare(source)
    if not head:
        raise UnsupportedImageError("the input is empty: no image bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(fp)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(_BOMB) from exc
    except UnidentifiedImageError as exc:
        if _known_signature(head):
            raise CorruptImageError("the image header is damaged or truncated") from exc
        raise UnsupportedImageError(
            "not a supported image format (JPEG, PNG, WebP, TIFF, BMP, GIF"
            + (", HEIC" if HEIF_SUPPORTED else "")
            + (", AVIF" if AVIF_SUPPORTED else "")
            + ")"
        ) from exc
    except _DAMAGED as exc:
        raise CorruptImageError(f"the image header is damaged: {exc}") from exc
    with im:
        yield im


def _prepare(source: Source) -> tuple[str | BinaryIO, bytes]:
    """Return what Image.open should read plus the first bytes, translating OS errors."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        return io.BytesIO(data), data[:32]
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        try:
            with open(path, "rb") as f:
                return path, f.read(32)
        except OSError as exc:
            raise UnsupportedImageError(f"cannot read image file {path!r}: {exc.strerror}") from exc
    try:
        source.seek(0)  # Image.open reads from offset 0 too
        head = source.read(32)
        source.seek(0)
    except (AttributeError, OSError):  # a pipe or socket: buffer it
        try:
            return _prepare(source.read())
        except OSError as exc:
            raise UnsupportedImageError(f"cannot read the image stream: {exc}") from exc
    return source, head


def _known_signature(head: bytes) -> bool:
    """Bytes that announce a format we read: failing to parse them means damage, not a mismatch."""
    starts = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00",
              b"MM\x00*", b"BM")
    return (
        head.startswith(starts)
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
        or (head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS)
    )


def _orientation(im: Image.Image, *, header_only: bool) -> int:
    """EXIF (or XMP) orientation; header_only avoids PNG's getexif(), which loads all pixels."""
    try:
        if header_only and im.format == "PNG":
            exif = Image.Exif()
            if "exif" in im.info:
                exif.load(im.info["exif"])
        else:
            exif = im.getexif()
        value = exif.get(_ORIENTATION, 1)
    except Exception:  # unreadable EXIF must not refuse an otherwise good image
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _upright_exif(raw: object) -> bytes | None:
    """Set Orientation=1 by patching its 2 bytes: re-serialising would break maker-note offsets."""
    if not isinstance(raw, bytes | bytearray) or not raw:
        return None
    out = bytearray(raw if raw.startswith(_EXIF_HEADER) else _EXIF_HEADER + raw)
    base = len(_EXIF_HEADER)
    order = {b"II": "<", b"MM": ">"}.get(bytes(out[base : base + 2]))
    if order is None:
        return None  # not TIFF-structured EXIF: drop it rather than carry a stale rotation
    try:
        (ifd,) = struct.unpack_from(order + "I", out, base + 4)
        (count,) = struct.unpack_from(order + "H", out, base + ifd)
        for i in range(count):
            entry = base + ifd + 2 + 12 * i
            tag, kind, n = struct.unpack_from(order + "HHI", out, entry)
            if tag == _ORIENTATION and kind == 3 and n == 1:  # SHORT, stored inline
                struct.pack_into(order + "H", out, entry + 8, 1)
    except struct.error:
        return None
    return bytes(out)


def _xmp(info: dict[str | tuple[int, int], object], *, reset_orientation: bool) -> bytes | None:
    """XMP packet as bytes whichever key/type the plugin used; tiff:Orientation reset to 1."""
    value = info.get("xmp") or info.get("XML:com.adobe.xmp")
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif isinstance(value, tuple):
        value = b"".join(v for v in value if isinstance(v, bytes))
    if not isinstance(value, bytes | bytearray) or not value:
        return None
    if reset_orientation:
        value = re.sub(rb'(tiff:Orientation=")[0-9]"', rb'\g<1>1"', value)
        value = re.sub(rb"(<tiff:Orientation>)[0-9](</tiff:Orientation>)", rb"\g<1>1\2", value)
    return bytes(value)
