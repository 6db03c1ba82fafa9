"""Auto straighten on real pixels: synthetic scenes full of lines, tilted by known angles.

The scenes (horizon, room, product shot, brick wall, facade) are drawn upright on a canvas larger
than the picture, turned, and cut back to the picture's size, so no blank corner or image edge
gives the tilt away: only the lines do. The generator is ``support/scenes.py``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from lampyris.errors import InvalidParameterError
from lampyris.imaging.straighten import straighten
from support.scenes import gradient, keystone, random_cases, random_colour, tilted_scene

# --------------------------------------------------------------------------------------------
# Accuracy (the acceptance criterion)
# --------------------------------------------------------------------------------------------


def test_recovers_known_tilts_within_half_a_degree() -> None:
    cases = random_cases(45, seed=2024)
    errors = []
    for i, (kind, tilt, seed) in enumerate(cases):
        # One in three with a keystone, blur and JPEG artefacts.
        img = tilted_scene(kind, tilt, np.random.default_rng(seed), hard=i % 3 == 2)
        _, meta = straighten(img, "auto")
        errors.append(abs(meta["angle"] + tilt))
    within = float(np.mean(np.array(errors) <= 0.5))
    misses = [(k, t, round(e, 2)) for (k, t, _), e in zip(cases, errors, strict=True) if e > 0.5]
    assert within >= 0.9, f"{within:.0%} of {len(cases)} within 0.5°; misses: {misses}"


@pytest.mark.parametrize("mode", ["level", "vertical", "full"])
def test_explicit_modes_recover_the_tilt(mode: str) -> None:
    kind = {"level": "horizon", "vertical": "facade", "full": "room"}[mode]
    img = tilted_scene(kind, 4.3, np.random.default_rng(7))
    _, meta = straighten(img, mode)
    assert meta["mode"] == mode
    assert meta["angle"] == pytest.approx(-4.3, abs=0.5)
    assert meta["lines"] >= 1
    assert 0.0 < meta["confidence"] <= 1.0


# --------------------------------------------------------------------------------------------
# Leaving things alone
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "level", "vertical", "full"])
def test_featureless_images_are_left_alone(mode: str) -> None:
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    sky = gradient(300, 400, (90, 140, 220), (220, 230, 250))
    blurred = cv2.GaussianBlur(noise, (0, 0), 2)
    for img in (noise, sky, blurred):
        out, meta = straighten(img, mode)
        assert out is img
        assert meta["angle"] == 0
        assert meta["crop"] is None
        assert meta["size"] == [400, 300]


def test_level_image_is_left_alone() -> None:
    img = tilted_scene("room", 0.0, np.random.default_rng(11))
    out, meta = straighten(img)
    assert out is img
    assert meta["angle"] == 0
    assert meta["lines"] > 0


def test_auto_wants_more_than_one_short_edge() -> None:
    # One dark stroke (a cable) 40 % of the frame wide, tilted 5°: level follows it, auto
    # does not; a horizon would have to cross most of the frame.
    canvas = np.full((360, 480, 3), 170, np.uint8)
    cv2.line(canvas, (140, 180), (340, 180), (40, 40, 40), 3)
    matrix = cv2.getRotationMatrix2D((239.5, 179.5), 5.0, 1.0)
    img = cv2.warpAffine(canvas, matrix, (480, 360), borderMode=cv2.BORDER_REPLICATE)
    out, meta = straighten(img, "auto")
    assert out is img and meta["angle"] == 0 and meta["lines"] == 1
    assert straighten(img, "level")[1]["angle"] == pytest.approx(-5.0, abs=0.3)


def _posts(tilt: float) -> np.ndarray:
    """Only vertical lines: posts of different widths and colours on a plain wall."""
    rng = np.random.default_rng(5)
    canvas = np.full((700, 700, 3), 200, np.uint8)
    for x in range(40, 660, 90):
        width = int(rng.integers(8, 30))
        cv2.rectangle(canvas, (x, 0), (x + width, 699), random_colour(rng, 0, 120), -1)
    matrix = cv2.getRotationMatrix2D((349.5, 349.5), tilt, 1.0)
    matrix[:, 2] -= (700 - 400) / 2
    return cv2.warpAffine(canvas, matrix, (400, 400), flags=cv2.INTER_LINEAR)


def test_modes_use_their_own_family_of_lines() -> None:
    img = _posts(-3.0)
    assert straighten(img, "level")[1]["angle"] == 0
    for mode in ("vertical", "full", "auto"):
        assert straighten(img, mode)[1]["angle"] == pytest.approx(3.0, abs=0.3), mode
    horizon = tilted_scene("horizon", 2.0, np.random.default_rng(8))
    assert straighten(horizon, "level")[1]["angle"] == pytest.approx(-2.0, abs=0.3)


@pytest.mark.parametrize("roll", [0.0, 2.5])
def test_converging_verticals_are_read_at_the_centre(roll: float) -> None:
    # A camera tilted up: the posts lean outwards by up to ~5° at the edges. Only the roll
    # (what the post through the centre would show) is rotated out.
    canvas = np.full((700, 700, 3), 200, np.uint8)
    for x in range(40, 660, 90):
        cv2.rectangle(canvas, (x, 0), (x + 16, 699), (60, 40, 30), -1)
    img = cv2.resize(keystone(canvas, 0.15), (400, 400), interpolation=cv2.INTER_AREA)
    matrix = cv2.getRotationMatrix2D((199.5, 199.5), roll, 1.0)
    img = cv2.warpAffine(img, matrix, (400, 400), flags=cv2.INTER_LINEAR)[40:360, 40:360]
    for mode in ("vertical", "auto"):
        assert straighten(img, mode)[1]["angle"] == pytest.approx(-roll, abs=0.3), mode


def test_auto_refuses_large_angles() -> None:
    img = _posts(-24.0)
    assert straighten(img, "auto")[1]["angle"] == 0
    assert straighten(img, "vertical")[1]["angle"] == pytest.approx(24.0, abs=0.3)


# --------------------------------------------------------------------------------------------
# Output geometry
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("w", "h"), [(480, 360), (300, 500)])
def test_constrained_crop_has_no_blank_corners_and_keeps_the_aspect(w: int, h: int) -> None:
    rgb = tilted_scene("bricks", 7.5, np.random.default_rng(1), size=(w, h))
    rgba = np.dstack([rgb, np.full((h, w), 255, np.uint8)])  # opaque: alpha shows the blanks
    out, meta = straighten(rgba, "auto", constrain_crop=True)
    assert meta["angle"] == pytest.approx(-7.5, abs=0.5)
    oh, ow = out.shape[:2]
    assert meta["size"] == [ow, oh]
    assert ow < w and oh < h
    assert abs((ow / oh) / (w / h) - 1) < 0.01
    assert (out[..., 3] == 255).all()

    # The crop is the given box of the grown canvas, and nothing in that box is blank.
    grown, _ = straighten(rgba, "auto", constrain_crop=False)
    x, y, cw, ch = meta["crop"]
    assert (cw, ch) == (ow, oh) and x > 0 and y > 0
    box = grown[y : y + ch, x : x + cw]
    assert (box[..., 3] == 255).all()
    # (warpAffine quantises source positions to 1/32 px, so a shifted origin moves a few levels
    # on sharp edges)
    diff = np.abs(box.astype(np.int16) - out)
    assert diff.mean() < 0.5 and diff.max() <= 8
    # ... and it is the largest such box: a pixel more all round reaches a blank corner.
    assert (grown[y - 2 : y + ch + 2, x - 2 : x + cw + 2, 3] < 255).any()


def test_unconstrained_rotation_grows_the_canvas() -> None:
    img = tilted_scene("facade", 6.0, np.random.default_rng(2))
    out, meta = straighten(img, "auto", constrain_crop=False)
    angle = math.radians(meta["angle"])
    assert meta["crop"] is None
    expected_w = 480 * math.cos(angle) + 360 * abs(math.sin(angle))
    assert out.shape[1] == pytest.approx(expected_w, abs=1.5)
    assert out.shape[0] > 360 and meta["size"] == [out.shape[1], out.shape[0]]
    assert (out[0, 0] == 255).all()  # RGB corners are white


def test_alpha_is_carried_through() -> None:
    rgb = tilted_scene("room", -5.0, np.random.default_rng(4))
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[60:300, 100:380] = 255  # an opaque subject on a transparent background
    rgba = np.dstack([rgb, alpha])

    out, meta = straighten(rgba, "auto", constrain_crop=False)
    assert out.shape[2] == 4
    assert meta["angle"] == pytest.approx(5.0, abs=0.5)
    assert out[0, 0, 3] == 0 and out[-1, -1, 3] == 0  # empty corners are transparent
    cy, cx = out.shape[0] // 2, out.shape[1] // 2
    assert out[cy, cx, 3] == 255  # the subject stays opaque
    assert np.count_nonzero(out[..., 3] > 127) == pytest.approx(240 * 280, rel=0.03)

    cropped, meta = straighten(rgba, "auto")
    assert cropped.shape[2] == 4 and meta["crop"] is not None
    assert cropped[cropped.shape[0] // 2, cropped.shape[1] // 2, 3] == 255


def test_unknown_mode_is_refused() -> None:
    img = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(InvalidParameterError, match="upright mode 'sideways'"):
        straighten(img, "sideways")
    with pytest.raises(InvalidParameterError, match="HxWx3 or HxWx4 uint8"):
        straighten(img[..., 0], "auto")
