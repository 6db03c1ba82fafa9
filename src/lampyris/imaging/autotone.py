"""Auto tone: choose Lightroom settings for an image from its own statistics.

The tone sliders form a curve that is monotone in luminance, so a percentile of the output is
the curve applied to the same percentile of the input. That turns "blacks just reach black,
highlights sit near white, the middle lands on its key" into equations in exposure, blacks and
whites, solved on a thumbnail in a few tens of milliseconds.

The key is a retoucher's habit, not a fixed grey: a median near a quarter stays there (a
low-key picture stays low-key), brighter ones open up, a picture without highlights gets some,
and only a badly under-exposed one with hardly anything lit is rescued to mid-grey (with noise
reduction and a little less saturation, because the noise rises with it).

The default is made for product photos. The curve scales all three channels, so a saturated
colour reaches white long before its luminance does: exposure and whites stop before a strong
colour passes a ceiling under white, or rises more than a third of a stop when it was already
well exposed, and the chroma the brightening lends such a colour is taken back (muted colours
and greys untouched). Nothing pushes chroma up. A cast the size of a white-balance slip is
removed when the image has greys to judge it by; larger ones are more often the scene's
colour (sunset, sandstone) and are only reduced. Blacks are set only where the picture has
dark tones: on white, the slider would just darken the product. ``mood=True`` keeps the older
colour: vibrance and saturation pushed, casts under half a stop kept. Statistics are weighted
by alpha, so a cutout is judged by its subject.

The constants were chosen on the reference sets in ``bench/tone_bench.py`` (FiveK expert C,
LOL) and checked on its generated product scenes; what each one is worth is noted beside it
and in docs/benchmarks.md.

A ``HouseLook`` replaces the per-image targets with ones shared by a whole set
(``measure_look``), so a catalog comes out with one exposure and one white balance; strong
colours may then reach white, not pass it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lampyris.imaging.tone import (
    LUMA,
    TEMPERATURE_STOPS,
    TINT_STOPS,
    curve,
    srgb_decode,
    wb_gains,
)
from lampyris.imaging.tone import srgb_encode as encode
from lampyris.imaging.tone_settings import ToneSettings

__all__ = [
    "HouseLook", "ImageStats", "auto_key", "auto_white_balance", "estimate", "measure",
    "measure_look",
]

_THUMB_SIDE = 384
_OPAQUE = 0.5  # pixels less opaque than this do not count (a cutout's contaminated fringe)
# Measured on bench/tone_bench.py (FiveK expert C, 11 pairs; LOL eval15 and our485 sample),
# each against the final settings with only that constant changed.
# Targets on the sRGB-encoded luminance scale (0..1).
_BLACK_TARGET = 0.03
_WHITE_TARGET = 0.85  # expert C puts the 99.5th percentile at 0.79; 0.90 (the old target): -0.5 dB
_LOW, _HIGH = 0.005, 0.995  # the percentiles that must reach the black and white targets
_BLACKLESS, _BLACKLESS_SPAN = 0.4, 0.15  # darkest tones past 0.4 after exposure: no black in it
_KEY_TARGET = 0.46  # mid-grey: where a rescued dark image's median goes
# key = 2 x median - 0.25: a median of a quarter stays, 0.35 goes to 0.45, 0.45 to 0.65 (FiveK
# keeps low-key pictures dark and opens bright ones; the old flat x1.4 lift: -1.0 dB)…
_KEY_PIVOT, _KEY_SLOPE = 0.25, 2.0
_KEY_CAP = 0.68  # …up to here, and never darker than the median…
# …but bright enough that the 99.5th percentile of the brightest channel reaches 0.65 (a
# picture without highlights is under-exposed, not low-key: +0.34 dB, -0.86 ΔE00; taken on
# luminance, where a red product could never get there: -0.33 dB)
_HIGHLIGHT_FLOOR = 0.65
_DARK_FROM, _DARK_SPAN = 0.2, 0.1  # medians below 0.2 are rescued, fully below 0.1…
# …unless a fair share is already lit (brightest channel past 0.3): a product on black, faces
# at night. LOL's dark rooms show under 7 % lit, FiveK's night portrait 11 % (+1.4 dB).
_LIT_LEVEL, _LIT_FROM, _LIT_SPAN = 0.3, 0.06, 0.06
_MAX_EXPOSURE = 5.0  # the slider's end; past it shadows lift a rescued median further…
_PAST_EXPOSURE = 75.0  # …up to 75: LOL +0.3 / +0.9 dB; 100 cost SSIM (noise) for ±0.1 dB
# A pixel is a strong colour when its smallest linear channel is under a quarter of its
# largest. No more than _CLIP_SHARE of the image (speculars, small details) may be rendered
# with such a colour's largest channel past its limit: the ceiling (encoded; 240 of 255 leaves
# headroom) and, for a colour already well exposed, _ANCHOR stops above where it was.
_COLOURED = 0.75
_CLIP_SHARE = 0.005
_COLOUR_CEILING = 0.94  # FiveK would take 1.0 (+0.16 dB), but products need the headroom
_LOOK_CEILING = 1.0  # a house look's key is a promise to the whole set: up to white, not past
_EXPOSED_FROM = 0.6  # largest channel (encoded) from which a strong colour is well exposed
_ANCHOR = 0.33  # FiveK -0.09 dB; without it a blue product on grey came out pale
# What brightening lends an exposed colour in chroma is taken back (up to half of it); the
# weight of a colour in that rises from _EXPOSED_FROM over _EXPOSED_SPAN.
_EXPOSED_SPAN, _MAX_HOLD = 0.2, 0.5
# White balance: casts up to a quarter stop (log2 R/G, B/G distance) are a slip and go, as far
# as the image has greys to judge them by; the removal fades out by half a stop, beyond which
# three quarters of the excess goes (the mood rule). Against keeping every cast under half a
# stop (the old rule, kept for mood): FiveK -0.2 dB, +0.4 ΔE00 (expert C keeps such casts).
_CUTOUT_SHARE = 0.02  # transparent share of the thumbnail from which it is a cutout
# A cutout whose brightest channel's 99.5th percentile reaches 0.2 (linear; 124/255) is
# exposed: its key rises a fifth of a stop at most (a third lends a dark tan 7 % more chroma),
# and its whites are stretched only from an sRGB-encoded 0.75 up (without white parts a tan,
# brown or navy product keeps its lightness). Generated cutouts only: the reference sets
# have no transparency.
_CUTOUT_EXPOSED, _CUTOUT_NUDGE, _CUTOUT_WHITE_FROM = 0.2, 0.2, 0.75
_CAST_SMALL = 0.25
_CAST_KEPT, _CAST_REMOVED = 0.5, 0.75  # stops of cast left as mood; share of the rest removed
_TINT_PLAUSIBLE, _TEMPERATURE_PLAUSIBLE = 0.5, 1.5  # stops a light gives; twice that: none
_VIBRANCE, _SATURATION = 25.0, 15.0  # the mood look's extra colour
# what a fully rescued image gets instead of more colour: its noise was amplified too
# (luma NR 60 rather than the old 30: LOL SSIM +0.01)
_RESCUE_DESATURATE, _RESCUE_COLOUR_NR, _RESCUE_LUMA_NR = 20.0, 50.0, 60.0
_SAMPLES = 4096  # strong-colour pixels kept for the ceiling and chroma checks


class HouseLook(BaseModel):
    """Targets shared by a set of images: median lightness (``key``, sRGB-encoded 0..1) and
    the colour of neutral grey (``cast``: log2 red/green and blue/green of it, 0 = neutral)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: float = Field(default=_KEY_TARGET, gt=0.05, lt=0.95)
    cast: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class ImageStats:
    """What auto tone knows about an image: luminance percentiles (linear), how much of it is
    lit, the cast, and a sample of its strongly coloured pixels."""

    low: float | None  # leaves out bright strong colours; None: nothing to set black (_low)
    median: float
    high: float
    cast: tuple[float, float]  # log2 (R/G, B/G) of the estimated illuminant
    cast_confidence: float  # 0..1: how much of the image looked like it should be grey
    lit: float = 0.0  # share of the image whose brightest channel reaches _LIT_LEVEL
    peak: float = 1.0  # the _HIGH percentile of each pixel's brightest channel (linear)
    # linear RGB and weight (a share of the image) of strongly coloured pixels, Nx4
    colours: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)), compare=False,
                                repr=False)
    cutout: bool = False  # a subject on transparency: its only greys are its own


