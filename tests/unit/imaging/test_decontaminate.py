"""Colour decontamination: edge pixels lose the old background's spill, the rest is untouched.

The scene is the compositing equation itself: a pure-colour subject F over green G with a soft
(ramp) alpha, I = a*F + (1-a)*G, so the ideal result on the edge is exactly F.
"""

from __future__ import annotations

import numpy as np
import pytest

from lampyris.imaging.decontaminate import decontaminate, estimate_foreground

F = np.array([200, 40, 160], np.float32)
GREEN = np.array([0, 220, 0], np.float32)
H, W = 240, 320
CENTRE, RADIUS = (120, 160), 60


def _scene(ramp: float) -> tuple[np.ndarray, np.ndarray]:
    """RGB uint8 and alpha float32: a disc whose alpha falls from 1 to 0 over ``ramp`` px."""
    yy, xx = np.mgrid[:H, :W]
    d = np.hypot(yy - CENTRE[0], xx - CENTRE[1])
    alpha = np.clip((RADIUS - d) / ramp + 0.5, 0.0, 1.0).astype(np.float32)
    a = alpha[..., None]
    rgb = (a * F + (1.0 - a) * GREEN + 0.5).astype(np.uint8)
    return rgb, alpha


def _u8(alpha: np.ndarray) -> np.ndarray:
    """The 8-bit matte decontaminate() takes, as the cutout op passes it."""
    return (alpha * 255.0 + 0.5).astype(np.uint8)


def _edge(alpha: np.ndarray) -> np.ndarray:
    return (alpha > 0.1) & (alpha < 0.95)


def _error(rgb: np.ndarray, where: np.ndarray) -> float:
    """Mean absolute distance from the true foreground colour F."""
    return float(np.abs(rgb[where].astype(np.float32) - F).mean())


def _green_excess(rgb: np.ndarray, where: np.ndarray) -> float:
    """How much greener than F the pixels are, on average."""
    return float((rgb[where][:, 1].astype(np.float32) - F[1]).mean())


@pytest.mark.parametrize(("ramp", "max_ratio"), [(2, 0.1), (4, 0.2), (6, 0.3)])
def test_edge_colours_move_to_the_foreground(ramp: float, max_ratio: float) -> None:
    rgb, alpha = _scene(ramp)
    edge = _edge(alpha)
    out = decontaminate(rgb, _u8(alpha), 1.0)

    assert _error(rgb, edge) > 30  # the input really is contaminated
    assert _error(out, edge) < max_ratio * _error(rgb, edge)
    assert _green_excess(out, edge) < max_ratio * _green_excess(rgb, edge)
    assert out.dtype == np.uint8
    assert out.shape == rgb.shape


def test_amount_interpolates_between_input_and_estimate() -> None:
    rgb, alpha = _scene(3)
    edge = _edge(alpha)
    errors = [_error(decontaminate(rgb, _u8(alpha), amount), edge) for amount in (0.0, 0.5, 1.0)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[1] == pytest.approx((errors[0] + errors[2]) / 2, abs=1.0)


@pytest.mark.parametrize("amount", [0.0, -0.5])
def test_amount_zero_returns_the_input_unchanged(amount: float) -> None:
    rgb, alpha = _scene(4)
    out = decontaminate(rgb, _u8(alpha), amount)
    np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize("amount", [0.5, 1.0])
def test_opaque_pixels_and_far_background_are_unchanged(amount: float) -> None:
    rgb, alpha = _scene(4)
    before = rgb.copy()
    out = decontaminate(rgb, _u8(alpha), amount)

    np.testing.assert_array_equal(rgb, before)  # the input is not written to
    opaque = alpha == 1.0
    np.testing.assert_array_equal(out[opaque], rgb[opaque])

    # Only the soft edge's bounding box plus max(9, side / 11) = 29 px is processed.
    soft = (alpha > 0) & (alpha < 1)
    rows, cols = np.flatnonzero(soft.any(axis=1)), np.flatnonzero(soft.any(axis=0))
    margin = round(W / 11)
    far = np.ones((H, W), bool)
    far[rows[0] - margin : rows[-1] + margin + 1, cols[0] - margin : cols[-1] + margin + 1] = False
    assert far.sum() > 0.3 * far.size
    np.testing.assert_array_equal(out[far], rgb[far])
    assert not np.array_equal(out, rgb)  # while the edge did change


def test_hard_matte_has_no_edge_to_fix() -> None:
    rgb, alpha = _scene(4)
    hard = (alpha >= 0.5).astype(np.float32)
    out = decontaminate(rgb, _u8(hard), 1.0)
    np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize("ramp", [2, 4])
def test_estimate_foreground_keeps_opaque_pixels_and_recovers_f(ramp: float) -> None:
    rgb, alpha = _scene(ramp)
    fg = estimate_foreground(rgb, alpha)
    assert fg.shape == (H, W, 3)
    assert fg.dtype == np.float32
    assert float(fg.min()) >= 0.0
    assert float(fg.max()) <= 1.0
    opaque = alpha == 1.0
    np.testing.assert_allclose(fg[opaque] * 255.0, rgb[opaque], atol=1e-3)
    mid = (alpha > 0.4) & (alpha < 0.6)
    assert np.abs(fg[mid] * 255.0 - F).mean() < 15
