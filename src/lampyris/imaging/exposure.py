"""Auto tone's exposure, whites and blacks: where an image's middle should land (its key), and
the sliders that put it there.

The tone sliders form a curve that is monotone in luminance, so a percentile of the output is
the curve applied to the same percentile of the input. That turns "blacks just reach black,
highlights sit near white, the middle lands on its key" into equations in exposure, blacks and
whites, each solved by bisection; exposure and whites are then capped so strong colours stay
under their limits (``colour_limits``).

The key is a retoucher's habit, not a fixed grey: a median near a quarter stays there, brighter
ones open up, a picture without highlights gets some, and only a badly under-exposed one with
hardly anything lit is rescued to mid-grey. Measured on bench/tone_bench.py (FiveK expert C,
11 pairs; LOL eval15 and our485 sample), each against the final settings with only that
constant changed.
"""

from __future__ import annotations

import numpy as np

from lampyris.imaging.autotone_stats import ImageStats
from lampyris.imaging.bisection import solve
from lampyris.imaging.colour_limits import cap
from lampyris.imaging.tone import curve, srgb_decode
from lampyris.imaging.tone import srgb_encode as encode
from lampyris.imaging.tone_settings import ToneSettings

__all__ = ["KEY_TARGET", "auto_key", "rescue", "tone"]

# Targets on the sRGB-encoded luminance scale (0..1).
_BLACK_TARGET = 0.03
_WHITE_TARGET = 0.85  # expert C puts the 99.5th percentile at 0.79; 0.90 (the old target): -0.5 dB
_BLACKLESS, _BLACKLESS_SPAN = 0.4, 0.15  # darkest tones past 0.4 after exposure: no black in it
KEY_TARGET = 0.46  # mid-grey: where a rescued dark image's median goes
# key = 2 x median - 0.25: a median of a quarter stays, 0.35 goes to 0.45, 0.45 to 0.65 (FiveK
# keeps low-key pictures dark and opens bright ones; the old flat x1.4 lift: -1.0 dB)…
_KEY_PIVOT, _KEY_SLOPE = 0.25, 2.0
_KEY_CAP = 0.68  # …up to here, and never darker than the median…
# …but bright enough that the 99.5th percentile of the brightest channel reaches 0.65 (a
# picture without highlights is under-exposed, not low-key: +0.34 dB, -0.86 ΔE00; taken on
# luminance, where a red product could never get there: -0.33 dB)
_HIGHLIGHT_FLOOR = 0.65
_DARK_FROM, _DARK_SPAN = 0.2, 0.1  # medians below 0.2 are rescued, fully below 0.1…
# …unless a fair share is already lit (``ImageStats.lit``: brightest channel past 0.3): a
# product on black, faces at night. LOL's dark rooms show under 7 % lit, FiveK's night
# portrait 11 % (+1.4 dB).
_LIT_FROM, _LIT_SPAN = 0.06, 0.06
_MAX_EXPOSURE = 5.0  # the slider's end; past it shadows lift a rescued median further…
_PAST_EXPOSURE = 75.0  # …up to 75: LOL +0.3 / +0.9 dB; 100 cost SSIM (noise) for ±0.1 dB
# A cutout whose brightest channel's 99.5th percentile reaches 0.2 (linear; 124/255) is
# exposed: its key rises a fifth of a stop at most (a third lends a dark tan 7 % more chroma),
# and its whites are stretched only from an sRGB-encoded 0.75 up (without white parts a tan,
# brown or navy product keeps its lightness). Generated cutouts only: the reference sets
# have no transparency.
_CUTOUT_EXPOSED, _CUTOUT_NUDGE, _CUTOUT_WHITE_FROM = 0.2, 0.2, 0.75


def _encoded(level: float) -> float:
    return float(encode(np.array([level]))[0])


