"""The develop renderer: Lightroom-style settings applied to sRGB pixels.

Light and colour work in linear light, where exposure and white balance are multiplications.
The tone sliders (exposure, whites, blacks, highlights, shadows, contrast) form one curve on
luminance, applied as a ratio to all three channels: hue stays put and nothing bands, because
the curve lives in a 4096-entry table indexed by the square root of luminance. Colours pushed
out of gamut are desaturated toward their own luminance instead of clipped per channel (which
would shift hue). Local effects (clarity, texture, dehaze, vignette, sharpening, noise
reduction) run only when asked for. ``ToneSettings()`` renders the input unchanged.
"""

from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import cv2
import numpy as np

from lampyris.imaging.tone_settings import ToneSettings

__all__ = [
    "LUMA", "TEMPERATURE_STOPS", "TINT_STOPS", "WB_PRESETS", "curve", "luminance", "render",
    "srgb_decode", "srgb_encode", "wb_gains",
]

LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)  # Rec. 709 / sRGB primaries
_CURVE_SIZE = 4096
# A tiny grey added before the luminance ratio is taken: black can then be lifted (a ratio
# cannot lift zero) and comes up neutral, and the ratio stays finite in the noisy deep shadows.
_FLOOR = 0.0005
_ENCODE_SIZE = 65536

# White balance presets for rendered (non-raw) files, as incremental (temperature, tint) moves
# from "as shot". Lightroom offers only As Shot / Auto / Custom for JPEGs; these let a preset
# that names a light source still mean something.
WB_PRESETS: dict[str, tuple[float, float]] = {
    "Custom": (0.0, 0.0), "Daylight": (0.0, 0.0), "Cloudy": (12.0, 2.0),
    "Shade": (25.0, 4.0), "Flash": (6.0, 0.0), "Tungsten": (-45.0, 5.0),
    "Fluorescent": (-25.0, 20.0),
}

# Strengths of each slider at ±100, in stops or perceptual units; chosen to match the feel of
# Lightroom's sliders on rendered files.
TEMPERATURE_STOPS = 0.35
TINT_STOPS = 0.30
_WHITES_REACH = 0.45  # how far whites +100 lifts a near-white tone (sRGB-encoded)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear → sRGB-encoded (both floats, 0..1)."""
    x = np.clip(linear, 0.0, None)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """sRGB-encoded → linear (both floats)."""
    x = np.clip(encoded, 0.0, None)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4))


@cache
def _decode_table() -> np.ndarray:
    return srgb_decode(np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)


@cache
def _encode_table() -> np.ndarray:
    """uint16-quantised linear → uint8 sRGB, rounding to nearest."""
    lin = np.arange(_ENCODE_SIZE, dtype=np.float64) / (_ENCODE_SIZE - 1)
    return np.clip(np.rint(srgb_encode(lin) * 255.0), 0, 255).astype(np.uint8)


def wb_gains(temperature: float, tint: float) -> np.ndarray:
    """Per-channel linear gains for incremental temperature / tint (−100..100), normalised so
    a grey keeps its luminance."""
    t, m = temperature / 100.0, tint / 100.0
    gains = np.exp2([TEMPERATURE_STOPS * t, -TINT_STOPS * m, -TEMPERATURE_STOPS * t])
    return (gains / float(LUMA @ gains)).astype(np.float32)


def _rolloff(y: np.ndarray, peak: float, knee: float = 0.6) -> np.ndarray:
    """Compress [knee, peak] into [knee, 1] (extended Reinhard on the part above the knee:
    slope 1 at the knee, ``peak`` lands on white), so exposure pushed past white keeps
    highlight detail instead of clipping; the identity when ``peak`` <= 1."""
    if peak <= 1.0:
        return y
    span = 1.0 - knee
    u = np.clip(y - knee, 0.0, None) / span
    top = (peak - knee) / span
    compressed = knee + span * u * (1.0 + u / top**2) / (1.0 + u)
    return np.where(y > knee, compressed, y)


