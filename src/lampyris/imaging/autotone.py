"""Auto tone: choose Lightroom settings for an image from its own statistics.

The tone sliders form a curve that is monotone in luminance, so a percentile of the output is
the curve applied to the same percentile of the input. That turns "blacks just reach black,
highlights sit just below white, the middle lands on its key" into three equations in
exposure, blacks and whites, solved on a thumbnail in a few milliseconds.

The key is a retoucher's habit, not a fixed grey: midtones come up by a constant factor (so a
low-key scene stays low-key, a flat one opens up), and only a badly under-exposed image is
rescued all the way to mid-grey, with colour noise reduction and a little less saturation
because the noise rises with it. White balance is corrected only when the cast is strong and
the image has grey-ish pixels to judge it by, and only half way. The constants were chosen on
the reference sets in ``bench/tone_bench.py`` (FiveK expert C, LOL); see docs/benchmarks.md.

A ``HouseLook`` replaces the per-image targets with ones shared by a whole set
(``measure_look``), so a catalog comes out with one exposure and one white balance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lampyris.imaging.tone import LUMA, TEMPERATURE_STOPS, TINT_STOPS, curve, srgb_decode
from lampyris.imaging.tone import srgb_encode as encode
from lampyris.imaging.tone_settings import ToneSettings

__all__ = [
    "HouseLook", "ImageStats", "auto_key", "auto_white_balance", "estimate", "measure",
    "measure_look",
]

_THUMB_SIDE = 384
# Targets on the sRGB-encoded luminance scale (0..1).
_BLACK_TARGET = 0.03
_WHITE_TARGET = 0.90
_LOW, _HIGH = 0.005, 0.995  # the percentiles that must reach the black and white targets
_KEY_TARGET = 0.46  # mid-grey: where a rescued dark image's median goes
_MIDTONE_LIFT = 1.4  # a normal image's median is raised by this factor…
_KEY_CAP = 0.68  # …up to here
_DARK_FROM, _DARK_SPAN = 0.2, 0.1  # medians below 0.2 are rescued, fully below 0.1
_VIBRANCE, _SATURATION = 25.0, 15.0
_CAST_KEPT, _CAST_REMOVED = 0.5, 0.75 # stops of cast left as mood; share of the rest removed
# what a fully rescued image gets instead of more colour: its noise was amplified too
_RESCUE_DESATURATE, _RESCUE_COLOUR_NR, _RESCUE_LUMA_NR = 20.0, 50.0, 30.0


class HouseLook(BaseModel):
    """Targets shared by a set of images: median lightness (``key``, sRGB-encoded 0..1) and
    the colour of neutral grey (``cast``: log2 red/green and blue/green of it, 0 = neutral)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: float = Field(default=_KEY_TARGET, gt=0.05, lt=0.95)
    cast: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class ImageStats:
    """What auto tone knows about an image: luminance percentiles (linear) and the cast."""

    low: float
    median: float
    high: float
    cast: tuple[float, float]  # log2 (R/G, B/G) of the estimated illuminant
    cast_confidence: float  # 0..1: how much of the image looked like it should be grey


