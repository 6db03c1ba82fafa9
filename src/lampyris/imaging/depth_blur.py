"""A subject-aware background blur: the subject sharp, everything else out of focus.

Photoshop's Depth Blur estimates a depth map; lampyris has no depth model, so the in-focus
region is the subject the cutout matte finds (``focus``: 1 on the subject, 0 on the
background, soft at the edge), optionally widened by a focal range. The background is blurred
by normalised convolution over the background's own pixels (``blur(rgb·w) / blur(w)``, ``w``
= 1 − focus, times an RGBA input's alpha), so neither the subject's colours nor those under
transparent pixels bleed into a halo or fringe, at a reduced
resolution (a Gaussian of sigma s at 1/k scale is one of sigma k·s at full size, within the
filter's own smoothness): measured 0.9 s on a 12 MP photo at the default strength (2.1 s with
every adjustment on), on two shared cores; the matte costs more. The background-only adjustments
(haze, warmth, tint, saturation, brightness, grain) act on the blurred layer; the subject's
pixels where ``focus`` is 1 are the input's exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BLUR_SIDE_SHARE = 0.03
"""Sigma at full strength, as a share of the image's longer side (strength 50: 1.5 %)."""
WORK_SIGMA = 4.0
"""The blur's sigma at the reduced working resolution."""
FOCAL_RANGE_SHARE = 0.1
"""How far a focal range of 100 widens the in-focus region, as a share of the longer side."""


@dataclass(frozen=True)
class BlurSettings:
    """Adobe's ``DepthBlurDetails`` ranges: strength, focal range, haze and grain 0..100;
    temperature, tint, saturation and brightness -50..50."""

    strength: float = 50
    focal_range: float = 0
    haze: float = 0
    temperature: float = 0
    tint: float = 0
    saturation: float = 0
    brightness: float = 0
    grain: float = 0
    seed: int = 0


def focus_map(alpha: np.ndarray, focal_range: float) -> np.ndarray:
    """HxW float32 in 0..1: the subject (``alpha``/255), widened by ``focal_range`` (0..100)
    with a linear fall-off over that distance."""
    focus = alpha.astype(np.float32) * np.float32(1 / 255)
    reach = focal_range / 100 * FOCAL_RANGE_SHARE * max(alpha.shape)
    if reach >= 1 and (alpha >= 128).any():
        outside = (alpha < 128).astype(np.uint8)
        distance = cv2.distanceTransform(outside, cv2.DIST_L2, 5)
        np.maximum(focus, np.clip(1 - distance / np.float32(reach), 0, 1), out=focus)
    return focus


def _blurred(rgb: np.ndarray, weight: np.ndarray, sigma: float,
             coverage: np.ndarray | None = None) -> np.ndarray:
    """``rgb`` blurred over the pixels ``weight`` counts (normalised convolution), float32;
    where none is near, over the pixels ``coverage`` (0..1: the input's alpha) counts."""
    height, width = weight.shape
    scale = min(1.0, WORK_SIGMA / sigma)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small_sigma = sigma * scale

    def small(layer: np.ndarray) -> np.ndarray:
        shrunk = cv2.resize(layer, size, interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(shrunk, (0, 0), small_sigma)

    colour = rgb.astype(np.float32)
    small_rgb, small_w = small(colour * weight[..., None]), small(weight)
    plain = small(colour)
    if coverage is not None:  # the fallback too leaves out what is not there
        covered, small_c = small(colour * coverage[..., None]), small(coverage)
        plain = np.where(small_c[..., None] > 1e-3,
                         covered / np.maximum(small_c[..., None], 1e-3), plain)
    # where no background is near (deep inside the subject) the plain blur stands in
    enough = small_w[..., None] > 1e-3
    blurred = np.where(enough, small_rgb / np.maximum(small_w[..., None], 1e-3), plain)
    return cv2.resize(blurred, (width, height), interpolation=cv2.INTER_LINEAR)


def _adjusted(layer: np.ndarray, settings: BlurSettings) -> np.ndarray:
    """The background adjustments on a float32 RGB layer (0..255)."""
    if settings.haze:
        amount = np.float32(settings.haze / 100 * 0.6)
        layer = layer * (1 - amount) + np.float32(235) * amount
    if settings.temperature or settings.tint:
        warm = settings.temperature / 50 * 0.15
        magenta = settings.tint / 50 * 0.1
        gains = np.array([1 + warm, 1 - magenta, 1 - warm], np.float32)
        layer = layer * gains
    if settings.saturation:
        grey = layer @ np.array([0.299, 0.587, 0.114], np.float32)
        factor = np.float32(1 + settings.saturation / 50)
        layer = grey[..., None] + (layer - grey[..., None]) * factor
    if settings.brightness:
        layer = layer * np.float32(1 + settings.brightness / 50 * 0.3)
    if settings.grain:
        noise = np.random.default_rng(settings.seed).standard_normal(layer.shape[:2],
                                                                     dtype=np.float32)
        layer = layer + noise[..., None] * np.float32(settings.grain / 100 * 20)
    return layer


def blur_background(rgb: np.ndarray, alpha: np.ndarray, settings: BlurSettings,
                    input_alpha: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """``rgb`` (HxWx3 uint8) with everything but the subject of ``alpha`` out of focus; also
    the full-resolution sigma used. Pixels where the focus is 1 are returned unchanged.
    ``input_alpha`` (an RGBA input's, HxW uint8) weights the blur too: the colour under
    transparent pixels is not there, so it must not bleed into the background."""
    focus = focus_map(alpha, settings.focal_range)
    sigma = settings.strength / 100 * BLUR_SIDE_SHARE * max(alpha.shape)
    blurred = sigma >= 0.5  # below half a pixel a Gaussian changes nothing visible
    coverage = (None if input_alpha is None
                else input_alpha.astype(np.float32) * np.float32(1 / 255))
    weight = 1 - focus if coverage is None else (1 - focus) * coverage
    background = (_blurred(rgb, weight, sigma, coverage) if blurred
                  else rgb.astype(np.float32))
    background = _adjusted(background, settings)
    f = focus[..., None]
    out = rgb.astype(np.float32) * f + background * (1 - f)
    result = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    sharp = focus >= 1
    result[sharp] = rgb[sharp]
    return result, sigma
