"""Hole opening: gaps the matte filled are cleared, solid subjects are left alone.

The scenes are drawn here: a wicker-like lattice and a ring whose gaps show the ground, with
a matte that fills them (what u2net returns at 320 px), and solid products that share a
colour with the ground, which must come back untouched (the same array object).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lampyris.imaging.holes import open_holes

H, W = 360, 480
CENTRE, RADIUS = (W // 2, H // 2), 150
DARK = (24, 24, 28)
GREEN = (78, 122, 38)
WHITE = (238, 238, 236)
TAN = (196, 152, 96)


def _ground(colour: tuple[int, int, int], seed: int = 0, grain: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, grain, (H, W, 3))
    if grain > 3:  # a textured ground: blotches and blades, like grass
        noise += cv2.GaussianBlur(rng.normal(0, 1, (H, W)), (0, 0), 6)[..., None] * 40
    return np.clip(np.array(colour, np.float64) + noise, 0, 255).astype(np.uint8)


def _paint(ground: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    rng = np.random.default_rng(1)
    subject = np.clip(np.array(colour) + rng.normal(0, 4, ground.shape), 0, 255).astype(np.uint8)
    return np.where(mask[..., None], subject, ground)


def _disc() -> np.ndarray:
    """The matte a network gives a see-through disc: solid, anti-aliased at the rim."""
    matte = np.zeros((H, W), np.uint8)
    cv2.circle(matte, CENTRE, RADIUS, 255, -1, cv2.LINE_AA)
    return matte


def _lattice() -> tuple[np.ndarray, np.ndarray]:
    """(bars, gaps) of a wicker-like disc: 10 px bars every 26 px, 16 px square gaps."""
    disc = _disc() == 255
    bars = np.zeros((H, W), bool)
    for offset in range(0, max(H, W), 26):
        bars[:, offset : offset + 10] = True
        bars[offset : offset + 10, :] = True
    rim = np.zeros((H, W), np.uint8)
    cv2.circle(rim, CENTRE, RADIUS, 1, 12)
    bars = disc & (bars | (rim > 0))
    return bars, disc & ~bars


def _ring() -> tuple[np.ndarray, np.ndarray]:
    """(band, hole) of a ring: the inner 60 % of the disc is its opening."""
    yy, xx = np.mgrid[:H, :W]
    r = np.hypot(xx - CENTRE[0], yy - CENTRE[1])
    return (r <= RADIUS) & (r > 0.6 * RADIUS), r <= 0.6 * RADIUS


def _interior(mask: np.ndarray) -> np.ndarray:
    """``mask`` eroded 2 px: scores away from the anti-aliased borders."""
    return cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0


@pytest.mark.parametrize("shape", [_lattice, _ring])
def test_gaps_over_a_dark_ground_are_opened(shape) -> None:
    solid, gaps = shape()
    rgb, matte = _paint(_ground(DARK), solid, TAN), _disc()
    out = open_holes(rgb, matte, neutral=True)
    assert out.shape == matte.shape and out.dtype == np.uint8
    assert np.mean(out[_interior(gaps)] < 32) > 0.95
    assert np.mean(out[_interior(solid)] > 200) > 0.99
    assert np.array_equal(matte, _disc())  # the input is not written


def test_gaps_over_a_coloured_ground_are_opened_by_default() -> None:
    solid, gaps = _lattice()
    rgb, matte = _paint(_ground(GREEN, grain=6), solid, TAN), _disc()
    out = open_holes(rgb, matte)
    assert np.mean(out[_interior(gaps)] < 32) > 0.95
    assert np.mean(out[_interior(solid)] > 200) > 0.99


def test_hole_rims_are_soft() -> None:
    """Mixed pixels at a gap's border keep part of their opacity."""
    solid, gaps = _ring()
    rgb = _paint(_ground(DARK), solid, TAN)
    blurred = cv2.GaussianBlur(rgb, (0, 0), 1.5)  # a soft transition from band to hole
    out = open_holes(blurred, _disc(), neutral=True)
    border = cv2.dilate(gaps.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    border &= ~_interior(gaps) & (_disc() == 255)
    assert np.count_nonzero((out[border] > 20) & (out[border] < 235)) > 0.3 * border.sum()


def test_neutral_grounds_are_left_alone_by_default() -> None:
    solid, _ = _lattice()
    rgb, matte = _paint(_ground(DARK), solid, TAN), _disc()
    assert open_holes(rgb, matte) is matte


def test_white_product_on_white_sweep_is_unchanged() -> None:
    product = np.zeros((H, W), np.uint8)
    cv2.rectangle(product, (140, 60), (340, 320), 255, -1)
    rgb = _paint(_ground(WHITE), product > 0, (244, 244, 242))
    out = open_holes(rgb, product, neutral=True)
    assert out is product
    assert np.array_equal(out[product > 0], np.full(np.count_nonzero(product), 255))


def test_small_ground_coloured_region_is_unchanged() -> None:
    """A button the colour of the ground: enclosed and matching, but too small to be a gap."""
    product = np.zeros((H, W), np.uint8)
    cv2.rectangle(product, (120, 50), (360, 310), 255, -1)
    rgb = _paint(_ground(DARK), product > 0, (60, 110, 170))
    cv2.circle(rgb, (240, 180), 14, DARK, -1)
    out = open_holes(rgb, product, neutral=True)
    assert out is product
    assert out[180, 240] == 255


def test_matte_without_background_is_unchanged() -> None:
    solid, _ = _lattice()
    rgb = _paint(_ground(DARK), solid, TAN)
    matte = np.maximum(_disc(), 1)  # nothing is confidently background
    out = open_holes(rgb, matte, neutral=True)
    assert out is matte
    assert out.min() == 1