def _thumbnail(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Linear RGB of a small copy, and the alpha weights when the image has transparency
    (so a cutout is judged by the product, not the hole around it)."""
    step = max(1, max(pixels.shape[:2]) // (2 * _THUMB_SIDE))
    if step > 1:  # statistics do not mind aliasing: skip pixels before averaging the rest
        pixels = pixels[::step, ::step]
    h, w = pixels.shape[:2]
    scale = min(1.0, _THUMB_SIDE / max(h, w))
    small = pixels if scale >= 1.0 else cv2.resize(
        pixels, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    lin = srgb_decode(small[..., :3].astype(np.float32) / 255.0).astype(np.float32)
    weights = small[..., 3].astype(np.float32) / 255.0 if pixels.shape[2] == 4 else None
    return lin, weights


def _weighted_percentiles(values: np.ndarray, weights: np.ndarray | None,
                          qs: Iterable[float]) -> list[float]:
    qs = list(qs)
    if weights is None:
        return [float(v) for v in np.quantile(values, qs)]
    order = np.argsort(values)
    v, wt = values[order], weights[order]
    cum = np.cumsum(wt)
    if cum[-1] <= 0:
        return [float(v) for v in np.quantile(values, qs)]
    return [float(np.interp(q * cum[-1], cum, v)) for q in qs]


def _cast(lin: np.ndarray, weights: np.ndarray | None) -> tuple[tuple[float, float], float]:
    """The illuminant's colour from near-neutral, well-exposed pixels (a grey-pixel estimate:
    grey-world would call a red product a red light).

    A strong cast makes every grey look coloured, so the estimate is refined in rounds: a
    loose notion of "grey" first, then stricter ones on pixels corrected by the last guess.
    """
    planes = [np.ascontiguousarray(lin[..., c]).ravel() for c in range(3)]
    wt = np.ones(planes[0].size, np.float32) if weights is None else weights.ravel()
    y = LUMA[0] * planes[0] + LUMA[1] * planes[1] + LUMA[2] * planes[2]
    lit = (y > 0.02) & (np.maximum(np.maximum(planes[0], planes[1]), planes[2]) < 0.97)
    planes, wt = [p[lit] for p in planes], wt[lit]
    cast = np.zeros(3, np.float32)  # log2 gains of the illuminant, relative to green
    share = 0.0
    for limit in (0.9, 0.6, 0.35, 0.25):
        seen = [p * np.float32(2.0 ** -c) for p, c in zip(planes, cast, strict=True)]
        hi = np.maximum(np.maximum(seen[0], seen[1]), seen[2])
        lo = np.minimum(np.minimum(seen[0], seen[1]), seen[2])
        chroma = (hi - lo) / np.maximum(hi, 1e-6)
        greyish = chroma < limit
        if greyish.sum() < 50:
            return (0.0, 0.0), 0.0
        w = wt[greyish] * (1.0 - chroma[greyish] / limit)
        total = max(float(w.sum()), 1e-9)
        logs = np.log2([max(float(np.dot(p[greyish], w)) / total, 1e-6) for p in seen])
        cast = cast + (logs - logs[1]).astype(np.float32)
        share = float(wt[greyish].sum() / max(float(wt.sum()), 1e-9))
    return (float(cast[0]), float(cast[2])), min(1.0, share * 2.0)


def measure(pixels: np.ndarray) -> ImageStats:
    """Statistics of an HxWx3/4 uint8 sRGB image, from a thumbnail."""
    lin, weights = _thumbnail(pixels)
    y = (lin.reshape(-1, 3) @ LUMA).astype(np.float64)
    wt = None if weights is None else weights.reshape(-1).astype(np.float64)
    low, median, high = _weighted_percentiles(y, wt, (_LOW, 0.5, _HIGH))
    cast, confidence = _cast(lin, weights)
    return ImageStats(low, median, high, cast, confidence)


def _solve(fn: Callable[[float], float], lo: float, hi: float, target: float,
           steps: int = 30) -> float:
    """Bisection for an increasing ``fn`` on [lo, hi]; clamps when the target is out of reach."""
    if fn(lo) >= target:
        return lo
    if fn(hi) <= target:
        return hi
    for _ in range(steps):
        mid = (lo + hi) / 2.0
        if fn(mid) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def _encoded(level: float) -> float:
    return float(encode(np.array([level]))[0])


def _fit(settings: ToneSettings, slider: str, level: float, bounds: tuple[float, float],
         target: float, digits: int = 0) -> ToneSettings:
    """``settings`` with ``slider`` set so that input luminance ``level`` renders at
    ``target`` (sRGB-encoded)."""
    def rendered(value: float) -> float:
        return _encoded(float(curve(np.array([level]), settings.merged(**{slider: value}))[0]))

    value = _solve(rendered, *bounds, target)
    return settings.merged(**{slider: round(value, digits)})


def _tone(stats: ImageStats, key: float) -> dict[str, float]:
    """Exposure, blacks and whites that put the low, middle and high percentiles on target."""
    # highlights already brighter than the target stay (a white sweep must stay white)
    white = max(_WHITE_TARGET, _encoded(stats.high))
    settings = ToneSettings()
    for _ in range(3):  # the three sliders interact a little: alternate until they settle
        settings = _fit(settings, "exposure", stats.median, (-3.0, 5.0), key, digits=2)
        settings = _fit(settings, "whites", stats.high, (-100.0, 100.0), white)
        settings = _fit(settings, "blacks", stats.low, (-100.0, 100.0), _BLACK_TARGET)
    return {"exposure": settings.exposure, "whites": settings.whites, "blacks": settings.blacks}


def _rescue(median: float) -> float:
    """0 for a normally exposed image, rising to 1 for a badly under-exposed one."""
    return float(np.clip((_DARK_FROM - median) / _DARK_SPAN, 0.0, 1.0))


def auto_key(stats: ImageStats) -> float:
    """Where auto puts an image's median (sRGB-encoded)."""
    median = _encoded(stats.median)
    key = max(median, min(_KEY_CAP, _MIDTONE_LIFT * median))  # never darkens a bright image
    return key + _rescue(median) * (_KEY_TARGET - key)


