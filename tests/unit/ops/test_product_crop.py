"""The product crop op: the photo's own pixels in the subject's box, grown by Adobe's padding
(in total, half on each side; pixels or percent of the box), transparent past the photo's edge.

The matte comes from the real bundled u2netp, which finds the drawn disc exactly."""

from __future__ import annotations

import numpy as np
import pytest

from lampyris.models import MattingSession
from lampyris.ops import run
from lampyris.ops.product_crop import (
    AutoCropParams,
    ProductCropParams,
    padded_box,
    product_crop,
    ratio_box,
)


def _near(a: tuple[int, ...] | list[int], b: tuple[int, ...], tolerance: int = 2) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_pixel_padding_adds_the_width_and_height_in_total_around_the_subject(
        disc: object, u2netp: MattingSession) -> None:
    result = product_crop(disc.rgb, ProductCropParams(unit="pixels", width=40, height=20),
                          session=u2netp)
    x0, y0, x1, y1 = disc.box
    assert _near(result.metadata["subject_box"], disc.box)
    sx0, sy0, sx1, sy1 = result.metadata["subject_box"]
    assert result.metadata["crop_box"] == [sx0 - 20, sy0 - 10, sx1 + 20, sy1 + 10]
    height, width = result.pixels.shape[:2]
    assert (width, height) == (sx1 - sx0 + 40, sy1 - sy0 + 20)
    # the photo's own pixels, unchanged: the crop is a window on the input
    np.testing.assert_array_equal(result.pixels, disc.rgb[sy0 - 10:sy1 + 10, sx0 - 20:sx1 + 20])
    assert result.pixels.shape[2] == 3  # inside the photo: no alpha added
    assert abs((x1 - x0 + 40) - width) <= 2 and abs((y1 - y0 + 20) - height) <= 2


def test_percent_padding_is_of_the_subjects_box_and_past_the_edge_is_transparent(
        disc: object, u2netp: MattingSession) -> None:
    result = run("product_crop", disc.rgb, {"unit": "Percent", "width": 50, "height": 100},
                 session=u2netp)
    sx0, sy0, sx1, sy1 = result.metadata["subject_box"]
    bw, bh = sx1 - sx0, sy1 - sy0
    height, width = result.pixels.shape[:2]
    assert (width, height) == (bw + round(bw * 0.5), bh + round(bh * 1.0))
    cx0, cy0, _, _ = result.metadata["crop_box"]
    assert cy0 < 0  # 100 % of the disc's height does not fit in the photo above it
    alpha = result.pixels[..., 3]
    assert (alpha[: -cy0] == 0).all()  # rows above the photo: transparent
    inside = result.pixels[-cy0:-cy0 + 10, :, :3]
    np.testing.assert_array_equal(inside, disc.rgb[0:10, cx0:cx0 + width])
    assert (alpha[-cy0:-cy0 + 10] == 255).all()


def test_padded_box_centres_an_odd_pixel_right_and_down() -> None:
    assert padded_box((10, 10, 20, 30), ProductCropParams(width=5, height=3)) == (8, 9, 23, 32)
    assert padded_box((0, 0, 200, 100), ProductCropParams(unit="percent", width=10,
                                                          height=0)) == (-10, 0, 210, 100)


@pytest.mark.parametrize("bad", [{"unit": "inches"}, {"width": -1}, {"height": 10**7}])
def test_bad_options_are_refused(bad: dict[str, object]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ProductCropParams.model_validate(bad)


def test_an_empty_photo_says_no_subject_was_found(u2netp: MattingSession) -> None:
    blank = np.full((120, 160, 3), 240, np.uint8)
    result = product_crop(blank, session=u2netp)
    assert "no subject" in result.metadata["notices"][0]


def test_a_haze_only_matte_keeps_the_whole_photo_as_the_notice_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import lampyris.ops.product_crop as op_module

    haze = np.zeros((120, 160), np.uint8)
    haze[50:60, 70:80] = 40  # above the subject threshold, far below FRAME_ALPHA
    monkeypatch.setattr(op_module, "predict_matte", lambda pixels, **_: haze)
    photo = np.full((120, 160, 3), 240, np.uint8)
    cropped = product_crop(photo)
    assert cropped.pixels.shape == photo.shape and "whole photo" in cropped.metadata["notices"][0]
    auto = run("auto_crop", photo, {"ratios": [(4, 3)]})
    assert auto.metadata["subject_box"] == [0, 0, 160, 120]
    assert auto.metadata["crops"] == [[0, 0, 160, 120]]


@pytest.mark.parametrize("ratios", [[(0, 1)], [(1, 0)], [(-4, 3)], [(1, 1), (3, -2)]])
def test_an_aspect_ratio_side_below_one_is_refused(ratios: list[tuple[int, int]]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="at least 1"):
        AutoCropParams.model_validate({"ratios": ratios})


@pytest.mark.parametrize(("ratio", "zoom", "box"), [
    ((1, 1), 1.0, (40, 50, 160, 170)),  # the subject's longer side, centred
    # 16:9 around a 120 px tall subject is 213 px wide: shrunk to fit the 200 px photo
    ((16, 9), 1.0, (0, 54, 200, 167)),
    ((1, 1), 0.5, (0, 0, 200, 200)),  # twice the subject's side: the photo's whole height
])
def test_ratio_boxes_hold_the_subject_at_the_zoom_within_the_photo(
        ratio: tuple[int, int], zoom: float, box: tuple[int, int, int, int]) -> None:
    # a 40x120 subject (80..120, 50..170) in a 200x200 photo
    assert ratio_box((80, 50, 120, 170), (200, 200), ratio, zoom) == box


def test_auto_crop_reports_one_box_per_ratio_and_keeps_the_pixels(
        disc: object, u2netp: MattingSession) -> None:
    result = run("auto_crop", disc.rgb, {"ratios": [(1, 1), (16, 9)], "zooms": [1.0, 0.8]},
                 session=u2netp)
    assert result.pixels is disc.rgb
    square, wide = result.metadata["crops"]
    assert square[2] - square[0] == square[3] - square[1]
    assert abs((wide[2] - wide[0]) / (wide[3] - wide[1]) - 16 / 9) < 0.02
    sx0, sy0, sx1, sy1 = result.metadata["subject_box"]
    assert square[0] <= sx0 and square[1] <= sy0 and square[2] >= sx1 and square[3] >= sy1
    assert abs((wide[3] - wide[1]) * 0.8 - (sy1 - sy0)) <= 2  # the disc fills 80 % of it


def test_the_batch_steps_chain_depth_blur_product_crop_and_rendition(
        disc: object, u2netp: MattingSession) -> None:
    """The three ops as batch steps: one chain through the one pipeline."""
    from lampyris.ops.pipeline import OutputSpec, render
    from lampyris.workflows.steps import execution, make_steps

    steps = make_steps([("depth-blur", {"blur_strength": 30}),
                        ("product_crop", {"unit": "percent", "width": 10, "height": 10}),
                        ("rendition", {"width": 100})])
    rendered = render(disc.rgb, execution(steps), OutputSpec("jpeg"))
    assert rendered.size[0] == 100
    assert set(rendered.reports) == {"depth_blur", "product_crop", "rendition"}
    box = rendered.reports["product_crop"]["subject_box"]
    assert _near(box, disc.box, 3)
