"""Compositing: matte to 8-bit alpha, the RGBA cutout, and the cutout over a flat colour."""

from __future__ import annotations

import numpy as np
import pytest

from lampyris.imaging.composite import cutout_rgba, over_background

ALPHAS = np.array([0, 64, 128, 191, 255], np.uint8)


def _row(subject: tuple[int, int, int]) -> np.ndarray:
    """One row of pixels of colour ``subject`` with alpha 0, 64, 128, 191, 255."""
    rgba = np.zeros((1, ALPHAS.size, 4), np.uint8)
    rgba[..., :3] = subject
    rgba[..., 3] = ALPHAS
    return rgba


@pytest.mark.parametrize("channels", [3, 4])
def test_cutout_rgba_keeps_colours_and_sets_alpha(channels: int) -> None:
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (12, 16, channels), dtype=np.uint8)
    alpha = rng.integers(1, 256, (12, 16), dtype=np.uint8)
    alpha[:3] = 0
    out = cutout_rgba(rgb, alpha)
    assert out.shape == (12, 16, 4)
    visible = alpha > 0
    np.testing.assert_array_equal(out[visible, :3], rgb[visible, :3])  # straight, not premultiplied
    np.testing.assert_array_equal(out[..., 3], alpha)
    assert not out[:3].any()  # fully transparent pixels carry no colour


@pytest.mark.parametrize(
    ("subject", "background"),
    [((255, 0, 0), (0, 0, 255)), ((10, 200, 30), (255, 255, 255)), ((0, 0, 0), (240, 240, 240))],
)
def test_over_an_opaque_colour_gives_rgb(
    subject: tuple[int, int, int], background: tuple[int, int, int]
) -> None:
    out = over_background(_row(subject), (*background, 1.0))
    assert out.shape == (1, ALPHAS.size, 3)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, 0], background)  # alpha 0: the background exactly
    np.testing.assert_array_equal(out[0, -1], subject)  # alpha 255: the subject exactly
    for i, a in enumerate(ALPHAS / 255.0):
        expected = np.array(subject) * a + np.array(background) * (1 - a)
        np.testing.assert_allclose(out[0, i], expected, atol=0.51)
    half = (np.array(subject) + np.array(background)) / 2  # alpha 128: a 50 % mix
    np.testing.assert_allclose(out[0, 2], half, atol=1.0)


@pytest.mark.parametrize("bg_alpha", [0.5, 0.25, 0.8])
def test_over_a_translucent_colour_gives_rgba(bg_alpha: float) -> None:
    subject, background = (255, 0, 0), (0, 0, 255)
    out = over_background(_row(subject), (*background, bg_alpha))
    assert out.shape == (1, ALPHAS.size, 4)

    a = ALPHAS / 255.0
    combined = a + bg_alpha * (1 - a)
    np.testing.assert_allclose(out[0, :, 3], combined * 255, atol=0.51)
    np.testing.assert_array_equal(out[0, 0, :3], background)
    np.testing.assert_array_equal(out[0, -1], (*subject, 255))
    for i in range(1, ALPHAS.size - 1):  # un-premultiplied mix, weighted by each coverage
        expected = (np.array(subject) * a[i] + np.array(background) * bg_alpha * (1 - a[i]))
        np.testing.assert_allclose(out[0, i, :3], expected / combined[i], atol=0.51)


def test_over_a_transparent_colour_changes_nothing_visible() -> None:
    rgba = _row((30, 160, 90))
    out = over_background(rgba, (255, 255, 255, 0.0))
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    visible = rgba[0, :, 3] > 0
    np.testing.assert_array_equal(out[0, visible], rgba[0, visible])