def _white_balance(stats: ImageStats, target: tuple[float, float],
                   strength: float) -> dict[str, float]:
    """Temperature and tint that move the measured cast part of the way to ``target``."""
    dr = (target[0] - stats.cast[0]) * strength
    db = (target[1] - stats.cast[1]) * strength
    # wb_gains: log2 R/G = T*t + M*m, log2 B/G = -T*t + M*m (t, m in -1..1)
    t = (dr - db) / (2 * TEMPERATURE_STOPS)
    m = (dr + db) / (2 * TINT_STOPS)
    return {"temperature": round(float(np.clip(t * 100, -100, 100)), 1),
            "tint": round(float(np.clip(m * 100, -100, 100)), 1)}


def estimate(pixels: np.ndarray, *, look: HouseLook | None = None,
             strength: float = 1.0) -> ToneSettings:
    """Lightroom-style Auto settings for ``pixels`` (toward ``look`` when given); ``strength``
    scales every chosen setting (0 = none)."""
    stats = measure(pixels)
    rescue = _rescue(_encoded(stats.median))
    if look is None:
        # a retoucher removes part of a strong cast and leaves a mild one as mood
        size = float(np.hypot(*stats.cast))
        excess = max(0.0, size - _CAST_KEPT) / max(size, 1e-6)
        wb_strength = _CAST_REMOVED * excess * stats.cast_confidence
        chosen = {**_tone(stats, auto_key(stats)),
                  **_white_balance(stats, (0.0, 0.0), wb_strength)}
    else:
        # toward the look's balance, as far as the image has greys to judge its own by
        chosen = {**_tone(stats, look.key),
                  **_white_balance(stats, look.cast, stats.cast_confidence)}
    chosen.update(
        vibrance=_VIBRANCE * (1.0 - rescue),
        saturation=_SATURATION * (1.0 - rescue) - _RESCUE_DESATURATE * rescue,
        color_noise_reduction=_RESCUE_COLOUR_NR * rescue,
        noise_reduction=_RESCUE_LUMA_NR * rescue,
    )
    return ToneSettings.model_validate(
        {k: round(v * strength, 2) for k, v in chosen.items()})


def auto_white_balance(pixels: np.ndarray) -> dict[str, float]:
    """Lightroom's "Auto" white balance: temperature and tint that neutralise the cast, as far
    as the image has grey-ish pixels to trust."""
    stats = measure(pixels)
    return _white_balance(stats, (0.0, 0.0), stats.cast_confidence)


def measure_look(images: Iterable[np.ndarray]) -> HouseLook:
    """The house look of a set: the median of the keys auto would choose for each image, and
    the casts averaged by how much grey each image showed (half kept, like auto), so neither
    one odd image nor a picture without greys sets the look."""
    keys, casts, weights = [], [], []
    for pixels in images:
        stats = measure(pixels)
        keys.append(auto_key(stats))
        casts.append(stats.cast)
        weights.append(stats.cast_confidence)
    if not keys:
        return HouseLook()
    key = float(np.clip(np.median(keys), 0.1, 0.9))
    total = sum(weights)
    cast = (np.average(np.array(casts), axis=0, weights=weights) * 0.5 if total > 0
            else np.zeros(2))
    return HouseLook(key=round(key, 3), cast=(round(float(cast[0]), 3), round(float(cast[1]), 3)))