def _fit(settings: ToneSettings, slider: str, level: float, bounds: tuple[float, float],
         target: float, digits: int = 0) -> ToneSettings:
    """``settings`` with ``slider`` set so that input luminance ``level`` renders at
    ``target`` (sRGB-encoded)."""
    def rendered(value: float) -> float:
        return _encoded(float(curve(np.array([level]), settings.merged(**{slider: value}))[0]))

    value = solve(rendered, *bounds, target, steps=20)  # 1e-5 of the range: below rounding
    return settings.merged(**{slider: round(value, digits)})


def _blacks(settings: ToneSettings, low: float | None) -> ToneSettings:
    """Blacks that take the darkest tones to black, fading out when those are far from black
    (a product on white has none: the slider would only darken its colours)."""
    if low is None:
        return settings.merged(blacks=0.0)
    darkest = _encoded(float(curve(np.array([low]), settings.merged(blacks=0.0))[0]))
    fitted = _fit(settings, "blacks", low, (-100.0, 100.0), _BLACK_TARGET).blacks
    share = float(np.clip((_BLACKLESS + _BLACKLESS_SPAN - darkest) / _BLACKLESS_SPAN, 0.0, 1.0))
    return settings.merged(blacks=float(round(fitted * share)))


def tone(stats: ImageStats, key: float, colours: np.ndarray,
         limits: np.ndarray) -> dict[str, float]:
    """Exposure (and shadows past its end), whites and blacks that put the low, middle and
    high percentiles on target without pushing strong colours past their ``limits``."""
    # highlights already brighter than the target stay (a white sweep must stay white); a
    # product alone is stretched only when it has near-white parts to stretch to white
    white = max(_WHITE_TARGET, _encoded(stats.high))
    stretch = not (stats.cutout and _encoded(stats.high) < _CUTOUT_WHITE_FROM)
    settings = ToneSettings()
    for _ in range(3):  # the sliders interact a little: alternate until they settle
        settings = _fit(settings, "exposure", stats.median, (-3.0, _MAX_EXPOSURE), key, digits=2)
        if settings.exposure >= _MAX_EXPOSURE - 0.01:
            settings = _fit(settings, "shadows", stats.median, (0.0, _PAST_EXPOSURE), key)
        settings = cap(settings, "exposure", colours, limits, digits=2)
        if stretch:
            settings = _fit(settings, "whites", stats.high, (-100.0, 100.0), white)
            settings = cap(settings, "whites", colours, limits)
        settings = _blacks(settings, stats.low)
    return {k: getattr(settings, k) for k in ("exposure", "shadows", "whites", "blacks")}


def rescue(stats: ImageStats) -> float:
    """0 for a normally exposed or low-key image, rising to 1 for a badly under-exposed one."""
    dark = np.clip((_DARK_FROM - _encoded(stats.median)) / _DARK_SPAN, 0.0, 1.0)
    unlit = np.clip((_LIT_FROM + _LIT_SPAN - stats.lit) / _LIT_SPAN, 0.0, 1.0)
    return float(dark * unlit)


def auto_key(stats: ImageStats) -> float:
    """Where auto puts an image's median (sRGB-encoded)."""
    median = _encoded(stats.median)
    key = min(_KEY_CAP, _KEY_PIVOT + _KEY_SLOPE * (median - _KEY_PIVOT))
    if stats.cutout and stats.peak >= _CUTOUT_EXPOSED:
        # a product alone: its median is its own colour, not the scene's key (a brown bag is
        # brown); exposed well enough, it is only nudged, and its lack of highlights is no
        # reason to brighten it
        return max(median, min(key, _encoded(stats.median * 2.0 ** _CUTOUT_NUDGE)))
    floor = float(srgb_decode(np.array([_HIGHLIGHT_FLOOR]))[0])
    key = max(median, key, min(_KEY_CAP, _encoded(stats.median * floor / max(stats.peak, 1e-6))))
    return key + rescue(stats) * (KEY_TARGET - key)
