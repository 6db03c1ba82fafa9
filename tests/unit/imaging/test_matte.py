"""Matte refinement: guided-filter upsampling along the image's edges, levels, binarisation.

The "network matte" here is the true shape area-reduced to 320x320 (optionally blurred, as a
real network's output is soft), so the error against the drawn shape is measurable.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lampyris.imaging.matte import LEVELS, binarise, refine_matte

NET = (320, 320)


def _scene(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A sharp-edged red disc and square on light grey, and the true matte (float32 0/1)."""
    rgb = np.full((height, width, 3), 235, np.uint8)
    truth = np.zeros((height, width), np.uint8)
    cv2.circle(truth, (width // 2, height // 2), int(min(height, width) * 0.3), 1, -1)
    cv2.rectangle(truth, (width // 8, height // 8), (width // 3, height // 3), 1, -1)
    rgb[truth > 0] = (200, 30, 30)
    return rgb, truth.astype(np.float32)


def _network_matte(truth: np.ndarray, blur: float = 0.0) -> np.ndarray:
    small = cv2.resize(truth, NET, interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small, (0, 0), blur) if blur else small


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(_unit(a) - _unit(b)).mean())


def _unit(x: np.ndarray) -> np.ndarray:
    """8-bit alpha as float [0,1]; float mattes pass through."""
    return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x


def _levels(matte: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    lo, hi = levels
    return np.clip((matte - lo) / (hi - lo), 0.0, 1.0)


@pytest.mark.parametrize(
    ("matte_shape", "image_shape"),
    [
        ((320, 320), (240, 320)),  # image smaller than the working side: fitted at full size
        ((320, 320), (1200, 900)),  # portrait, larger than WORK_SIDE: a and b are upsampled
        ((160, 320), (480, 1400)),  # non-square network output, wide image
        ((320, 320), (48, 64)),  # image smaller than the matte
    ],
)
def test_refine_matte_has_the_image_size_and_unit_range(
    matte_shape: tuple[int, int], image_shape: tuple[int, int]
) -> None:
    rgb, truth = _scene(*image_shape)
    matte = cv2.resize(truth, matte_shape[::-1], interpolation=cv2.INTER_AREA)
    out = refine_matte(matte, rgb)
    assert out.shape == image_shape
    assert out.dtype == np.uint8
    assert _mae(out, truth) < 0.05  # and it is still the same shape


@pytest.mark.parametrize(
    ("image_shape", "blur", "max_ratio"),
    [
        ((768, 1024), 0.0, 0.65),  # fitted at full resolution (long side == WORK_SIDE)
        ((1536, 2048), 0.0, 0.6),  # fitted at half resolution, coefficients upsampled
        ((768, 1024), 1.0, 0.85),  # a soft network matte
        ((1536, 2048), 1.0, 0.8),
    ],
)
def test_refined_edges_beat_a_plain_resize(
    image_shape: tuple[int, int], blur: float, max_ratio: float
) -> None:
    rgb, truth = _scene(*image_shape)
    net = _network_matte(truth, blur)
    plain = cv2.resize(net, image_shape[::-1], interpolation=cv2.INTER_LINEAR)
    refined = refine_matte(net.copy(), rgb)

    assert _mae(refined, truth) < max_ratio * _mae(plain, truth)
    # Not only the levels: the guided filter beats the same levels applied to a plain resize.
    assert _mae(refined, truth) < _mae(_levels(plain, LEVELS), truth)
    edge_error = np.abs((refined >= 128).astype(np.float32) - truth).sum()
    assert edge_error <= np.abs((plain >= 0.5).astype(np.float32) - truth).sum()


def test_refine_matte_does_not_modify_the_network_matte() -> None:
    rgb, truth = _scene(240, 320)
    net = _network_matte(truth)
    before = net.copy()
    refine_matte(net, rgb)
    np.testing.assert_array_equal(net, before)


@pytest.mark.parametrize(("haze", "solid"), [(0.03, 0.97), (0.045, 0.955), (0.0, 1.0)])
def test_levels_snap_haze_and_holes_to_exactly_zero_and_one(haze: float, solid: float) -> None:
    rgb, truth = _scene(240, 320)
    net = np.where(_network_matte(truth) > 0.5, solid, haze).astype(np.float32)
    out = refine_matte(net, rgb)
    far = cv2.dilate(truth, np.ones((15, 15), np.uint8)) == 0
    inside = cv2.erode(truth, np.ones((15, 15), np.uint8)) == 1
    assert np.all(out[far] == 0)
    assert np.all(out[inside] == 255)


def test_levels_off_keeps_the_haze() -> None:
    rgb = np.full((120, 160, 3), 235, np.uint8)  # flat: the filter only smooths
    net = np.full(NET, 0.03, np.float32)
    out = refine_matte(net, rgb, levels=(0.0, 1.0))
    np.testing.assert_array_equal(out, round(0.03 * 255))


@pytest.mark.parametrize("threshold", [128, 50, 200])
def test_binarise_gives_only_zero_and_255(threshold: int) -> None:
    rng = np.random.default_rng(7)
    alpha = rng.integers(0, 256, (64, 80), dtype=np.uint8)
    alpha[0, :3] = (threshold, threshold - 1, 255)
    out = binarise(alpha, threshold)
    assert out.dtype == np.uint8
    assert set(np.unique(out).tolist()) == {0, 255}
    np.testing.assert_array_equal(out, np.where(alpha >= threshold, 255, 0))
    assert out[0, 0] == 255  # the threshold itself is subject
    assert out[0, 1] == 0


def test_edge_tiles_match_a_full_resolution_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skipping decided tiles changes no alpha by more than one level."""
    from lampyris.imaging import matte as matte_module

    rgb, truth = _scene(1536, 2048)
    net = _network_matte(truth, 1.0)
    tiled = refine_matte(net, rgb)
    monkeypatch.setattr(matte_module, "TILE", 4096)  # one tile: every pixel computed
    whole = refine_matte(net, rgb)
    assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 1
    assert np.count_nonzero((whole > 0) & (whole < 255)) > 0  # there were edges to compute
