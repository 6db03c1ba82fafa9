"""The catalog shadow: black coverage below the subject, none far above, scaled by opacity,
and the subject itself left alone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lampyris.imaging.shadow import add_shadow, contact_line, shadow_alpha

H, W = 200, 240
COLOUR = (40, 120, 220)


def _subject(shape: str) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """An opaque subject with room below it, on transparent pixels, and its (x0, y0, x1, y1)."""
    alpha = np.zeros((H, W), np.uint8)
    if shape == "disc":
        cv2.circle(alpha, (120, 90), 50, 255, -1)
        box = (70, 40, 171, 141)
    elif shape == "bottle":  # tall and narrow
        alpha[30:150, 100:140] = 255
        box = (100, 30, 140, 150)
    else:  # wide and flat
        alpha[100:130, 30:210] = 255
        box = (30, 100, 210, 130)
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[alpha > 0, :3] = COLOUR
    rgba[..., 3] = alpha
    return rgba, box


SHAPES = ["disc", "bottle", "slab"]


@pytest.mark.parametrize("shape", SHAPES)
def test_shadow_appears_below_the_subject(shape: str) -> None:
    rgba, (x0, y0, x1, y1) = _subject(shape)
    out = add_shadow(rgba)
    cx, size = (x0 + x1) // 2, max(x1 - x0, y1 - y0)

    below = out[y1 : y1 + max(2, size // 50), cx - (x1 - x0) // 4 : cx + (x1 - x0) // 4]
    assert np.all(below[..., 3] > 20)
    assert np.all(below[..., :3] <= 10)  # black, not the subject's colour
    assert float(out[y1:, :, 3].astype(np.float32).sum()) > 0


@pytest.mark.parametrize("shape", SHAPES)
def test_no_shadow_far_above_or_beside_the_subject(shape: str) -> None:
    rgba, (x0, y0, x1, y1) = _subject(shape)
    out = add_shadow(rgba, opacity=1.0)
    size = max(x1 - x0, y1 - y0)
    reach = int(0.2 * size) + 1
    assert np.all(out[: max(0, y0 - reach), :, 3] == 0)
    assert np.all(out[:, : max(0, x0 - reach), 3] == 0)
    assert np.all(out[:, x1 + reach :, 3] == 0)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("opacity", [0.2, 0.45, 1.0])
def test_opacity_scales_the_shadow(shape: str, opacity: float) -> None:
    alpha = _subject(shape)[0][..., 3]
    full = shadow_alpha(alpha, 1.0)
    assert full.dtype == np.float32
    assert float(full.max()) <= 1.0
    assert float(full.max()) > 0.5
    np.testing.assert_allclose(shadow_alpha(alpha, opacity), full * opacity, rtol=1e-5, atol=1e-7)


def test_more_opacity_gives_a_darker_shadow() -> None:
    rgba, (x0, _, x1, y1) = _subject("disc")
    band = (slice(y1, y1 + 6), slice(x0 + 20, x1 - 20))
    light = add_shadow(rgba, 0.2)[band][..., 3].astype(int)
    dark = add_shadow(rgba, 0.8)[band][..., 3].astype(int)
    assert np.all(dark > light)
    assert float(dark.mean()) == pytest.approx(4 * float(light.mean()), rel=0.05)


def test_zero_opacity_adds_no_coverage() -> None:
    rgba, _ = _subject("disc")
    out = add_shadow(rgba, 0.0)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    visible = rgba[..., 3] > 0
    np.testing.assert_array_equal(out[visible], rgba[visible])


@pytest.mark.parametrize("shape", SHAPES)
def test_opaque_subject_pixels_are_unchanged(shape: str) -> None:
    rgba, _ = _subject(shape)
    out = add_shadow(rgba, opacity=1.0)
    opaque = rgba[..., 3] == 255
    np.testing.assert_array_equal(out[opaque], rgba[opaque])
    assert out.shape == rgba.shape
    assert out.dtype == np.uint8


def test_soft_edges_keep_their_premultiplied_colour() -> None:
    """The shadow is black: it adds coverage under a soft edge but no colour."""
    rgba, _ = _subject("disc")
    rgba[..., 3] = cv2.GaussianBlur(rgba[..., 3], (0, 0), 2)
    rgba[..., :3] = COLOUR
    out = add_shadow(rgba, opacity=0.6)
    soft = (rgba[..., 3] > 30) & (rgba[..., 3] < 225)
    assert soft.sum() > 100
    assert np.all(out[soft, 3] >= rgba[soft, 3])
    premul_in = rgba[soft, :3].astype(np.float32) * rgba[soft, 3:4]
    premul_out = out[soft, :3].astype(np.float32) * out[soft, 3:4]
    assert float(np.abs(premul_out - premul_in).max()) / 255.0 < 1.5


def test_the_contact_shadow_sits_under_the_opaque_subject_not_its_haze() -> None:
    rgba, (x0, _, x1, y1) = _subject("bottle")
    rgba[y1:H, 60:180, 3] = 12  # faint matte haze down to the image's bottom
    s = shadow_alpha(rgba[..., 3], 1.0)
    cx = (x0 + x1) // 2
    column = s[:, cx]
    assert column[y1 : y1 + 4].min() > 0.3  # dark right under the bottle's base
    assert column[y1 + 30 :].max() < 0.05  # nothing far below it, where the haze ends


def test_the_contact_shadow_follows_the_lowest_part() -> None:
    alpha = np.zeros((H, W), np.uint8)
    alpha[40:100, 40:200] = 255  # a wide body…
    alpha[100:150, 170:190] = 255  # …standing on one leg at the right
    line = contact_line(alpha)
    assert line == (170, 190, 149)
    s = shadow_alpha(alpha, 1.0)
    assert s[151, 180] > 0.3  # under the leg…
    assert s[151, 60] < 0.1  # …not under the body's far end, 50 px above the floor

