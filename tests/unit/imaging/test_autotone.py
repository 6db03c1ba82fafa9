"""Auto tone: settings chosen from the image's own statistics, and the house look of a set."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lampyris.imaging.autotone import (
    HouseLook,
    auto_white_balance,
    estimate,
    measure,
    measure_look,
)
from lampyris.imaging.tone import render
from lampyris.imaging.tone_settings import ToneSettings
from support.photos import luminance, photo, to_linear, to_srgb8


def encoded_median(rgb: np.ndarray) -> float:
    y = np.median(luminance(rgb))
    return float(np.where(y <= 0.0031308, 12.92 * y, 1.055 * y ** (1 / 2.4) - 0.055))


def card_balance(rgb: np.ndarray) -> float:
    """log2 of the mid-grey card's R/B ratio: 0 when neutral, positive when warm."""
    card = to_linear(rgb[130:160, 105:140]).reshape(-1, 3).mean(axis=0)
    return float(np.log2(card[0] / card[2]))


def grey_card_cast(rgb: np.ndarray) -> float:
    return abs(card_balance(rgb))


def test_an_underexposed_photo_is_brightened_and_stretched() -> None:
    dark = photo(stops=-2.0)
    settings = estimate(dark)
    assert settings.exposure > 0.7
    out = render(dark, settings)
    assert encoded_median(out) > encoded_median(dark) + 0.08
    assert np.percentile(out, 99.5) > np.percentile(dark, 99.5) + 50, "highlights open up"
    assert np.percentile(out, 0.5) <= 20, "blacks reach near black"


def test_a_badly_underexposed_photo_is_rescued_with_noise_reduction() -> None:
    night = photo(stops=-5.0)
    settings = estimate(night)
    assert settings.exposure > 3.0
    assert settings.color_noise_reduction > 0 and settings.saturation <= 0
    assert 0.35 < encoded_median(render(night, settings)) < 0.6


def test_a_bright_photo_is_not_darkened() -> None:
    studio = np.full((200, 300, 3), 242, np.uint8)  # a product on a white sweep
    studio[60:140, 110:190] = (40, 90, 160)
    out = render(studio, estimate(studio))
    assert encoded_median(out) >= encoded_median(studio) - 0.01
    assert out[10, 10].min() >= 240, "the white background stays white"
    well = photo(stops=1.0)
    assert encoded_median(render(well, estimate(well))) <= 1.4 * encoded_median(well) + 0.02


def test_a_strong_cast_is_reduced_and_a_red_product_is_not_a_red_light() -> None:
    blue = photo(cast=(0.5, 1.0, 2.0))
    out = render(blue, estimate(blue))
    assert grey_card_cast(out) < 0.8 * grey_card_cast(blue)
    mild = photo(cast=(0.7, 1.0, 1.4))  # auto keeps a mild cast as mood; "Auto" WB removes it
    full = render(mild, ToneSettings(**auto_white_balance(mild)))
    assert grey_card_cast(full) < 0.35 * grey_card_cast(mild)

    product = np.full((200, 200, 3), 235, np.uint8)
    product[40:160, 40:160] = (200, 20, 30)  # a red product filling most of a white studio
    wb = estimate(product)
    assert abs(wb.temperature) < 5 and abs(wb.tint) < 5


def test_transparent_pixels_do_not_count() -> None:
    subject = photo(stops=-1.5)
    rgba = np.dstack([subject, np.full(subject.shape[:2], 255, np.uint8)])
    rgba[:, :60] = (255, 255, 255, 0)  # a bright background that has been cut away
    rgba[:, -60:] = (255, 255, 255, 0)
    alone, with_hole = measure(subject[:, 60:-60]), measure(rgba)
    for level in ("median", "high"):  # the bright cut-away pixels would raise both
        assert getattr(with_hole, level) == pytest.approx(getattr(alone, level), rel=0.05)
    assert with_hole.cutout and not alone.cutout  # judged as a product alone (see below)
    out = render(rgba, estimate(rgba))
    assert np.array_equal(out[..., 3], rgba[..., 3])


def test_strength_scales_the_settings() -> None:
    dark = photo(stops=-2.0)
    assert estimate(dark, strength=0.0).is_identity
    half, full = estimate(dark, strength=0.5), estimate(dark)
    assert half.exposure == pytest.approx(full.exposure / 2, abs=0.02)


def test_a_house_look_brings_a_set_to_one_exposure_and_balance() -> None:
    shots = [photo(stops=s, cast=c, seed=i) for i, (s, c) in enumerate([
        (-1.5, (1.0, 1.0, 1.0)), (0.0, (1.2, 1.0, 0.85)), (-0.5, (0.9, 1.0, 1.15)),
        (0.7, (1.0, 1.0, 1.0)), (-1.0, (1.1, 1.0, 0.9)),
    ])]
    look = measure_look(shots)
    assert isinstance(look, HouseLook) and 0.1 < look.key < 0.9
    alone = [encoded_median(render(s, estimate(s))) for s in shots]
    together = [render(s, estimate(s, look=look)) for s in shots]
    keys = [encoded_median(t) for t in together]
    assert np.ptp(keys) < 0.5 * np.ptp(alone) and np.ptp(keys) < 0.04
    balances = [card_balance(t) for t in together]
    assert np.ptp(balances) < 0.3 * np.ptp([card_balance(s) for s in shots])
    assert all(abs(k - look.key) < 0.03 for k in keys)


