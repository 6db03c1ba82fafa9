"""decode()/probe(): every format, mode and failure the upload path meets, on generated files."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps
from pydantic import ValidationError

from lampyris.errors import (
    CorruptImageError,
    ImageTooLargeError,
    InvalidParameterError,
    UnsupportedImageError,
)
from lampyris.imaging import decode as decode_module
from lampyris.imaging.decode import AVIF_SUPPORTED, HEIF_SUPPORTED, decode, probe
from lampyris.imaging.settings import (
    BYTES_PER_PIXEL,
    WORKER_BASELINE_MB,
    ImagingSettings,
    pixels_within,
)

Save = Callable[..., bytes]
BLUE, GREY = (0, 0, 255), (128, 128, 128)


def _exif(**tags: object) -> bytes:
    exif = Image.Exif()
    names = {"orientation": 0x0112, "make": 0x010F}
    for name, value in tags.items():
        exif[names[name]] = value
    return exif.tobytes()


def _corner_image(width: int = 60, height: int = 40) -> Image.Image:
    """Grey, with a blue block in the *stored* top-left corner."""
    image = Image.new("RGB", (width, height), GREY)
    image.paste(BLUE, (0, 0, 12, 12))
    return image


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims a huge size and whose IDAT is garbage: decoding it must fail."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"\x00" * 16) + chunk(
        b"IEND", b""
    )


def _close(actual: np.ndarray, expected: tuple[int, ...], tol: int) -> bool:
    return bool(np.all(np.abs(actual.astype(int) - np.array(expected)) <= tol))


# --- orientation and metadata -------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "size", "corner"),
    [
        (6, (40, 60), (3, 36)),  # 90° clockwise: stored top-left is seen top-right
        (8, (40, 60), (56, 3)),  # 90° counter-clockwise: seen bottom-left
        (3, (60, 40), (36, 56)),  # 180°: seen bottom-right
    ],
)
def test_exif_orientation_is_applied(
    save: Save, orientation: int, size: tuple[int, int], corner: tuple[int, int]
) -> None:
    data = save(_corner_image(), "JPEG", quality=95, exif=_exif(orientation=orientation))
    image = decode(data)
    assert (image.width, image.height) == size
    assert image.original_size == size
    assert _close(image.pixels[corner], BLUE, 40)
    assert _close(image.pixels[3, 3], GREY, 12)  # the stored corner moved away
    exif = Image.Exif()
    exif.load(image.exif)
    assert exif[0x0112] == 1


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_orientations_match_pillow_reference(save: Save, orientation: int) -> None:
    pixels = np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    data = save(pixels, "PNG", exif=_exif(orientation=orientation))
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    image = decode(data)
    np.testing.assert_array_equal(image.pixels, expected)
    assert image.pixels.flags.writeable and image.pixels.flags.c_contiguous


def test_metadata_is_kept_with_orientation_reset(save: Save) -> None:
    raw_exif = _exif(orientation=6, make="LampyrisCam")
    xmp = b'<x:xmpmeta><rdf:Description tiff:Orientation="6" dc:marker="keep"/></x:xmpmeta>'
    data = save(_corner_image(), "JPEG", exif=raw_exif, xmp=xmp)
    image = decode(data)
    assert image.exif is not None and len(image.exif) == len(raw_exif)  # patched in place
    exif = Image.Exif()
    exif.load(image.exif)
    assert (exif[0x0112], exif[0x010F]) == (1, "LampyrisCam")
    assert image.xmp is not None
    assert b'tiff:Orientation="1"' in image.xmp and b'dc:marker="keep"' in image.xmp


def test_no_metadata_gives_none(save: Save) -> None:
    image = decode(save(_corner_image(), "JPEG"))
    assert (image.exif, image.xmp, image.format) == (None, None, "JPEG")


# --- formats ----------------------------------------------------------------------------------


def test_gif_first_frame(save: Save) -> None:
    frames = [Image.new("RGB", (8, 6), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    image = decode(data)
    assert (image.format, image.width, image.height) == ("GIF", 8, 6)
    assert _close(image.pixels[3, 3], (255, 0, 0), 0)


@pytest.mark.parametrize(("fmt", "options"), [("TIFF", {}), ("WEBP", {"lossless": True}),
                                              ("PNG", {})])
def test_lossless_formats_keep_alpha(save: Save, fmt: str, options: dict[str, object]) -> None:
    rgba = np.random.default_rng(5).integers(1, 256, (9, 11, 4), dtype=np.uint8)
    image = decode(save(rgba, fmt, **options))
    assert image.format == fmt and image.has_alpha
    np.testing.assert_array_equal(image.pixels, rgba)


def test_bmp(save: Save) -> None:
    rgb = np.random.default_rng(6).integers(0, 256, (5, 9, 3), dtype=np.uint8)
    image = decode(save(rgb, "BMP"))
    assert image.format == "BMP"
    np.testing.assert_array_equal(image.pixels, rgb)


@pytest.mark.parametrize(
    ("fmt", "supported"), [("AVIF", AVIF_SUPPORTED), ("HEIF", HEIF_SUPPORTED)]
)
def test_avif_and_heic_round_trip(save: Save, fmt: str, supported: bool) -> None:
    if not supported:
        pytest.skip(f"{fmt} plugin not available in this environment")
    image = decode(save(Image.new("RGB", (64, 48), (10, 200, 30)), fmt, quality=90))
    assert (image.format, image.width, image.height) == (fmt, 64, 48)
    assert _close(image.pixels[24, 32], (10, 200, 30), 6)


# --- sources ------------------------------------------------------------------------------------


def test_sources(save: Save, tmp_path: Path) -> None:
    rgb = np.random.default_rng(7).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    data = save(rgb, "PNG")
    path = tmp_path / "in.png"
    path.write_bytes(data)
    with path.open("rb") as handle:
        sources = [data, bytearray(data), memoryview(data), str(path), path, handle]
        for source in sources:
            np.testing.assert_array_equal(decode(source).pixels, rgb)
    assert probe(path) == (5, 4, "PNG")

    class Pipe:  # read() only, like a socket or stdin: decode() buffers it
        def __init__(self, payload: bytes) -> None:
            self._stream = io.BytesIO(payload)

        def read(self, size: int = -1) -> bytes:
            return self._stream.read(size)

    np.testing.assert_array_equal(decode(Pipe(data)).pixels, rgb)  # type: ignore[arg-type]


def test_probe_reads_upright_size_from_header(save: Save) -> None:
    data = save(_corner_image(), "JPEG", exif=_exif(orientation=6))
    assert probe(data) == (40, 60, "JPEG")
    assert probe(save(_corner_image(), "WEBP")) == (60, 40, "WEBP")


# --- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_is_corrupt(save: Save, fmt: str) -> None:
    noise = np.random.default_rng(8).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = save(noise, fmt)
    with pytest.raises(CorruptImageError):
        decode(data[: len(data) // 2])
    with pytest.raises(CorruptImageError):  # header cut short: still known to be a JPEG/PNG
        decode(data[:12])


def test_foreign_empty_and_missing_inputs(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedImageError, match="not a supported image format"):
        decode(b"\x00hello" + np.random.default_rng(9).bytes(500))
    with pytest.raises(UnsupportedImageError, match="empty"):
        decode(b"")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedImageError, match="empty"):
        decode(empty)
    with pytest.raises(UnsupportedImageError, match="cannot read"):
        decode(tmp_path / "missing.png")


def test_bombs_are_refused_before_decoding() -> None:
    # Garbage IDAT: had decode() touched the pixels it would raise CorruptImageError instead.
    with pytest.raises(ImageTooLargeError, match="12000x10000 = 120,000,000 pixels"):
        decode(_png_header_only(12000, 10000), max_pixels=100_000_000)
    with pytest.raises(ImageTooLargeError):  # beyond Pillow's own hard limit too
        decode(_png_header_only(30000, 30000))
    with pytest.raises(ImageTooLargeError):
        probe(_png_header_only(30000, 30000))


def test_explicit_pixel_limit_and_parameters(save: Save) -> None:
    data = save(Image.new("RGB", (20, 10)), "PNG")
    with pytest.raises(ImageTooLargeError, match="the limit is 199 pixels"):
        decode(data, max_pixels=199)
    assert decode(data, max_pixels=200).original_size == (20, 10)
    with pytest.raises(InvalidParameterError):
        decode(data, max_pixels=0)
    with pytest.raises(InvalidParameterError):
        decode(data, reduce_to=(0, 10))


def test_configured_pixel_limit(save: Save, monkeypatch: pytest.MonkeyPatch) -> None:
    data = save(Image.new("RGB", (20, 10)), "PNG")
    monkeypatch.setenv("LAMPYRIS_IMAGING_MAX_PIXELS", "150")
    assert ImagingSettings().max_pixels == 150
    decode_module._default_max_pixels.cache_clear()
    try:
        with pytest.raises(ImageTooLargeError, match="the limit is 150 pixels"):
            decode(data)
    finally:  # the next reader sees the restored environment
        decode_module._default_max_pixels.cache_clear()


@pytest.mark.parametrize(
    ("env", "cap"),
    [
        ({}, 100_000_000),  # 4 GB fits more than 100 MP: the cap decides
        ({"WORKER_MEMORY_MB": "2048"}, (2048 - WORKER_BASELINE_MB) * 2**20 // BYTES_PER_PIXEL),
        ({"WORKER_MEMORY_MB": "1024", "MAX_PIXELS": "20000000"}, 20_000_000),
        ({"WORKER_MEMORY_MB": "1024", "MAX_PIXELS": "200000000"}, pixels_within(1024)),
    ],
)
def test_the_cap_fits_the_worker_memory_budget(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], cap: int
) -> None:
    """The effective cap is the smaller of the configured one and what the budget fits."""
    for name, value in env.items():
        monkeypatch.setenv(f"LAMPYRIS_IMAGING_{name}", value)
    assert ImagingSettings().max_pixels == cap
    worst = WORKER_BASELINE_MB * 2**20 + BYTES_PER_PIXEL * cap
    assert worst <= int(env.get("WORKER_MEMORY_MB", "4096")) * 2**20


def test_a_budget_below_the_baseline_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMPYRIS_IMAGING_WORKER_MEMORY_MB", str(WORKER_BASELINE_MB))
    with pytest.raises(ValidationError, match="leaves nothing for an image"):
        ImagingSettings()


# --- reduce_to ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_jpeg() -> tuple[np.ndarray, bytes]:
    y, x = np.mgrid[0:3000, 0:4000]
    rgb = np.dstack([x * 255 // 3999, y * 255 // 2999, np.full_like(x, 90)]).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return rgb, buf.getvalue()


def test_reduce_to_uses_dct_scaling(big_jpeg: tuple[np.ndarray, bytes]) -> None:
    _, data = big_jpeg
    image = decode(data, reduce_to=(320, 320))
    assert (image.width, image.height) == (500, 375)  # 1/8 scale: smallest still >= 320
    assert image.original_size == (4000, 3000)
    assert _close(image.pixels[0, 0], (0, 0, 90), 6)
    assert _close(image.pixels[-1, -1], (255, 255, 90), 6)
    assert (decode(data, reduce_to=(1200, 800)).width, probe(data)[:2]) == (2000, (4000, 3000))


def test_reduce_to_follows_exif_rotation(big_jpeg: tuple[np.ndarray, bytes]) -> None:
    rgb, _ = big_jpeg
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90, exif=_exif(orientation=6))
    image = decode(buf.getvalue(), reduce_to=(300, 400))
    assert (image.width, image.height) == (375, 500)  # the box was swapped into stored axes
    assert image.original_size == (3000, 4000)


def test_reduce_to_on_png_uses_integer_reduce(save: Save) -> None:
    rgba = np.zeros((800, 1000, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    image = decode(save(rgba, "PNG"), reduce_to=(200, 200))
    assert (image.width, image.height, image.original_size) == (250, 200, (1000, 800))
    assert image.pixels[100, 100].tolist() == [200, 0, 0, 255]


@pytest.mark.parametrize("tagged", [False, True])
def test_fast_jpeg_path_matches_pillows_decode(tmp_path: Path, tagged: bool) -> None:
    """Plain and sRGB-tagged RGB JPEGs take OpenCV's decoder; pixels agree with Pillow's."""
    rng = np.random.default_rng(5)
    img = Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))
    path = tmp_path / "p.jpg"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() if tagged else None
    img.save(path, quality=95, **({"icc_profile": icc} if icc else {}))
    with Image.open(path) as im:
        assert decode_module._fast_decode(str(path), im) is not None
        reference = np.asarray(im.convert("RGB")).astype(int)
    out = decode(path).pixels
    assert out.shape == (96, 128, 3) and out.flags.writeable
    assert np.abs(out.astype(int) - reference).max() <= 2


def test_truncated_jpeg_skips_the_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "t.jpg"
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:-40])
    with Image.open(path) as im:
        assert decode_module._fast_decode(str(path), im) is None
    with pytest.raises(CorruptImageError):
        decode(path)


# --- the OpenCV PNG path -----------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _insert_chunk(data: bytes, chunk: bytes, *, before: bytes) -> bytes:
    """``data`` (a PNG) with ``chunk`` spliced in before the first ``before`` chunk."""
    at = data.index(before) - 4  # the chunk starts with its 4-byte length
    return data[:at] + chunk + data[at:]


def _noise(channels: int, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (37, 53, channels), dtype=np.uint8)


def _fast(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as im:
        return decode_module._fast_decode(data, im) is not None


def _pillow(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(ImageOps.exif_transpose(im))


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("extra", [None, "gAMA", "sRGB-profile"])
def test_plain_png_takes_opencvs_decoder_with_pillows_pixels(
    save: Save, channels: int, extra: str | None
) -> None:
    """8-bit RGB/RGBA PNGs (gamma chunk or sRGB profile or not) skip Pillow's 4-byte-a-pixel
    copy and its export, with exactly Pillow's pixels."""
    options = {}
    if extra == "sRGB-profile":
        options["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = save(_noise(channels), "PNG", **options)
    if extra == "gAMA":
        data = _insert_chunk(data, _chunk(b"gAMA", struct.pack(">I", 45455)), before=b"IDAT")
    assert _fast(data)
    image = decode(data)
    np.testing.assert_array_equal(image.pixels, _pillow(data))
    assert image.pixels.flags.writeable and image.pixels.flags.c_contiguous


def _sixteen_bit() -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", _noise(3).astype(np.uint16) * 256 + 3)
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize(
    "case", ["16-bit", "transparency", "exif-after-pixels", "animated", "truncated", "stream"]
)
def test_other_pngs_take_pillows_path(save: Save, case: str) -> None:
    """Whatever OpenCV might read differently goes through Pillow, with Pillow's result."""
    if case == "16-bit":
        data = _sixteen_bit()
    elif case == "transparency":
        data = save(_noise(3), "PNG", transparency=(1, 2, 3))
    elif case == "exif-after-pixels":  # Pillow's header read has not seen it: 90° turn
        exif = _exif(orientation=6)
        data = _insert_chunk(save(_noise(3), "PNG"), _chunk(b"eXIf", exif[6:]), before=b"IEND")
    elif case == "animated":
        frames = [Image.fromarray(_noise(3, seed)) for seed in (1, 2)]
        data = save(frames[0], "PNG", save_all=True, append_images=frames[1:])
    elif case == "truncated":
        data = save(_noise(3), "PNG")[:-30]
    else:
        data = save(_noise(4), "PNG")
    if case == "stream":
        with Image.open(io.BytesIO(data)) as im:
            assert decode_module._fast_decode(io.BytesIO(data), im) is None
        np.testing.assert_array_equal(decode(io.BytesIO(data)).pixels, _pillow(data))
        return
    assert not _fast(data)
    if case == "truncated":
        with pytest.raises(CorruptImageError):
            decode(data)
        return
    expected = _pillow(data)
    if case == "transparency":  # mode RGB with a tRNS colour: lampyris keeps RGB
        expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    pixels = decode(data).pixels
    np.testing.assert_array_equal(pixels, expected[..., : pixels.shape[2]])
    if case == "exif-after-pixels":
        assert pixels.shape[:2] == (53, 37)