def curve(y: np.ndarray, s: ToneSettings, *, peak: float = 1.0) -> np.ndarray:
    """The tone curve on linear luminance (float64 in, float64 out, 0..1).

    Order as in Lightroom: exposure, then the perceptual sliders on the sRGB-encoded value.
    ``peak`` is the brightest input luminance, for the highlight roll-off.
    """
    y = y * 2.0 ** s.exposure
    y = _rolloff(y, peak * 2.0 ** s.exposure)
    p = srgb_encode(y)
    w, b = s.whites / 100.0, s.blacks / 100.0
    h, sh, c = s.highlights / 100.0, s.shadows / 100.0, s.contrast / 100.0
    if w:  # moves the white end, fading out toward black
        p = p + w * _WHITES_REACH * p**2
    if b:  # moves the black end, fading out toward white
        p = p + b * 0.25 * (1.0 - np.clip(p, 0.0, 1.0)) ** 2
    p = np.clip(p, 0.0, 1.0)
    if h:
        p = p + h * 0.9 * p**3 * (1.0 - p)
    if sh:
        p = p + sh * 0.9 * p * (1.0 - p) ** 3
    if c:
        p = p - c * (0.25 / math.pi) * np.sin(2.0 * math.pi * p)
    return srgb_decode(np.clip(p, 0.0, 1.0))


def _ratio_table(s: ToneSettings) -> np.ndarray:
    """Output/input luminance ratio, indexed by round(sqrt(Y + floor) * 4095) where Y is the
    luminance before the floor was added (see ``_FLOOR``)."""
    grid = (np.arange(_CURVE_SIZE, dtype=np.float64) / (_CURVE_SIZE - 1)) ** 2
    ratio = curve(np.clip(grid - _FLOOR, 0.0, None), s) / np.maximum(grid, _FLOOR)
    return ratio.astype(np.float32)


def luminance(linear: np.ndarray) -> np.ndarray:
    """HxW linear luminance of HxWx3 linear RGB."""
    return cv2.transform(linear, LUMA[None, :]).reshape(linear.shape[:2])


def _linearise(rgb: np.ndarray, gains: np.ndarray) -> np.ndarray:
    table = (_decode_table()[:, None] * gains[None, :]).reshape(256, 1, 3)
    return cv2.LUT(rgb, table)


def _tone_rows(rgb: np.ndarray, s: ToneSettings, gains: np.ndarray, ratio: np.ndarray,
               vignette: np.ndarray | None) -> np.ndarray:
    """The global part of the pipeline on a strip of rows: uint8 RGB in, uint8 RGB out.

    Works on contiguous channel planes with OpenCV's element-wise kernels: numpy's reductions
    over the channel axis of an interleaved image are ten times slower."""
    lin = _linearise(rgb, gains)
    if vignette is not None:
        lin *= vignette[..., None]
    lin += np.float32(_FLOOR)
    y = luminance(lin)
    idx = cv2.sqrt(np.minimum(y, np.float32(1.0)))
    idx *= np.float32(_CURVE_SIZE - 1)
    idx += np.float32(0.5)
    gain = ratio[idx.astype(np.uint16)]
    planes: list[np.ndarray] = [np.multiply(p, gain) for p in cv2.split(lin)]
    y = np.multiply(y, gain)
    _colourfulness(planes, y, s)
    _into_gamut(planes, y)
    table = _encode_table()
    out = np.empty(rgb.shape, np.uint8)
    for c, p in enumerate(planes):
        np.clip(p, 0.0, 1.0, out=p)
        p *= np.float32(_ENCODE_SIZE - 1)
        p += np.float32(0.5)
        out[..., c] = table[p.astype(np.uint16)]
    return out


def _colourfulness(planes: list[np.ndarray], y: np.ndarray, s: ToneSettings) -> None:
    """Saturation and vibrance about each pixel's own luminance, in place. Vibrance boosts
    muted colours more than saturated ones."""
    if not (s.saturation or s.vibrance):
        return
    k: np.ndarray | float = 1.0 + s.saturation / 100.0
    if s.vibrance:
        hi = cv2.max(cv2.max(planes[0], planes[1]), planes[2])
        lo = cv2.min(cv2.min(planes[0], planes[1]), planes[2])
        muted = cv2.divide(lo + 1e-6, hi + 1e-6)  # 1 - chroma
        k = cv2.multiply(muted, muted) * np.float32(s.vibrance / 100.0) + np.float32(k)
    for p in planes:
        d = cv2.subtract(p, y)
        d = cv2.multiply(d, k) if isinstance(k, np.ndarray) else d * np.float32(k)
        cv2.add(y, d, dst=p)


