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

The parts live beside this module: ``autotone_stats`` (the thumbnail's statistics),
``illuminant`` (the cast and the white balance that removes it), ``colour_limits`` (how far
strong colours may go, and their chroma held), ``exposure`` (the key and the exposure, whites
and blacks that reach it). Here they are put together into settings.

A ``HouseLook`` replaces the per-image targets with ones shared by a whole set
(``measure_look``), so a catalog comes out with one exposure and one white balance; strong
colours may then reach white, not pass it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lampyris.imaging.autotone_stats import ImageStats, measure
from lampyris.imaging.colour_limits import COLOUR_CEILING, LOOK_CEILING, chroma_hold, limits
from lampyris.imaging.exposure import KEY_TARGET, auto_key, rescue, tone
from lampyris.imaging.illuminant import cast_removed, white_balance
from lampyris.imaging.tone import wb_gains
from lampyris.imaging.tone_settings import ToneSettings

__all__ = [
    "HouseLook", "ImageStats", "auto_key", "auto_white_balance", "estimate", "measure",
    "measure_look",
]

_VIBRANCE, _SATURATION = 25.0, 15.0  # the mood look's extra colour
# what a fully rescued image gets instead of more colour: its noise was amplified too
# (luma NR 60 rather than the old 30: LOL SSIM +0.01)
_RESCUE_DESATURATE, _RESCUE_COLOUR_NR, _RESCUE_LUMA_NR = 20.0, 50.0, 60.0


class HouseLook(BaseModel):
    """Targets shared by a set of images: median lightness (``key``, sRGB-encoded 0..1) and
    the colour of neutral grey (``cast``: log2 red/green and blue/green of it, 0 = neutral)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: float = Field(default=KEY_TARGET, gt=0.05, lt=0.95)
    cast: tuple[float, float] = (0.0, 0.0)


def estimate(pixels: np.ndarray, *, look: HouseLook | None = None, strength: float = 1.0,
             mood: bool = False) -> ToneSettings:
    """Lightroom-style Auto settings for ``pixels`` (toward ``look`` when given); ``strength``
    scales every chosen setting (0 = none); ``mood`` keeps mild casts and adds colour."""
    stats = measure(pixels)
    rescued = rescue(stats)
    colours = stats.colours.copy()  # as the renderer will see them, after white balance
    if look is None:
        key = auto_key(stats)
        removed = cast_removed(stats.cast, stats.cast_confidence, cutout=stats.cutout, mood=mood)
        wb = white_balance(stats.cast, (0.0, 0.0), removed)
    else:
        # toward the look's balance, as far as the image has greys to judge its own by
        key = look.key
        wb = white_balance(stats.cast, look.cast, stats.cast_confidence)
    colours[:, :3] *= wb_gains(wb["temperature"], wb["tint"]).astype(np.float64)
    levels = (limits(colours, COLOUR_CEILING, anchored=True) if look is None
              else limits(colours, LOOK_CEILING, anchored=False))
    chosen = {**tone(stats, key, colours, levels), **wb}
    if mood:
        vibrance, saturation = _VIBRANCE * (1.0 - rescued), _SATURATION * (1.0 - rescued)
    else:
        vibrance = 100.0 * chroma_hold(colours, ToneSettings.model_validate(chosen))
        saturation = -vibrance
    chosen.update(
        vibrance=vibrance,
        saturation=saturation - _RESCUE_DESATURATE * rescued,
        color_noise_reduction=_RESCUE_COLOUR_NR * rescued,
        noise_reduction=_RESCUE_LUMA_NR * rescued,
    )
    return ToneSettings.model_validate(
        {k: round(v * strength, 2) for k, v in chosen.items()})


def auto_white_balance(pixels: np.ndarray) -> dict[str, float]:
    """Lightroom's "Auto" white balance: temperature and tint that neutralise the cast, as far
    as the image has grey-ish pixels to trust."""
    stats = measure(pixels)
    return white_balance(stats.cast, (0.0, 0.0), stats.cast_confidence)


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
