"""Colour conversion to 8-bit sRGB: modes, high-bit scaling, ICC profiles and CMYK.

The file-based tests go through decode() so the embedded profile travels the real path.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageCms

from lampyris.imaging.colour import to_srgb_array
from lampyris.imaging.decode import decode

Save = Callable[..., bytes]


def _close(actual: np.ndarray, expected: tuple[int, ...], tol: int) -> bool:
    return bool(np.all(np.abs(actual.astype(int) - np.array(expected)) <= tol))


# --- colour modes ------------------------------------------------------------------------------


def test_cmyk_jpeg_without_profile_uses_naive_conversion(save: Save) -> None:
    image = decode(save(Image.new("CMYK", (16, 16), (255, 0, 0, 0)), "JPEG", quality=95))
    assert image.pixels.shape == (16, 16, 3)
    assert _close(image.pixels[8, 8], (0, 255, 255), 3)


def test_cmyk_jpeg_with_profile_is_colour_managed(
    save: Save, cmyk_icc: bytes, print_cyan: tuple[int, int, int]
) -> None:
    cmyk = Image.new("CMYK", (16, 16), (255, 0, 0, 0))
    image = decode(save(cmyk, "JPEG", quality=95, icc_profile=cmyk_icc))
    assert _close(image.pixels[8, 8], print_cyan, 4)  # the profile's cyan, not (0, 255, 255)


def test_sixteen_bit_grey_png_is_shifted_not_clipped(save: Save) -> None:
    values = np.array([[0, 32768, 65535]], dtype=np.uint16)
    image = decode(save(values, "PNG"))
    np.testing.assert_array_equal(image.pixels[0, :, 0], [0, 128, 255])
    np.testing.assert_array_equal(image.pixels[0, :, 0], image.pixels[0, :, 2])


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.array([[0.0, 0.5, 1.0]], dtype=np.float32), [0, 128, 255]),  # normalised float
        (np.array([[-1.0, 0.0, 1.0]], dtype=np.float32), [0, 128, 255]),  # stretched range
        (np.array([[0, 32768, 65535]], dtype=np.int32), [0, 128, 255]),  # 16-bit data in "I"
    ],
)
def test_high_bit_tiff_is_scaled(save: Save, array: np.ndarray, expected: list[int]) -> None:
    image = decode(save(array, "TIFF"))
    np.testing.assert_array_equal(image.pixels[0, :, 1], expected)


def test_palette_transparency_becomes_alpha(save: Save) -> None:
    palette_image = Image.new("P", (4, 2), 0)
    palette_image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    palette_image.putpixel((1, 0), 1)
    image = decode(save(palette_image, "PNG", transparency=1))
    assert image.has_alpha
    assert image.pixels[0, 1, 3] == 0
    np.testing.assert_array_equal(image.pixels[0, 0], [255, 0, 0, 255])


def test_palette_without_transparency_is_rgb(save: Save) -> None:
    image = decode(save(Image.new("P", (3, 3), 0), "GIF"))
    assert image.pixels.shape == (3, 3, 3) and not image.has_alpha


def test_greyscale_alpha_and_bilevel(save: Save) -> None:
    la = Image.merge("LA", [Image.new("L", (4, 4), 77), Image.new("L", (4, 4), 130)])
    image = decode(save(la, "PNG"))
    np.testing.assert_array_equal(image.pixels[2, 2], [77, 77, 77, 130])
    bilevel = Image.new("1", (8, 2), 0)
    bilevel.putpixel((3, 1), 1)
    pixels = decode(save(bilevel, "PNG")).pixels
    assert pixels.shape == (2, 8, 3)
    assert pixels[1, 3].tolist() == [255, 255, 255] and pixels[0, 0].tolist() == [0, 0, 0]


def test_adobe_rgb_profile_is_converted_to_srgb(
    save: Save,
    adobe_rgb_icc: bytes,
    adobe_rgb_to_srgb: Callable[[tuple[int, int, int]], tuple[int, int, int]],
) -> None:
    raw = (128, 200, 100)
    image = decode(save(Image.new("RGB", (4, 4), raw), "PNG", icc_profile=adobe_rgb_icc))
    assert _close(image.pixels[1, 1], adobe_rgb_to_srgb(raw), 2)
    assert image.pixels[1, 1, 0] < raw[0] - 30  # wider gamut: the same numbers mean more colour
    reference = ImageCms.profileToProfile(
        Image.new("RGB", (1, 1), raw), ImageCms.ImageCmsProfile(io.BytesIO(adobe_rgb_icc)),
        ImageCms.createProfile("sRGB"), outputMode="RGB",
    )
    assert reference is not None
    assert _close(image.pixels[1, 1], reference.getpixel((0, 0)), 1)  # type: ignore[arg-type]


def test_profile_keeps_alpha(save: Save, adobe_rgb_icc: bytes, linear_gray_icc: bytes) -> None:
    rgba = decode(save(Image.new("RGBA", (2, 2), (128, 200, 100, 40)), "PNG",
                       icc_profile=adobe_rgb_icc)).pixels
    assert rgba[0, 0, 3] == 40 and rgba[0, 0, 0] < 100
    la = Image.merge("LA", [Image.new("L", (2, 2), 128), Image.new("L", (2, 2), 200)])
    grey = decode(save(la, "PNG", icc_profile=linear_gray_icc)).pixels
    assert _close(grey[0, 0], (188, 188, 188, 200), 1)  # linear 50% is sRGB ~188


@pytest.mark.parametrize("icc", [b"not a profile at all", None])
def test_srgb_or_broken_profile_leaves_pixels(save: Save, icc: bytes | None) -> None:
    icc = icc or ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    raw = np.random.default_rng(3).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode(save(raw, "PNG", icc_profile=icc)).pixels, raw)


# --- to_srgb_array directly ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "YCbCr", "HSV", "LAB", "RGBX", "F"])
def test_every_mode_becomes_a_fresh_uint8_rgb_or_rgba_array(mode: str) -> None:
    image = Image.new(mode, (3, 2))
    pixels = to_srgb_array(image)
    channels = 4 if mode in ("RGBA", "LA") else 3
    assert (pixels.shape, pixels.dtype) == ((2, 3, channels), np.uint8)
    assert pixels.flags.writeable and pixels.flags.c_contiguous  # the caller's own: no copy
    before = pixels.copy()
    pixels[:] = 7
    np.testing.assert_array_equal(to_srgb_array(image), before)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_export_in_bands_equals_pillows_array(mode: str) -> None:
    """Tall enough for several ~8 MB bands, with a last band of a different height."""
    rng = np.random.default_rng(9)
    pixels = rng.integers(0, 256, (1500, 2011, len(mode)), dtype=np.uint8)
    image = Image.fromarray(pixels, mode)
    np.testing.assert_array_equal(to_srgb_array(image), pixels)


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.array([[5.0, 5.0]], dtype=np.float32), [0, 0]),  # flat, out of range: black
        (np.array([[np.nan, 2.0, 4.0]], dtype=np.float32), [0, 128, 255]),  # NaN counts as 0
        (np.array([[0, 100, 255]], dtype=np.int32), [0, 100, 255]),  # 8-bit data in "I"
    ],
)
def test_high_bit_edge_cases(array: np.ndarray, expected: list[int]) -> None:
    np.testing.assert_array_equal(to_srgb_array(Image.fromarray(array))[0, :, 0], expected)


def test_reduce_to_uses_the_largest_factor_that_stays_at_least_the_box() -> None:
    image = Image.new("RGB", (1000, 800), (200, 0, 0))
    assert to_srgb_array(image, reduce_to=(200, 200)).shape == (200, 250, 3)  # factor 4
    assert to_srgb_array(image, reduce_to=(600, 600)).shape == (800, 1000, 3)  # 1: untouched


def test_profile_is_read_from_image_info(adobe_rgb_icc: bytes) -> None:
    image = Image.new("RGB", (2, 2), (128, 200, 100))
    assert to_srgb_array(image)[0, 0].tolist() == [128, 200, 100]
    image.info["icc_profile"] = adobe_rgb_icc
    assert to_srgb_array(image)[0, 0, 0] < 100