def _into_gamut(planes: list[np.ndarray], y: np.ndarray) -> None:
    """Pull channels above 1 or below 0 toward the pixel's luminance, keeping hue, in place.
    Only the offending pixels are touched: usually a small fraction."""
    hi = cv2.max(cv2.max(planes[0], planes[1]), planes[2])
    lo = cv2.min(cv2.min(planes[0], planes[1]), planes[2])
    bad = np.flatnonzero((hi > 1.0) | (lo < 0.0))
    if not bad.size:
        return
    yc = np.clip(y.ravel()[bad], 0.0, 1.0)
    h, lo_ = hi.ravel()[bad], lo.ravel()[bad]
    with np.errstate(divide="ignore", invalid="ignore"):
        over = np.where(h > 1.0, (1.0 - yc) / (h - yc), 1.0)
        under = np.where(lo_ < 0.0, yc / (yc - lo_), 1.0)
    f = np.nan_to_num(np.clip(np.minimum(over, under), 0.0, 1.0), nan=0.0)
    for p in planes:
        flat = p.reshape(-1)
        flat[bad] = yc + (flat[bad] - yc) * f


def _vignette_map(shape: tuple[int, int], amount: float) -> np.ndarray | None:
    """Post-crop vignette as a linear-light gain: darker (negative) or lighter corners."""
    if not amount:
        return None
    h, w = shape
    yy = (np.arange(h, dtype=np.float32) - (h - 1) / 2) / (h / 2)
    xx = (np.arange(w, dtype=np.float32) - (w - 1) / 2) / (w / 2)
    r2 = (yy[:, None] ** 2 + xx[None, :] ** 2) / 2.0  # 0 at centre, 1 in the corners
    strength = amount / 100.0
    falloff = r2**1.5
    return (2.0 ** (1.5 * strength * falloff)).astype(np.float32)


def render(pixels: np.ndarray, settings: ToneSettings, *, threads: int | None = None) -> np.ndarray:
    """``pixels`` (HxWx3 or HxWx4 uint8 sRGB) developed with ``settings``; alpha is kept."""
    s = _resolve_white_balance(settings)
    if s.is_identity:
        return pixels
    rgb = np.ascontiguousarray(pixels[..., :3])
    gains = wb_gains(s.temperature, s.tint)
    ratio = _ratio_table(s)
    vignette = _vignette_map(rgb.shape[:2], s.vignette)
    if s.dehaze:
        rgb = _dehaze(rgb, s.dehaze)
    out = np.empty_like(rgb)
    strips = _strips(rgb.shape[0])
    workers = threads or min(4, max(1, cv2.getNumThreads()))
    with ThreadPoolExecutor(workers) as pool:
        for (a, b), done in zip(
            strips,
            pool.map(lambda ab: _tone_rows(
                rgb[ab[0]:ab[1]], s, gains, ratio,
                None if vignette is None else vignette[ab[0]:ab[1]]), strips),
            strict=True,
        ):
            out[a:b] = done
    if s.clarity or s.texture:
        out = _local_contrast(out, s.clarity, s.texture)
    if s.noise_reduction or s.color_noise_reduction or s.sharpness:
        out = _detail(out, s)
    if pixels.shape[2] == 4:
        out = np.dstack([out, pixels[..., 3]])
    return out


def _resolve_white_balance(s: ToneSettings) -> ToneSettings:
    """Fold a named white balance preset into temperature/tint (``Auto`` is resolved by the
    caller, which can see the image statistics; here it means no change)."""
    if s.white_balance == "As Shot":
        return s
    dt, dm = WB_PRESETS.get(s.white_balance, (0.0, 0.0))
    return s.merged(
        white_balance="As Shot",
        temperature=float(np.clip(s.temperature + dt, -100, 100)),
        tint=float(np.clip(s.tint + dm, -100, 100)),
    )