def _thumbnail(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Linear RGB of a small copy, and the alpha weights when the image has transparency
    (so a cutout is judged by the product, not the hole or the fringe around it)."""
    step = max(1, max(pixels.shape[:2]) // (2 * _THUMB_SIDE))
    if step > 1:  # statistics do not mind aliasing: skip pixels before averaging the rest
        pixels = pixels[::step, ::step]
    h, w = pixels.shape[:2]
    scale = min(1.0, _THUMB_SIDE / max(h, w))
    small = pixels if scale >= 1.0 else cv2.resize(
        pixels, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    lin = srgb_decode(small[..., :3].astype(np.float32) / 255.0).astype(np.float32)
    weights = small[..., 3].astype(np.float32) / 255.0 if pixels.shape[2] == 4 else None
    if weights is not None:  # a cutout's fringe is mostly the old background's colour
        weights[weights < _OPAQUE] = 0.0
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
    red, blue = float(cast[0]), float(cast[2])
    return (red, blue), min(1.0, share * 2.0) * _plausible(red, blue)


def _plausible(red: float, blue: float) -> float:
    """1 for a cast a light could give, falling to 0 for one only a coloured surface explains
    (the rounds can settle on a dark green ground and call it grey under a green light)."""
    temperature, tint = abs(red - blue) / 2.0, abs(red + blue) / 2.0
    return float(np.clip(2.0 - tint / _TINT_PLAUSIBLE, 0.0, 1.0)
                 * np.clip(2.0 - temperature / _TEMPERATURE_PLAUSIBLE, 0.0, 1.0))


def _low(y: np.ndarray, weights: np.ndarray | None, colour: np.ndarray) -> float | None:
    """The black-point percentile, leaving out bright strong colours (a saturated blue is dark
    in luminance, not black; dark noise looks coloured too, but it is dark and stays in);
    None when that leaves almost nothing: a picture of colour alone has no black to set."""
    plain = ~colour
    kept = float(plain.sum() if weights is None else weights[plain].sum())
    if kept < 0.05 * (len(y) if weights is None else float(weights.sum())):
        return None
    return _weighted_percentiles(y[plain], None if weights is None else weights[plain],
                                 (_LOW,))[0]


def _sample(flat: np.ndarray, weights: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Linear RGB and weight (as a share of the image) of the ``keep`` pixels, strided down to
    about _SAMPLES rows."""
    chosen = np.flatnonzero(keep & (weights > 0))
    step = max(1, len(chosen) // _SAMPLES)
    chosen = chosen[::step]
    share = weights[chosen] * (step / max(float(weights.sum()), 1e-9))
    return np.column_stack([flat[chosen].astype(np.float64), share])


def measure(pixels: np.ndarray) -> ImageStats:
    """Statistics of an HxWx3/4 uint8 sRGB image, from a thumbnail."""
    lin, weights = _thumbnail(pixels)
    flat = lin.reshape(-1, 3)
    r, g, b = flat[:, 0], flat[:, 1], flat[:, 2]  # per-channel: axis reductions are slow
    y = (LUMA[0] * r + LUMA[1] * g + LUMA[2] * b).astype(np.float64)
    wt = None if weights is None else weights.reshape(-1).astype(np.float64)
    median, high = _weighted_percentiles(y, wt, (0.5, _HIGH))
    brightest = np.maximum(np.maximum(r, g), b)
    peak = _weighted_percentiles(brightest.astype(np.float64), wt, (_HIGH,))[0]
    strong = np.minimum(np.minimum(r, g), b) < np.float32(1.0 - _COLOURED) * brightest
    low = _low(y, wt, strong & (brightest > 0.05))
    wt = np.ones(len(y)) if wt is None else wt
    lit_level = float(srgb_decode(np.array([_LIT_LEVEL]))[0])
    lit = float(wt[brightest >= lit_level].sum()) / max(float(wt.sum()), 1e-9)
    cast, confidence = _cast(lin, weights)
    cutout = weights is not None and float(np.mean(weights <= 0.0)) > _CUTOUT_SHARE
    return ImageStats(low, median, high, cast, confidence, lit, peak,
                      _sample(flat, wt, strong & (brightest > 0.005)), cutout)


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

    value = _solve(rendered, *bounds, target, steps=20)  # 1e-5 of the range: below rounding
    return settings.merged(**{slider: round(value, digits)})


def _limits(colours: np.ndarray, ceiling: float, anchored: bool) -> np.ndarray:
    """Linear level each strong colour's largest channel may be rendered at: under
    ``ceiling`` (encoded), and when ``anchored``, a colour that is already well exposed at
    most _ANCHOR stops above where it is."""
    top = colours[:, :3].max(axis=1)
    limits = np.full(len(top), float(srgb_decode(np.array([ceiling]))[0]))
    if anchored:
        exposed = encode(top) >= _EXPOSED_FROM
        limits[exposed] = np.minimum(limits[exposed], top[exposed] * 2.0**_ANCHOR)
    return limits


def _cap(settings: ToneSettings, slider: str, colours: np.ndarray, limits: np.ndarray,
         digits: int = 0) -> ToneSettings:
    """``settings`` with ``slider`` lowered (never below 0: a colour already past its limit
    is not darkened, only not pushed) until no more than ``_CLIP_SHARE`` of the image is a
    strong colour whose largest channel renders past its limit."""
    current = getattr(settings, slider)
    if current <= 0 or colours[:, 3].sum() <= _CLIP_SHARE:
        return settings
    y = np.maximum(colours[:, :3] @ LUMA.astype(np.float64), 1e-6)
    ratio, wt = colours[:, :3].max(axis=1) / y, colours[:, 3]

    def over(value: float) -> float:
        return float(wt[curve(y, settings.merged(**{slider: value})) * ratio > limits].sum())

    if over(current) <= _CLIP_SHARE:
        return settings
    value = _solve(over, 0.0, current, _CLIP_SHARE, steps=14)
    return settings.merged(**{slider: float(np.floor(value * 10**digits) / 10**digits)})


def _blacks(settings: ToneSettings, low: float | None) -> ToneSettings:
    """Blacks that take the darkest tones to black, fading out when those are far from black
    (a product on white has none: the slider would only darken its colours)."""
    if low is None:
        return settings.merged(blacks=0.0)
    darkest = _encoded(float(curve(np.array([low]), settings.merged(blacks=0.0))[0]))
    fitted = _fit(settings, "blacks", low, (-100.0, 100.0), _BLACK_TARGET).blacks
    share = float(np.clip((_BLACKLESS + _BLACKLESS_SPAN - darkest) / _BLACKLESS_SPAN, 0.0, 1.0))
    return settings.merged(blacks=float(round(fitted * share)))


def _tone(stats: ImageStats, key: float, colours: np.ndarray,
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
        settings = _cap(settings, "exposure", colours, limits, digits=2)
        if stretch:
            settings = _fit(settings, "whites", stats.high, (-100.0, 100.0), white)
            settings = _cap(settings, "whites", colours, limits)
        settings = _blacks(settings, stats.low)
    return {k: getattr(settings, k) for k in ("exposure", "shadows", "whites", "blacks")}


def _rescue(stats: ImageStats) -> float:
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
    return key + _rescue(stats) * (_KEY_TARGET - key)


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


def _cast_removed(stats: ImageStats, mood: bool) -> float:
    """Share of the measured cast that auto removes. On a cutout only a slip-sized cast goes:
    with no ground to judge the light by, a strongly coloured "grey" is a tan bag or a
    wooden bowl, whose colour is the product's (its hue would move and its chroma drop)."""
    size = float(np.hypot(*stats.cast))
    larger = 0.0 if stats.cutout else (
        _CAST_REMOVED * max(0.0, size - _CAST_KEPT) / max(size, 1e-6))
    if mood:  # a retoucher's habit: a mild cast stays as mood, part of a strong one goes
        return larger * stats.cast_confidence
    slip = float(np.clip((_CAST_KEPT - size) / (_CAST_KEPT - _CAST_SMALL), 0.0, 1.0))
    return max(slip, larger) * stats.cast_confidence


def _chroma(rgb: np.ndarray) -> np.ndarray:
    """CIELAB chroma of linear RGB rows."""
    lab = cv2.cvtColor(np.clip(rgb, 0.0, 1.0).astype(np.float32).reshape(-1, 1, 3),
                       cv2.COLOR_LRGB2Lab).reshape(-1, 3)
    return np.hypot(lab[:, 1], lab[:, 2]).astype(np.float64)


def _chroma_hold(colours: np.ndarray, settings: ToneSettings) -> float:
    """Share of chroma (0.._MAX_HOLD) to take out of the strongest colours so that the
    well-exposed ones keep their CIELAB chroma under ``settings``: brightening lifts a colour's
    chroma with its lightness. Applied as saturation -h and vibrance +h, which the renderer
    turns into a cut proportional to each pixel's own saturation (greys untouched)."""
    exposed = np.clip((encode(colours[:, :3].max(axis=1)) - _EXPOSED_FROM) / _EXPOSED_SPAN,
                      0.0, 1.0)
    weight = colours[:, 3] * exposed
    if weight.sum() <= _CLIP_SHARE:
        return 0.0
    rgb, weight = colours[weight > 0, :3], weight[weight > 0]
    y = np.maximum(rgb @ LUMA.astype(np.float64), 1e-6)
    out = rgb * (curve(y, settings) / y)[:, None]
    out_y = (out @ LUMA.astype(np.float64))[:, None]
    muted = (out.min(axis=1) / np.maximum(out.max(axis=1), 1e-9))[:, None] ** 2
    budget = float(np.dot(_chroma(rgb), weight))

    def excess(hold: float) -> float:  # increasing in hold; solved for 0
        kept = out_y + (out - out_y) * (1.0 - hold + hold * muted)
        return budget - float(np.dot(_chroma(kept), weight))

    return _solve(excess, 0.0, _MAX_HOLD, 0.0, steps=12)


def estimate(pixels: np.ndarray, *, look: HouseLook | None = None, strength: float = 1.0,
             mood: bool = False) -> ToneSettings:
    """Lightroom-style Auto settings for ``pixels`` (toward ``look`` when given); ``strength``
    scales every chosen setting (0 = none); ``mood`` keeps mild casts and adds colour."""
    stats = measure(pixels)
    rescue = _rescue(stats)
    colours = stats.colours.copy()  # as the renderer will see them, after white balance
    if look is None:
        key = auto_key(stats)
        wb = _white_balance(stats, (0.0, 0.0), _cast_removed(stats, mood))
    else:
        # toward the look's balance, as far as the image has greys to judge its own by
        key = look.key
        wb = _white_balance(stats, look.cast, stats.cast_confidence)
    colours[:, :3] *= wb_gains(wb["temperature"], wb["tint"]).astype(np.float64)
    limits = (_limits(colours, _COLOUR_CEILING, anchored=True) if look is None
              else _limits(colours, _LOOK_CEILING, anchored=False))
    chosen = {**_tone(stats, key, colours, limits), **wb}
    if mood:
        vibrance, saturation = _VIBRANCE * (1.0 - rescue), _SATURATION * (1.0 - rescue)
    else:
        vibrance = 100.0 * _chroma_hold(colours, ToneSettings.model_validate(chosen))
        saturation = -vibrance
    chosen.update(
        vibrance=vibrance,
        saturation=saturation - _RESCUE_DESATURATE * rescue,
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
    the casts averaged by how much grey each image showed (half kept: a set's shared light is
    part of its look), so neither one odd image nor a picture without greys sets the look."""
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
