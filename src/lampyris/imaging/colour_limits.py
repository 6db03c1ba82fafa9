"""Strong colours under auto tone: how far brightening may take them, and the chroma it lends
them taken back.

The tone curve scales all three channels, so a saturated colour reaches white long before its
luminance does. Auto tone keeps a sample of the image's strong colours; exposure and whites
stop before more than a sliver of them passes its limit (a ceiling under white, or a third of
a stop above where a well-exposed one was), and what the brightening adds to their CIELAB
chroma is taken back. Muted colours and greys are untouched.

Measured on bench/tone_bench.py (FiveK expert C, LOL) and its generated product scenes.
"""

from __future__ import annotations

import cv2
import numpy as np

from lampyris.imaging.bisection import solve
from lampyris.imaging.tone import LUMA, curve, srgb_decode
from lampyris.imaging.tone import srgb_encode as encode
from lampyris.imaging.tone_settings import ToneSettings

__all__ = [
    "COLOUR_CEILING", "LOOK_CEILING", "cap", "chroma_hold", "limits", "sample", "strong",
]

# A pixel is a strong colour when its smallest linear channel is under a quarter of its
# largest. No more than _CLIP_SHARE of the image (speculars, small details) may be rendered
# with such a colour's largest channel past its limit: the ceiling (encoded; 240 of 255 leaves
# headroom) and, for a colour already well exposed, _ANCHOR stops above where it was.
_COLOURED = 0.75
_CLIP_SHARE = 0.005
COLOUR_CEILING = 0.94  # FiveK would take 1.0 (+0.16 dB), but products need the headroom
LOOK_CEILING = 1.0  # a house look's key is a promise to the whole set: up to white, not past
_EXPOSED_FROM = 0.6  # largest channel (encoded) from which a strong colour is well exposed
_ANCHOR = 0.33  # FiveK -0.09 dB; without it a blue product on grey came out pale
# What brightening lends an exposed colour in chroma is taken back (up to half of it); the
# weight of a colour in that rises from _EXPOSED_FROM over _EXPOSED_SPAN.
_EXPOSED_SPAN, _MAX_HOLD = 0.2, 0.5
_SAMPLES = 4096  # strong-colour pixels kept for the ceiling and chroma checks


def strong(r: np.ndarray, g: np.ndarray, b: np.ndarray, brightest: np.ndarray) -> np.ndarray:
    """Which pixels (linear channel planes, and their largest channel) are strong colours."""
    return np.minimum(np.minimum(r, g), b) < np.float32(1.0 - _COLOURED) * brightest


def sample(flat: np.ndarray, weights: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Linear RGB and weight (as a share of the image) of the ``keep`` pixels, strided down to
    about _SAMPLES rows."""
    chosen = np.flatnonzero(keep & (weights > 0))
    step = max(1, len(chosen) // _SAMPLES)
    chosen = chosen[::step]
    share = weights[chosen] * (step / max(float(weights.sum()), 1e-9))
    return np.column_stack([flat[chosen].astype(np.float64), share])


def limits(colours: np.ndarray, ceiling: float, anchored: bool) -> np.ndarray:
    """Linear level each strong colour's largest channel may be rendered at: under
    ``ceiling`` (encoded), and when ``anchored``, a colour that is already well exposed at
    most _ANCHOR stops above where it is."""
    top = colours[:, :3].max(axis=1)
    levels = np.full(len(top), float(srgb_decode(np.array([ceiling]))[0]))
    if anchored:
        exposed = encode(top) >= _EXPOSED_FROM
        levels[exposed] = np.minimum(levels[exposed], top[exposed] * 2.0**_ANCHOR)
    return levels


def cap(settings: ToneSettings, slider: str, colours: np.ndarray, limits: np.ndarray,
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
    value = solve(over, 0.0, current, _CLIP_SHARE, steps=14)
    return settings.merged(**{slider: float(np.floor(value * 10**digits) / 10**digits)})


def _chroma(rgb: np.ndarray) -> np.ndarray:
    """CIELAB chroma of linear RGB rows."""
    lab = cv2.cvtColor(np.clip(rgb, 0.0, 1.0).astype(np.float32).reshape(-1, 1, 3),
                       cv2.COLOR_LRGB2Lab).reshape(-1, 3)
    return np.hypot(lab[:, 1], lab[:, 2]).astype(np.float64)


def chroma_hold(colours: np.ndarray, settings: ToneSettings) -> float:
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

    return solve(excess, 0.0, _MAX_HOLD, 0.0, steps=12)