def _strips(height: int, rows: int = 128) -> list[tuple[int, int]]:
    """Row bands small enough that a band's float planes stay in cache: faster than whole
    planes even on one thread, and they let the bands run on several."""
    return list(itertools.pairwise([*range(0, height, rows), height]))


def _dehaze(rgb: np.ndarray, amount: float) -> np.ndarray:
    """Remove (positive) or add (negative) a veil estimated from the dark channel."""
    lin = cv2.LUT(rgb, _decode_table())
    a = amount / 100.0
    small = cv2.resize(lin, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA) \
        if min(rgb.shape[:2]) >= 64 else lin
    dark = cv2.erode(small.min(axis=2), np.ones((7, 7), np.uint8))
    veil_level = float(np.percentile(dark, 95)) if dark.size else 0.0
    if a > 0:
        veil = cv2.resize(cv2.GaussianBlur(dark, (0, 0), 5), (rgb.shape[1], rgb.shape[0]))
        veil = np.clip(veil * 0.8 * a, 0.0, 0.9)[..., None]
        lin = (lin - veil) / (1.0 - veil)
    else:
        haze = max(veil_level, 0.6)
        lin = lin * (1.0 + 0.6 * a) + (-0.6 * a) * haze
    codes = np.clip(lin * (_ENCODE_SIZE - 1) + 0.5, 0, _ENCODE_SIZE - 1).astype(np.uint16)
    return _encode_table()[codes]


def _local_contrast(rgb: np.ndarray, clarity: float, texture: float) -> np.ndarray:
    """Clarity (large-radius, midtone-weighted) and texture (fine detail) on lightness only."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lum = lab[..., 0] / 255.0
    side = max(rgb.shape[:2])
    out = lum.copy()
    if clarity:
        sigma = max(2.0, side / 60.0)
        scale = min(1.0, 256.0 / side) if side > 256 else 1.0
        small = cv2.resize(lum, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        base = cv2.GaussianBlur(small, (0, 0), sigma * scale)
        base = cv2.resize(base, (lum.shape[1], lum.shape[0]), interpolation=cv2.INTER_LINEAR)
        midtones = 1.0 - (2.0 * lum - 1.0) ** 2
        out += (clarity / 100.0) * 0.8 * (lum - base) * midtones
    if texture:
        sigma = max(1.0, side / 800.0)
        base = cv2.GaussianBlur(lum, (0, 0), sigma)
        out += (texture / 100.0) * 0.8 * (lum - base)
    lab[..., 0] = np.clip(out, 0.0, 1.0) * 255.0
    return cv2.cvtColor(np.clip(np.rint(lab), 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def _detail(rgb: np.ndarray, s: ToneSettings) -> np.ndarray:
    """Noise reduction, then sharpening, on luma/chroma (YCrCb) so colours do not fringe."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    y, cr, cb = cv2.split(ycc)
    if s.noise_reduction:
        sigma = 4.0 + 36.0 * s.noise_reduction / 100.0
        y = cv2.bilateralFilter(y, 5, sigma, 3.0)
    if s.color_noise_reduction:
        sigma = 0.5 + 4.5 * s.color_noise_reduction / 100.0
        cr = cv2.GaussianBlur(cr, (0, 0), sigma)
        cb = cv2.GaussianBlur(cb, (0, 0), sigma)
    if s.sharpness:
        yf = y.astype(np.float32)
        blurred = cv2.GaussianBlur(yf, (0, 0), s.sharpen_radius)
        detail = yf - blurred
        amount = s.sharpness / 100.0 * (0.5 + s.sharpen_detail / 100.0)
        if s.sharpen_edge_masking:
            edges = cv2.GaussianBlur(np.abs(cv2.Laplacian(yf, cv2.CV_32F)), (0, 0), 2.0)
            threshold = s.sharpen_edge_masking / 100.0 * 20.0
            detail *= np.clip(edges / max(threshold, 1e-3), 0.0, 1.0)
        y = np.clip(yf + amount * detail + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.merge([y, cr, cb]), cv2.COLOR_YCrCb2RGB)
