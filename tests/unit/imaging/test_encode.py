"""encode(): round trips, the sRGB tag on every colour output, metadata only when asked."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms

from lampyris.errors import InvalidParameterError
from lampyris.imaging.decode import decode
from lampyris.imaging.encode import encode, extension


def _photo(height: int = 48, width: int = 64, alpha: bool = False) -> np.ndarray:
    """Smooth gradients plus mild noise: compresses like a photo, not like flat colour."""
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(11)
    channels = [x * 255 // (width - 1), y * 255 // (height - 1), (x + y) * 127 // (width + height)]
    rgb = np.dstack(channels) + rng.integers(-4, 5, (height, width, 3))
    pixels = np.clip(rgb, 0, 255).astype(np.uint8)
    if alpha:
        pixels = np.dstack([pixels, (x * 255 // (width - 1)).astype(np.uint8)])
    return pixels


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _icc_description(image: Image.Image) -> str:
    profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    return str(profile.profile.profile_description)


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(int) - b.astype(int))))


EXIF = Image.Exif()
EXIF[0x010F] = "LampyrisCam"
EXIF[0x0112] = 1
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF dc:marker="kept"/></x:xmpmeta>'


@pytest.mark.parametrize("alpha", [False, True])
def test_png_round_trip_is_exact_and_tagged_srgb(alpha: bool) -> None:
    pixels = _photo(alpha=alpha)
    data = encode(pixels, "png")
    image = _open(data)
    assert image.mode == ("RGBA" if alpha else "RGB")
    assert image.info.get("srgb") == 0  # the sRGB chunk, perceptual intent
    np.testing.assert_array_equal(np.asarray(image), pixels)
    np.testing.assert_array_equal(decode(data).pixels, pixels)


def test_greyscale_mask_is_an_l_png() -> None:
    mask = _photo()[..., 0]
    image = _open(encode(mask, "png"))
    assert image.mode == "L" and "srgb" not in image.info
    np.testing.assert_array_equal(np.asarray(image), mask)


@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_png_compression_levels_round_trip(level: int) -> None:
    pixels = _photo(alpha=True)
    data = encode(pixels, "png", png_compression=level)
    np.testing.assert_array_equal(np.asarray(_open(data)), pixels)
    if level == 0:  # stored, not deflated
        assert len(data) > pixels.nbytes
    else:
        assert len(data) < pixels.nbytes


def test_jpeg_round_trip_and_icc() -> None:
    pixels = _photo()
    data = encode(pixels, "jpeg")
    image = _open(data)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (64, 48))
    assert "sRGB" in _icc_description(image)
    assert _mae(np.asarray(image), pixels) < 3
    small = encode(pixels, "jpeg", quality=20)
    assert len(small) < len(data) and _mae(np.asarray(_open(small)), pixels) < 8
    grey = _open(encode(pixels[..., 1], "jpeg"))
    assert grey.mode == "L" and _mae(np.asarray(grey), pixels[..., 1]) < 3


def test_webp_lossy_and_lossless() -> None:
    pixels = _photo(alpha=True)
    lossless = _open(encode(pixels, "webp", lossless=True))
    assert lossless.mode == "RGBA" and "sRGB" in _icc_description(lossless)
    visible = pixels[..., 3] > 0  # libwebp may rewrite colour under alpha 0 (exact=False)
    assert not visible.all()
    np.testing.assert_array_equal(np.asarray(lossless)[visible], pixels[visible])
    np.testing.assert_array_equal(np.asarray(lossless)[..., 3], pixels[..., 3])
    lossy = _open(encode(pixels, "webp", quality=90))
    assert lossy.mode == "RGBA" and "sRGB" in _icc_description(lossy)
    assert _mae(np.asarray(lossy)[..., :3], pixels[..., :3]) < 4
    grey = _open(encode(pixels[..., 0], "webp", lossless=True))
    np.testing.assert_array_equal(np.asarray(grey)[..., 1], pixels[..., 0])


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_metadata_written_only_when_given(fmt: Any) -> None:
    pixels = _photo()
    bare = _open(encode(pixels, fmt))
    assert "exif" not in bare.info and "xmp" not in bare.info
    assert len(bare.getexif()) == 0
    for exif in (EXIF.tobytes(), EXIF.tobytes()[6:]):  # with or without the "Exif\0\0" header
        image = _open(encode(pixels, fmt, exif=exif, xmp=XMP))
        assert image.getexif()[0x010F] == "LampyrisCam"
        xmp = image.info["xmp"]
        assert (xmp.encode() if isinstance(xmp, str) else xmp) == XMP
    decoded = decode(encode(pixels, fmt, exif=EXIF.tobytes(), xmp=XMP))
    assert decoded.xmp == XMP and decoded.exif is not None and b"LampyrisCam" in decoded.exif


def test_rgba_to_jpeg_needs_a_background() -> None:
    with pytest.raises(InvalidParameterError, match="background"):
        encode(_photo(alpha=True), "jpeg")


@pytest.mark.parametrize(
    ("pixels", "fmt", "options"),
    [
        (np.zeros((4, 4, 3), np.float32), "png", {}),
        (np.zeros((4, 4, 2), np.uint8), "png", {}),
        (np.zeros((0, 4, 3), np.uint8), "png", {}),
        (np.zeros((4, 4, 3), np.uint8), "gif", {}),
        (np.zeros((4, 4, 3), np.uint8), "jpeg", {"quality": 0}),
        (np.zeros((4, 4, 3), np.uint8), "webp", {"quality": 101}),
        (np.zeros((4, 4, 3), np.uint8), "jpeg", {"lossless": True}),
        (np.zeros((4, 4, 3), np.uint8), "png", {"png_compression": 10}),
        (np.zeros((1, 16384, 3), np.uint8), "webp", {}),
        (np.zeros((4, 4, 3), np.uint8), "jpeg", {"exif": b"Exif\x00\x00" + b"\x00" * 70000}),
    ],
)
def test_invalid_parameters(pixels: np.ndarray, fmt: Any, options: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameterError):
        encode(pixels, fmt, **options)


def test_non_contiguous_input_is_accepted() -> None:
    pixels = _photo(alpha=True)
    view = pixels[:, ::-1]
    np.testing.assert_array_equal(np.asarray(_open(encode(view, "png"))), view)


def test_extension() -> None:
    assert [extension(f) for f in ("png", "jpeg", "webp")] == [".png", ".jpg", ".webp"]
    with pytest.raises(InvalidParameterError):
        extension("tiff")  # type: ignore[arg-type]
