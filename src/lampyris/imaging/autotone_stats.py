"""What auto tone measures on an image: luminance percentiles, how much of it is lit, its
cast, and a sample of its strong colours, all from a thumbnail.

Statistics do not need the full image: a 384-pixel thumbnail keeps the solve to a few tens of
milliseconds. They are weighted by alpha, so a cutout is judged by its subject, not by the
hole or the fringe around it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

from lampyris.imaging.colour_limits import sample, strong
from lampyris.imaging.illuminant import estimate_cast
from lampyris.imaging.tone import LUMA, srgb_decode

__all__ = ["ImageStats", "measure"]

_THUMB_SIDE = 384
_OPAQUE = 0.5  # pixels less opaque than this do not count (a cutout's contaminated fringe)
_LOW, _HIGH = 0.005, 0.995  # the percentiles that must reach the black and white targets
_LIT_LEVEL = 0.3  # brightest channel (encoded) from which a pixel counts as lit
_CUTOUT_SHARE = 0.02  # transparent share of the thumbnail from which it is a cutout


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
    coloured = strong(r, g, b, brightest)
    low = _low(y, wt, coloured & (brightest > 0.05))
    wt = np.ones(len(y)) if wt is None else wt
    lit_level = float(srgb_decode(np.array([_LIT_LEVEL]))[0])
    lit = float(wt[brightest >= lit_level].sum()) / max(float(wt.sum()), 1e-9)
    cast, confidence = estimate_cast(lin, weights)
    cutout = weights is not None and float(np.mean(weights <= 0.0)) > _CUTOUT_SHARE
    return ImageStats(low, median, high, cast, confidence, lit, peak,
                      sample(flat, wt, coloured & (brightest > 0.005)), cutout)
