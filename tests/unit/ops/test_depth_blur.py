"""The depth blur op: the background loses its fine detail, the subject keeps its exact
pixels, the adjustments act on the background only, and options that need a depth map say
that they were not used.

The matte comes from the real bundled u2netp (a red disc on a fine checker)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lampyris.imaging.depth_blur import BlurSettings, blur_background, focus_map
from lampyris.models import MattingSession
from lampyris.ops import run
from lampyris.ops.depth_blur import IGNORED_NOTICE, DepthBlurParams, depth_blur

H, W, CENTRE, RADIUS = 240, 320, (160, 120), 70


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, np.ndarray]:
    """A red disc on a light grey checker of 3 px squares, and the disc's mask."""
    yy, xx = np.mgrid[0:H, 0:W]
    checker = ((xx // 3 + yy // 3) % 2 * 30).astype(np.uint8)
    rgb = np.repeat((225 - checker)[..., None], 3, axis=2)
    mask = np.zeros((H, W), np.uint8)
    cv2.circle(mask, CENTRE, RADIUS, 1, -1)
    rgb[mask > 0] = (200, 30, 30)
    return rgb, mask.astype(bool)


def _detail(rgb: np.ndarray, where: np.ndarray) -> float:
    """Mean absolute Laplacian of the grey image over ``where``: high-frequency energy."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F))[where].mean())


def _ring(mask: np.ndarray, margin: int) -> tuple[np.ndarray, np.ndarray]:
    kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    inside = cv2.erode(mask.astype(np.uint8), kernel).astype(bool)
    outside = ~cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)
    return inside, outside


def test_the_background_is_blurred_and_the_subject_is_unchanged(
        scene: tuple[np.ndarray, np.ndarray], u2netp: MattingSession) -> None:
    rgb, mask = scene
    result = depth_blur(rgb, session=u2netp)
    inside, outside = _ring(mask, 6)
    assert _detail(result.pixels, outside) < 0.05 * _detail(rgb, outside)
    np.testing.assert_array_equal(result.pixels[inside], rgb[inside])
    # no halo: the blurred background next to the disc keeps the ground's grey, not red
    near = outside & ~_ring(mask, 14)[1]
    red_excess = result.pixels[near][:, 0].astype(int) - result.pixels[near][:, 1]
    assert red_excess.max() <= 6
    assert result.metadata["blur_sigma"] == pytest.approx(0.5 * 0.03 * W, abs=0.01)
    assert "notices" not in result.metadata


def test_strength_sets_how_much_detail_goes(
        scene: tuple[np.ndarray, np.ndarray], u2netp: MattingSession) -> None:
    rgb, mask = scene
    _, outside = _ring(mask, 6)
    light = run("depth_blur", rgb, {"blur_strength": 10}, session=u2netp).pixels
    none = run("depth_blur", rgb, {"blur_strength": 0}, session=u2netp).pixels
    np.testing.assert_array_equal(none, rgb)
    assert 0.05 * _detail(rgb, outside) < _detail(light, outside) < _detail(rgb, outside)


def test_adjustments_change_the_background_only(
        scene: tuple[np.ndarray, np.ndarray], u2netp: MattingSession) -> None:
    rgb, mask = scene
    inside, outside = _ring(mask, 6)
    plain = depth_blur(rgb, session=u2netp).pixels.astype(int)
    warm = depth_blur(rgb, DepthBlurParams(temp=50, brightness=-25, haze=0),
                      session=u2netp).pixels.astype(int)
    np.testing.assert_array_equal(warm[inside], rgb[inside])
    # warmer: red up, blue down relative to the plain blur; darker overall
    assert (warm[outside][:, 0] - warm[outside][:, 2]).mean() > (
        plain[outside][:, 0] - plain[outside][:, 2]).mean() + 20
    assert warm[outside].mean() < plain[outside].mean()


def test_focal_range_widens_the_sharp_region() -> None:
    alpha = np.zeros((100, 200), np.uint8)
    alpha[40:60, 90:110] = 255
    narrow, wide = focus_map(alpha, 0), focus_map(alpha, 50)
    assert narrow[50, 85] == 0 and wide[50, 85] > 0.3  # 5 px out: in focus with range 50
    assert wide[50, 10] == 0  # 80 px out: past the 10 px reach
    rgb = np.random.default_rng(0).integers(0, 255, (100, 200, 3), dtype=np.uint8)
    out, _ = blur_background(rgb, alpha, BlurSettings(focal_range=50))
    np.testing.assert_array_equal(out[40:60, 90:110], rgb[40:60, 90:110])


def test_depth_options_without_a_depth_map_are_reported(
        scene: tuple[np.ndarray, np.ndarray], u2netp: MattingSession) -> None:
    rgb, _ = scene
    result = depth_blur(rgb, DepthBlurParams(focal_distance=40), session=u2netp)
    assert result.metadata["notices"] == [IGNORED_NOTICE]
    focused = depth_blur(rgb, DepthBlurParams(focal_distance=40, focus_subject=True),
                         session=u2netp)
    assert "notices" not in focused.metadata


def test_an_input_alpha_is_kept(scene: tuple[np.ndarray, np.ndarray],
                                u2netp: MattingSession) -> None:
    rgb, _ = scene
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)])
    out = depth_blur(rgba, session=u2netp).pixels
    assert out.shape == rgba.shape and (out[..., 3] == 200).all()


def _half_transparent() -> np.ndarray:
    """A plain light ground on the left, transparent (black underneath) on the right."""
    rgba = np.zeros((120, 160, 4), np.uint8)
    rgba[:, :80] = (220, 220, 220, 255)
    return rgba


def test_colour_under_transparent_pixels_does_not_fringe_the_background() -> None:
    rgba = _half_transparent()
    out, _ = blur_background(rgba[..., :3], np.zeros((120, 160), np.uint8), BlurSettings(),
                             rgba[..., 3])
    assert out[:, :80].min() >= 218  # no dark band along the transparent edge


def test_the_op_weights_the_blur_by_the_input_alpha(monkeypatch: pytest.MonkeyPatch) -> None:
    import lampyris.ops.depth_blur as op_module

    monkeypatch.setattr(op_module, "predict_matte",
                        lambda pixels, **_: np.zeros(pixels.shape[:2], np.uint8))
    out = depth_blur(_half_transparent()).pixels
    assert out[:, :80, :3].min() >= 218 and (out[..., 3] == _half_transparent()[..., 3]).all()
