"""The rendition op: Adobe's width (0 = full size) and maxWidth (precedence when below the
image's width), aspect ratio kept, alpha resized without dark fringes; PSD inputs refused."""

from __future__ import annotations

import numpy as np
import pytest

from lampyris.errors import UnsupportedImageError
from lampyris.imaging.decode import DecodedImage
from lampyris.ops import run
from lampyris.ops.rendition import RenditionParams, rendition, target_size


@pytest.mark.parametrize(("params", "size"), [
    ({}, (400, 300)), ({"width": 200}, (200, 150)), ({"width": 800}, (800, 600)),
    ({"max_width": 100}, (100, 75)), ({"width": 200, "max_width": 100}, (100, 75)),
    ({"width": 200, "max_width": 1000}, (200, 150)),
    # max_width caps an upscale too, even when it is above the image's own width
    ({"width": 800, "max_width": 600}, (600, 450)), ({"max_width": 600}, (400, 300)),
])
def test_sizes(params: dict[str, int], size: tuple[int, int]) -> None:
    assert target_size((400, 300), RenditionParams.model_validate(params)) == size


def test_a_smaller_rendition_keeps_the_picture() -> None:
    yy, xx = np.mgrid[0:300, 0:400]
    rgb = np.dstack([xx * 255 // 399, yy * 255 // 299, np.full_like(xx, 90)]).astype(np.uint8)
    out = run("rendition", rgb, {"width": 100}).pixels
    assert out.shape == (75, 100, 3)
    # a smooth ramp stays the same ramp at a quarter of the size
    assert abs(int(out[37, 50, 0]) - int(rgb[150, 200, 0])) <= 3
    assert abs(int(out[37, 50, 1]) - int(rgb[150, 200, 1])) <= 3


def test_transparent_pixels_do_not_darken_the_edge() -> None:
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[:, :50] = (250, 250, 250, 255)
    out = rendition(rgba, RenditionParams(width=33)).pixels
    visible = out[..., 3] > 0
    assert out[visible][:, :3].min() >= 245


def test_a_psd_input_is_refused() -> None:
    image = DecodedImage(np.zeros((4, 4, 3), np.uint8), "PSD", None, None, (4, 4))
    with pytest.raises(UnsupportedImageError, match="PSD input"):
        rendition(image, RenditionParams(width=2))