def test_an_empty_set_has_the_default_look() -> None:
    assert measure_look([]) == HouseLook()


def product(ground: tuple[int, int, int], colour: tuple[int, int, int],
            light: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """A flat product (an ellipse) on a flat ground under ``light`` (linear gains), with a
    little noise; and the mask of its inside."""
    mask = np.zeros((240, 320), np.uint8)
    cv2.ellipse(mask, (160, 120), (80, 60), 0, 0, 360, 1, -1)
    lin = np.where(mask[..., None] > 0, to_linear(np.array(colour, np.uint8)),
                   to_linear(np.array(ground, np.uint8)))
    noise = np.random.default_rng(0).integers(-2, 3, lin.shape)
    rgb = np.clip(to_srgb8(lin * np.array(light)).astype(int) + noise, 0, 255).astype(np.uint8)
    return rgb, cv2.erode(mask, np.ones((7, 7), np.uint8)) > 0


def lab(rgb: np.ndarray, mask: np.ndarray) -> tuple[float, float, float]:
    """CIELAB lightness, chroma and hue (degrees) of the masked pixels' mean colour."""
    mean = to_linear(rgb[..., :3][mask]).mean(axis=0).astype(np.float32).reshape(1, 1, 3)
    lightness, a, b = cv2.cvtColor(mean, cv2.COLOR_LRGB2Lab)[0, 0]
    return float(lightness), float(np.hypot(a, b)), float(np.degrees(np.arctan2(b, a)))


def assert_colour_kept(before: np.ndarray, after: np.ndarray, mask: np.ndarray) -> None:
    _, c0, h0 = lab(before, mask)
    _, c1, h1 = lab(after, mask)
    assert abs((h1 - h0 + 180) % 360 - 180) < 5, "the hue stays"
    assert 0.8 <= c1 / c0 <= 1.05, f"chroma {c0:.1f} -> {c1:.1f}: not pushed, not washed out"
    assert np.mean(after[..., :3][mask].max(axis=1) >= 255) < 0.01, "no channel clips"


ORANGE, DARK_GREEN = (221, 106, 15), (20, 45, 25)


def test_a_saturated_product_on_a_dark_ground_keeps_its_colour() -> None:
    """The dark ground makes the median tiny; rescuing it would push the orange to white."""
    rgb, subject = product(DARK_GREEN, ORANGE)
    assert_colour_kept(rgb, render(rgb, estimate(rgb)), subject)


@pytest.mark.parametrize(("ground", "colour"), [
    ((128, 128, 128), (200, 25, 35)),  # a red product on mid-grey: brightened around it
    ((245, 245, 245), (190, 140, 90)),  # wicker on white: vibrance would push it
])
def test_chroma_is_not_pushed(ground: tuple[int, int, int],
                              colour: tuple[int, int, int]) -> None:
    rgb, subject = product(ground, colour)
    assert_colour_kept(rgb, render(rgb, estimate(rgb)), subject)


@pytest.mark.parametrize("light", [(2**0.18, 1.0, 2**-0.18), (2**-0.18, 1.0, 2**0.18)])
def test_a_white_subject_under_a_coloured_light_ends_neutral(
        light: tuple[float, float, float]) -> None:
    rgb, subject = product((150, 150, 150), (235, 235, 235), light)  # a quarter-stop cast
    assert lab(rgb, subject)[1] > 6
    assert lab(render(rgb, estimate(rgb)), subject)[1] < 4, "the cast is removed"


def test_an_rgba_cutout_is_judged_by_its_subject() -> None:
    """The hole and the faint fringe still carry the old light ground: neither may count."""
    rgb, subject = product((200, 200, 200), ORANGE)
    fringe = cv2.dilate(subject.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    alpha = np.where(subject, 255, np.where(fringe, 60, 0)).astype(np.uint8)
    rgba = np.dstack([rgb, alpha])
    settings = estimate(rgba)
    out = render(rgba, settings)
    assert np.array_equal(out[..., 3], rgba[..., 3])
    assert_colour_kept(rgba, out, subject)
    assert settings.exposure < 0.5, "the product is exposed already: the hole is no reason"


@pytest.mark.parametrize("colour", [(176, 132, 92), (150, 110, 70), (205, 190, 150)])
def test_a_tan_cutout_is_a_tan_product_not_a_grey_under_warm_light(
        colour: tuple[int, int, int]) -> None:
    """Leather, wicker, kraft paper: alone on transparency they look like a grey under a warm
    light, and the cast rule would cool them toward grey."""
    rgb, subject = product((0, 0, 0), colour)
    rgba = np.dstack([rgb, np.where(subject, 255, 0).astype(np.uint8)])
    assert_colour_kept(rgba, render(rgba, estimate(rgba)), subject)
    white, inside = product((0, 0, 0), (238, 236, 232), (2**0.125, 1.0, 2**-0.125))
    white = np.dstack([white, np.where(inside, 255, 0).astype(np.uint8)])
    assert lab(render(white, estimate(white)), inside)[1] < 4, "a slip-sized cast still goes"
