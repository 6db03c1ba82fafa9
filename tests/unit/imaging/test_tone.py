"""The develop renderer: each slider moves pixels the way Lightroom's does, without hue shifts
or banding, and the defaults change nothing."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from lampyris.imaging.tone import curve, render
from lampyris.imaging.tone_settings import ToneSettings
from support.photos import luminance, photo, to_linear


def ramp() -> np.ndarray:
    """Every grey level, 16 rows tall: banding and reversals show up as steps in a row."""
    return np.repeat(np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 16, 0), 3, 2)


def hue(rgb: np.ndarray) -> np.ndarray:
    """Hue angle in linear light: the direction of the pixel away from its own grey, which is
    what scaling a colour or pulling it toward grey must not change."""
    lin = to_linear(rgb).reshape(-1, 3)
    grey = lin @ np.array([0.2126, 0.7152, 0.0722])
    r, g, b = (lin - grey[:, None]).T
    return np.degrees(np.arctan2(np.sqrt(3) * (g - b), 2 * r - g - b))


def hue_change(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs((hue(a) - hue(b) + 180) % 360 - 180)


def test_default_settings_return_the_input_untouched() -> None:
    img = photo()
    assert render(img, ToneSettings()) is img


def test_exposure_is_a_multiplication_in_linear_light() -> None:
    img = photo(stops=-1.5)
    out = render(img, ToneSettings(exposure=1.0))
    before, after = luminance(img), luminance(out)
    mid = (before > 0.02) & (before < 0.25)  # well inside the range the roll-off leaves alone
    ratio = np.median(after[mid] / before[mid])
    assert ratio == pytest.approx(2.0, rel=0.06)
    darker = luminance(render(img, ToneSettings(exposure=-1.0)))
    assert np.median(darker[mid] / before[mid]) == pytest.approx(0.5, rel=0.06)


def test_exposure_rolls_highlights_off_instead_of_clipping_them() -> None:
    img = ramp()
    out = render(img, ToneSettings(exposure=1.5))[0, :, 0].astype(int)
    assert (np.diff(out) >= 0).all()
    assert (out[200:] < 255).sum() > 30, "bright greys stay distinguishable, not all clipped"


@pytest.mark.parametrize("slider", ["contrast", "highlights", "shadows", "whites", "blacks"])
@pytest.mark.parametrize("value", [-100.0, -40.0, 40.0, 100.0])
def test_tone_sliders_are_monotone_without_banding(slider: str, value: float) -> None:
    out = render(ramp(), ToneSettings(**{slider: value}))[0, :, 0].astype(int)
    assert (np.diff(out) >= 0).all(), "a tone curve never reverses"
    assert np.diff(out).max() <= 6, "no level is stretched into a visible band"


def test_every_slider_combination_keeps_the_curve_monotone() -> None:
    y = np.linspace(0.0, 1.0, 2001)
    for e, c, h, s, w, b in itertools.product(
        (-2.0, 0.0, 2.0), (-100, 100), (-100, 100), (-100, 100), (-100, 100), (-100, 100)
    ):
        settings = ToneSettings(exposure=e, contrast=c, highlights=h, shadows=s, whites=w,
                                blacks=b)
        assert (np.diff(curve(y, settings)) >= -1e-12).all(), settings


def test_sliders_move_the_tones_they_name() -> None:
    grey = ramp()[:1]
    base = grey[0, :, 0].astype(int)

    def level(settings: ToneSettings) -> np.ndarray:
        return render(grey, settings)[0, :, 0].astype(int)

    shadows = level(ToneSettings(shadows=80))
    assert shadows[40] > base[40] + 10 and abs(shadows[250] - base[250]) <= 2
    highlights = level(ToneSettings(highlights=-80))
    assert highlights[200] < base[200] - 8 and abs(highlights[15] - base[15]) <= 2
    contrast = level(ToneSettings(contrast=60))
    assert contrast[60] < base[60] and contrast[200] > base[200]
    assert level(ToneSettings(blacks=-60))[20] < base[20] - 8
    assert level(ToneSettings(whites=60))[220] > base[220] + 8


def test_tone_changes_keep_hue() -> None:
    img = photo(stops=-1)
    out = render(img, ToneSettings(exposure=0.8, contrast=40, shadows=50, highlights=-50))
    lin = to_linear(img)
    chroma = lin.max(axis=2) - lin.min(axis=2)
    colourful = (chroma > 0.05) & (luminance(img) > 0.01)
    difference = hue_change(out, img)[colourful.ravel()]
    assert np.median(difference) < 1.0 and np.percentile(difference, 95) < 4.0


def test_temperature_and_tint_move_the_balance() -> None:
    grey = np.full((8, 8, 3), 128, np.uint8)
    warm = render(grey, ToneSettings(temperature=50))[0, 0].astype(int)
    assert warm[0] > 128 + 5 and warm[2] < 128 - 5
    magenta = render(grey, ToneSettings(tint=50))[0, 0].astype(int)
    assert magenta[1] < magenta[0] - 5 and magenta[1] < magenta[2] - 5
    tungsten = render(grey, ToneSettings(white_balance="Tungsten"))[0, 0].astype(int)
    assert tungsten[2] > tungsten[0] + 10, "a tungsten preset cools the picture"


def test_saturation_and_vibrance() -> None:
    img = photo()
    grey = render(img, ToneSettings(saturation=-100)).astype(int)
    assert np.abs(grey - grey.mean(axis=2, keepdims=True)).max() <= 2
    muted = np.full((4, 4, 3), (120, 110, 100), np.uint8)
    vivid = np.full((4, 4, 3), (200, 40, 40), np.uint8)

    def spread(a: np.ndarray) -> int:
        return int(a[0, 0].max()) - int(a[0, 0].min())

    boost = ToneSettings(vibrance=80)
    gain_muted = spread(render(muted, boost)) / spread(muted)
    gain_vivid = spread(render(vivid, boost)) / spread(vivid)
    assert gain_muted > 1.3 and gain_muted > gain_vivid


def test_out_of_gamut_colours_keep_their_hue() -> None:
    vivid = np.full((4, 4, 3), (230, 60, 20), np.uint8)
    out = render(vivid, ToneSettings(exposure=1.5, saturation=60))
    assert hue_change(out, vivid)[0] < 3.0
    assert out[0, 0, 0] >= 250, "the dominant channel reaches white instead of hue shifting"


def test_alpha_is_carried_through() -> None:
    rgba = np.dstack([photo(), np.tile(np.arange(320, dtype=np.uint8)[None, :], (240, 1))[:, :]])
    rgba[..., 3] = np.tile(np.linspace(0, 255, 320).astype(np.uint8), (240, 1))
    out = render(rgba, ToneSettings(exposure=0.5, clarity=30, sharpness=50))
    assert out.shape == rgba.shape
    assert np.array_equal(out[..., 3], rgba[..., 3])


def test_local_effects() -> None:
    img = photo(seed=3)
    vignette = luminance(render(img, ToneSettings(vignette=-80)))
    ratio = vignette / np.maximum(luminance(img), 1e-4)
    assert ratio[2, 2] < 0.7 * ratio[120, 160]

    def detail(a: np.ndarray) -> float:
        return float(cv2.Laplacian(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())

    assert detail(render(img, ToneSettings(sharpness=120))) > 1.3 * detail(img)
    assert detail(render(img, ToneSettings(texture=80))) > 1.1 * detail(img)
    rng = np.random.default_rng(1)
    noisy = np.clip(120 + rng.normal(0, 10, (64, 64, 3)), 0, 255).astype(np.uint8)
    assert detail(render(noisy, ToneSettings(noise_reduction=80))) < 0.6 * detail(noisy)
    colour_noise = render(noisy, ToneSettings(color_noise_reduction=100)).astype(float)
    assert np.std(colour_noise - colour_noise.mean(axis=2, keepdims=True)) < 0.7 * np.std(
        noisy.astype(float) - noisy.mean(axis=2, keepdims=True))


def local_contrast(rgb: np.ndarray) -> float:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 8)).mean())


def test_clarity_and_dehaze_add_contrast() -> None:
    hazy = (photo(seed=5).astype(np.float32) * 0.5 + 110).astype(np.uint8)
    assert local_contrast(render(hazy, ToneSettings(clarity=80))) > 1.2 * local_contrast(hazy)
    assert render(hazy, ToneSettings(dehaze=80)).std() > 1.2 * hazy.std()
    assert render(hazy, ToneSettings(dehaze=-80)).std() < 0.9 * hazy.std()


def test_out_of_range_settings_are_refused() -> None:
    with pytest.raises(ValidationError):
        ToneSettings(exposure=6)
    with pytest.raises(ValidationError):
        ToneSettings(contrast=101)
    with pytest.raises(ValidationError):
        ToneSettings(white_balance="Candlelight")  # type: ignore[arg-type]


def test_large_images_render_in_bands_like_small_ones() -> None:
    img = photo(width=640, height=1000, seed=2)
    settings = ToneSettings(exposure=0.7, contrast=20, vibrance=30, temperature=-20)
    one = render(img, settings, threads=1)
    assert np.array_equal(one, render(img, settings, threads=3))
    assert np.array_equal(one[:240, :320], render(img[:240, :320], settings))
