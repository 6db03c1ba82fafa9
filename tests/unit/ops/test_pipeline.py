"""The one per-image pipeline: calls in order, reports by step, seeds, masks, sidecars,
flattening and metadata, judged by the bytes and pixels it returns."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from lampyris.errors import InvalidParameterError
from lampyris.imaging.decode import decode
from lampyris.imaging.xmp import read_preset
from lampyris.ops import run
from lampyris.ops.pipeline import XMP_MEDIA_TYPE, Call, OutputSpec, render, run_calls
from support.images import product_photo


def photo() -> np.ndarray:
    """A dim, warm gradient: auto tone has work to do."""
    ramp = np.linspace(20, 120, 96, dtype=np.float32)
    rgb = np.stack([ramp * 1.2, ramp, ramp * 0.8], axis=-1)
    return np.broadcast_to(rgb, (64, 96, 3)).astype(np.uint8).copy()


def layer() -> np.ndarray:
    rgba = np.zeros((80, 80, 4), np.uint8)
    rgba[20:60, 20:60] = (200, 40, 30, 255)
    return rgba


def pixels_of(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_one_call_gives_the_ops_own_pixels_encoded() -> None:
    rendered = render(photo(), [Call("auto_tone", "auto_tone")], OutputSpec("png"))
    assert np.array_equal(pixels_of(rendered.data), run("auto_tone", photo()).pixels)
    assert rendered.media_type == "image/png" and rendered.suffix == ".png"
    assert rendered.size == (96, 64)
    assert rendered.reports["auto_tone"]["settings"]  # what it chose, by step name
    assert {"estimate", "render", "ops", "encode"} <= set(rendered.timings)


def test_a_settings_only_sidecar_skips_rendering_but_keeps_the_settings() -> None:
    calls = [Call("auto_tone", "auto_tone")]
    full = render(photo(), calls, OutputSpec("png", sidecar="also"))
    only = render(photo(), calls, OutputSpec("png", sidecar="only"))
    assert only.media_type == XMP_MEDIA_TYPE and only.suffix == ".xmp"
    assert only.data == full.sidecar
    written = read_preset(only.data).settings  # XMP rounds to Lightroom's steps
    assert written.keys() == full.reports["auto_tone"]["settings"].keys()
    assert np.array_equal(only.pixels, photo()), "nothing was rendered"
    assert "render" not in only.timings


def test_calls_report_under_their_step_and_run_in_order() -> None:
    calls = [Call("cutout", "finish", {"shadow": True}), Call("tone", "auto_tone"),
             Call("cutout", "finish", {"background": "white"})]
    pixels, reports, _ = run_calls(layer(), calls)
    assert pixels.shape[2] == 3 and (pixels[2, 2] == 255).all()  # the background came last
    assert set(reports) == {"cutout", "tone"}


def test_a_seed_reaches_only_the_ops_that_take_one() -> None:
    calls = [Call("finish", "finish", {"background": "white"})]
    a = render(layer(), calls, OutputSpec(), seed=7)  # finish has no seed: no error
    assert a.seed == 7
    fill = [Call("fill", "fill", {"engine": "patch"})]
    one, same, other = (render(layer(), fill, OutputSpec(), seed=s) for s in (1, 1, 2))
    assert one.data == same.data
    assert one.reports["fill"]["seed"] == 1 and other.reports["fill"]["seed"] == 2


def test_a_mask_goes_only_to_the_ops_that_read_one() -> None:
    mask = np.zeros((64, 96), np.uint8)
    mask[20:40, 30:60] = 255
    image = decode(_png(photo()))
    masked = decode(_png(mask))
    calls = [Call("tone", "auto_tone"), Call("fill", "fill", {"engine": "patch"})]
    rendered = render(image, calls, OutputSpec(), images={"mask": masked}, seed=3)
    out = pixels_of(rendered.data)
    toned = run("auto_tone", photo()).pixels
    assert np.array_equal(out[mask == 0], toned[mask == 0]), "outside the mask: kept"


def test_jpeg_flattens_over_the_given_colour_or_refuses() -> None:
    calls = [Call("finish", "finish")]
    flat = render(layer(), calls, OutputSpec("jpeg", flatten=(255, 255, 255, 1.0)))
    out = pixels_of(flat.data)
    assert out.ndim == 3 and out.shape[2] == 3 and out[2, 2].min() >= 250
    with pytest.raises(InvalidParameterError, match="no alpha"):
        render(layer(), calls, OutputSpec("jpeg"))


def test_metadata_is_carried_only_when_asked() -> None:
    exif = Image.Exif()
    exif[0x010F] = "lampyris test camera"
    out = io.BytesIO()
    Image.fromarray(photo()).save(out, "JPEG", exif=exif.tobytes())
    image = decode(out.getvalue())
    calls = [Call("edit", "edit")]
    kept = Image.open(io.BytesIO(render(image, calls, OutputSpec("jpeg", keep_metadata=True)
                                        ).data))
    dropped = Image.open(io.BytesIO(render(image, calls, OutputSpec("jpeg")).data))
    assert kept.getexif().get(0x010F) == "lampyris test camera"
    assert 0x010F not in dropped.getexif()


def test_notices_name_their_step() -> None:
    big = np.zeros((60, 60, 4), np.uint8)
    big[25:35, 25:35] = (10, 200, 10, 255)
    calls = [Call("cutout", "finish"), Call("fill", "fill", {"engine": "studio",
                                                             "prompt": "oak table, palm"})]
    rendered = render(big, calls, OutputSpec(), seed=1)
    assert "fill: prompt words not used: palm" in rendered.notices


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def test_a_region_past_the_reported_crops_is_one_clear_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import lampyris.ops.product_crop as crop_module

    matte = np.zeros((64, 96), np.uint8)
    matte[20:40, 30:60] = 255
    monkeypatch.setattr(crop_module, "predict_matte", lambda pixels, **_: matte)
    calls = [Call("auto_crop", "auto_crop", {"ratios": [(1, 1), (16, 9)]})]
    assert render(photo(), calls, OutputSpec(region=1)).size[0] > 0  # the second crop
    with pytest.raises(InvalidParameterError, match=r"region 2: .* reported 2 crop boxes"):
        render(photo(), calls, OutputSpec(region=2))
    with pytest.raises(InvalidParameterError, match="region -1"):
        render(photo(), calls, OutputSpec(region=-1))


@pytest.mark.parametrize(("width", "max_width"), [(100, 0), (0, 100)])
def test_a_layer_mask_output_is_not_resized(width: int, max_width: int) -> None:
    with pytest.raises(InvalidParameterError, match=r"layer_mask.*width"):
        OutputSpec("psd", layer_mask=True, width=width, max_width=max_width)


@pytest.mark.parametrize("background", [None, (255, 255, 255, 1.0)])
def test_a_layered_psd_shows_the_photo_under_its_mask(
        background: tuple[int, int, int, float] | None) -> None:
    """Its pixels (what a report's thumbnail is made of) are what the document shows, not the
    bare mask."""
    photo = decode(product_photo(160, 120)).pixels
    calls = [Call("cutout", "cutout", {"mode": "mask"})]
    mask = run_calls(photo, calls)[0]
    rendered = render(photo, calls, OutputSpec("psd", layer_mask=True, flatten=background))
    assert rendered.data[:4] == b"8BPS" and rendered.size == (160, 120)
    shown = rendered.pixels
    if background is None:
        assert shown.shape == (120, 160, 4)
        assert np.array_equal(shown[..., :3], photo) and np.array_equal(shown[..., 3], mask)
    else:  # over white, as the document's merged image
        assert shown.shape == (120, 160, 3)
        assert np.array_equal(shown[mask == 255], photo[mask == 255])
        assert (shown[mask == 0] == 255).all()
