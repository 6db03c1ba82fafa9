"""The ``studio`` engine's material textures (marble, wood, concrete, linen, sand, stone,
velvet, paper) and the value noise they are drawn from.

Every texture is computed on texture coordinates (a ``Plane``: 1000 texture px across the
frame), so a surface in perspective foreshortens it, and detail too fine for a screen pixel
fades to its mean instead of aliasing into moiré.

Usage:
    mix, lum = texture_for("marble", plane, Noise(rng))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

# --- noise ------------------------------------------------------------------------------------


def _wrap(x: np.ndarray, period: int) -> np.ndarray:
    """``x`` mod ``period``, in place (np.mod is several times slower on float32)."""
    x -= np.floor(x * np.float32(1.0 / period)) * np.float32(period)
    return x


def _resolved(period: float, scale: np.ndarray | float) -> np.ndarray | float:
    """How much of a pattern of ``period`` texture px can be drawn where one screen px spans
    ``scale`` texture px: all of it at 4 screen px or more, none at 2 or less (it would alias
    into moiré, so it fades to its mean instead)."""
    return np.clip(np.float32(period) / scale * np.float32(0.5) - np.float32(1.0), 0.0, 1.0)


class Noise:
    """Value-noise fBm on arbitrary texture coordinates (so a perspective plane foreshortens
    it): periodic random lattices, sampled with cubic interpolation by ``cv2.remap``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def octave(self, u: np.ndarray, v: np.ndarray, cell: float) -> np.ndarray:
        # remap resolves 1/32 of a source pixel, so a lattice of large cells would come out in
        # steps: magnify the (periodic) lattice first, keeping a few source pixels per cell.
        n = 256 if cell <= 8 else 64
        m = 1 if cell <= 8 else min(16, int(np.ceil(cell / 4)))
        grid = self.rng.standard_normal((n, n)).astype(np.float32)
        if m > 1:
            padded = cv2.copyMakeBorder(grid, 2, 2, 2, 2, cv2.BORDER_WRAP)
            big = cv2.resize(padded, ((n + 4) * m, (n + 4) * m), interpolation=cv2.INTER_CUBIC)
            grid = np.ascontiguousarray(big[2 * m : (n + 2) * m, 2 * m : (n + 2) * m])
        period = n * m
        mx = _wrap(u * np.float32(m / cell), period)
        my = _wrap(v * np.float32(m / cell), period)
        return cv2.remap(grid, mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_WRAP)

    def fbm(self, u: np.ndarray, v: np.ndarray, cell: float, octaves: int = 4) -> np.ndarray:
        """About unit standard deviation."""
        out = np.zeros(u.shape, np.float32)
        amp, total = 1.0, 0.0
        for _ in range(octaves):
            out += np.float32(amp) * self.octave(u, v, cell)
            total += amp * amp
            amp, cell = amp * 0.5, max(cell * 0.5, 1.0)
        return out * np.float32(1.0 / (0.75 * np.sqrt(total)))


@dataclass(frozen=True)
class Plane:
    """Texture coordinates (u, v, texture px) of every screen pixel, how many texture px one
    screen px spans across (``sx``) and down (``sy``) per row, and the depth blur weight.
    ``v`` is the same along a row on both sets, which the wood's boards rely on."""

    u: np.ndarray
    v: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    far: np.ndarray
    typical: float  # the median scale over the rows that show texture

    @property
    def scale(self) -> np.ndarray:
        out: np.ndarray = np.maximum(self.sx, self.sy)
        return out

    def field(self, fn: Callable[[np.ndarray, np.ndarray], np.ndarray], finest: float,
              soften: float = 0.0) -> np.ndarray:
        """``fn(u, v)`` for a smooth field (no detail under ``finest`` texture px), computed
        on every k-th pixel and resized back: a 4000 px marble's warp costs 1/64 as much.
        k follows the typical row, so the far rows of a surface (blurred by depth anyway) may
        be undersampled. ``soften`` (texture px) blurs away the steps ``remap`` leaves."""
        k = int(np.clip(finest / (self.typical * 8), 1, 8))
        u, v = (self.u, self.v) if k == 1 else (np.ascontiguousarray(self.u[::k, ::k]),
                                                np.ascontiguousarray(self.v[::k, ::k]))
        out: np.ndarray = fn(u, v)
        sigma = soften / (k * float(self.scale.min()))
        if sigma > 0.3:
            out = cv2.GaussianBlur(out, (0, 0), sigma)
        if k > 1:
            h, w = self.u.shape
            out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
        return out

    def grain(self, noise: Noise, cell: float) -> np.ndarray:
        """Grains of ``cell`` texture px, unit deviation where they are drawn: sampled in
        texture space where a grain covers two screen px or more, and where it is smaller, as
        fresh per-pixel noise weakened as many grains average in one pixel."""
        drawn = _resolved(cell * 2, self.scale)
        tex = noise.octave(self.u, self.v, cell)
        fine = noise.rng.standard_normal(self.u.shape, dtype=np.float32)
        weak = np.minimum(np.float32(cell) / self.scale, 1.0) * (1 - drawn)
        out: np.ndarray = tex * drawn + fine * weak
        return out


def _line(phase: np.ndarray, plane: Plane, width: np.ndarray | float) -> np.ndarray:
    """Thin lines along the zeros of sin(phase), ``width`` texture px wide (a Gaussian's
    sigma), drawn by their distance in screen px (|sin| over the gradient) so a line stays
    thin wherever the phase is stretched; under a screen pixel wide it fades instead."""
    gx = cv2.Sobel(phase, cv2.CV_32F, 1, 0, ksize=1)  # Sobel's [-1 0 1]: twice the gradient
    gy = cv2.Sobel(phase, cv2.CV_32F, 0, 1, ksize=1)
    grad = cv2.magnitude(gx, gy) + np.float32(1e-6)
    across = cv2.magnitude(gx * plane.sx, gy * plane.sy)  # texture px per screen px, across
    across /= grad
    across += np.float32(1e-4)
    wide = np.float32(width) / across  # the line's width in screen px
    drawn = np.maximum(wide, np.float32(0.8))
    dist = np.abs(np.sin(phase))
    dist *= np.float32(2.0)
    dist /= grad
    dist /= drawn
    out: np.ndarray = cv2.exp(-(dist * dist))
    out *= wide / drawn
    return out


# --- materials --------------------------------------------------------------------------------

Texture = tuple[np.ndarray | None, np.ndarray | None]


def _marble(p: Plane, noise: Noise) -> Texture:
    """Veins on a cloudy ground. A vein is a zero line of sin(phase): a straight ramp across
    the slab, its coordinates bent by a two-scale domain warp gentle enough not to fold. So
    veins run one general way, wander, crinkle, swell and thin, and fork from each other at
    acute angles; they do not close into the rings that iso-lines of noise draw. Four layers:
    main veins with a grey haze beside them, secondary veins, hairlines, and faint wide ghosts.
    Widths in texture px (1000 across the frame), tuned by eye at 1200 and 4000 px."""
    # The warp's gradient stays mostly under 1, or lines fold into loops: these amplitudes
    # reverse the ramp on 0.3 % of the slab (5 seeds; 80 px over 4 octaves + 3 px: 4 %).
    warps = [p.field(lambda a, b: noise.fbm(a, b, 600.0, 3) * 60.0
                     + noise.fbm(a, b, 30.0, 3) * 2.0, 15.0, soften=1.5) for _ in range(2)]
    pu, pv = p.u + warps[0], p.v + warps[1]
    swell = p.field(lambda a, b: np.clip(1.0 + noise.fbm(a, b, 160.0, 3) * 0.9, 0.35, 2.5), 80.0)
    angle = float(noise.rng.uniform(0.35, 1.2))
    mix = np.zeros(p.u.shape, np.float32)
    # (turn from the main direction, vein spacing, width, strength, patchiness)
    for turn, period, width, strength, patchy in ((0.0, 420.0, 1.0, 0.95, 0.3),
                                                  (0.35, 230.0, 0.55, 0.75, 0.9),
                                                  (-0.45, 130.0, 0.35, 0.55, 1.3),
                                                  (0.15, 700.0, 9.0, 0.12, 0.6)):
        a = angle + turn
        phase = (pu * np.float32(np.cos(a)) + pv * np.float32(np.sin(a))) * np.float32(
            np.pi / period) + np.float32(noise.rng.uniform(0, np.pi))
        fade = p.field(lambda a_, b_: noise.fbm(a_, b_, 260.0, 3), 130.0)
        fade = np.clip(np.float32(0.7) + fade * np.float32(patchy), 0.0, 1.0)
        vein = _line(phase, p, swell * np.float32(width)) * fade
        np.maximum(mix, vein * np.float32(strength), out=mix)
        if turn == 0.0:  # the main veins bleed a grey haze into the stone
            mix += _line(phase, p, swell * np.float32(width * 14)) * fade * np.float32(0.12)
    cloud = p.field(lambda a, b: noise.fbm(a, b, 300.0, 4), 40.0)
    mix += np.clip(cloud, 0, None) * np.float32(0.04)
    return np.clip(mix, 0, 1), 1.0 + cloud * np.float32(0.015)


def _hash(x: np.ndarray, salt: float) -> np.ndarray:
    """A repeatable pseudo-random 0..1 for each integer in ``x`` (a board, a segment)."""
    s = np.sin(x.astype(np.float64) * 12.9898 + salt * 78.233) * 43758.5453
    out: np.ndarray = (s - np.floor(s)).astype(np.float32)
    return out


def _wood(p: Plane, noise: Noise) -> Texture:
    """Boards across the frame, butt-jointed at staggered lengths, each cut from its own log:
    a ring is the distance from a pith that runs near the board at a slight tilt, so the rings
    draw the long arches (cathedrals) of flat-sawn oak; latewood darkens to a sharp edge, and
    pores streak along the grain."""
    board = 150.0
    row = p.v[:, :1]  # v is constant along a row
    b = np.floor(row / np.float32(board))
    across = row - (b + np.float32(0.5)) * np.float32(board)  # -75..75 within the board
    length = 2600.0  # a tabletop's boards are long: a joint or two in a frame
    shift = _hash(b, 1.0) * np.float32(length)
    along = p.u + shift
    seg = np.floor(along / np.float32(length))
    key = b * np.float32(7.0) + seg
    pith = np.float32(15.0) + _hash(key, 2.0) * np.float32(110.0)
    tilt = (_hash(key, 3.0) - np.float32(0.5)) * np.float32(0.09)
    depth = pith + (along - seg * np.float32(length)) * tilt
    wobble = p.field(lambda a, c: noise.fbm(a * np.float32(0.05), c, 40.0, 3), 60.0)
    r = np.sqrt(across * across + depth * depth) + wobble * np.float32(2.5)
    spacing = np.float32(6.0) + _hash(key, 4.0) * np.float32(4.0)
    f = r / spacing
    f -= np.floor(f)
    rings = _resolved(14.0, p.sy)  # arches spread the rings: they alias later than 8 px
    edge = np.clip(p.sy / spacing, 0.02, 0.5)  # the sharp latewood edge over ~1 screen px
    late = f * f * f * np.minimum((1 - f) / edge, 1.0) * rings + np.float32(0.22) * (1 - rings)
    streak = noise.fbm(p.u * np.float32(0.04), p.v, 1.5, 2) * _resolved(3.0, p.sy)
    tone = np.float32(0.92) + _hash(key, 5.0) * np.float32(0.16)
    edge = (np.float32(board / 2) - np.abs(across)) / p.sy  # screen px to a board's edge
    end = np.minimum(along - seg * np.float32(length),
                     (seg + 1) * np.float32(length) - along) / p.sx
    seam = np.exp(-(np.minimum(edge, end) / np.float32(0.8)) ** 2) * np.float32(0.4)
    lum = tone * (1.0 + streak * np.float32(0.07)) * (1.0 - seam)
    return late * np.float32(0.55), lum


def _concrete(p: Plane, noise: Noise) -> Texture:
    """Trowelled cement: broad mottling, fine aggregate, and pores (small dark pits of a few
    sizes, about 2 % of the area) that a flat noise never shows."""
    mottle = p.field(lambda a, b: noise.fbm(a, b, 180.0, 4), 40.0)
    fine = noise.fbm(p.u, p.v, 14.0, 2) * _resolved(14.0, p.scale)
    pits = np.zeros(p.u.shape, np.float32)
    for cell, cut, depth in ((2.5, 2.0, 0.45), (5.0, 2.3, 0.4), (9.0, 2.7, 0.35)):
        n = noise.octave(p.u, p.v, cell)
        pit = np.clip((n - np.float32(cut)) * np.float32(2.5), 0, 1) * _resolved(cell * 2, p.scale)
        np.maximum(pits, pit * np.float32(depth), out=pits)
    lum = (1.0 + mottle * np.float32(0.05) + fine * np.float32(0.02)
           + p.grain(noise, 1.0) * np.float32(0.025))
    return None, lum * (1.0 - pits)


def _linen(p: Plane, noise: Noise) -> Texture:
    """Plain weave: warp and weft threads 3.5 texture px apart crossing over and under, each
    thread its own thickness (slubs), fading to the cloth's mean tone where too fine to draw."""
    period = 3.5
    k = np.float32(2 * np.pi / period)
    weave = np.sin(p.u * k) * np.sin(p.v * k) * _resolved(period, p.scale)
    weft = noise.fbm(p.u * np.float32(0.03), p.v, period * 0.6, 2) * _resolved(period, p.sy)
    warp = noise.fbm(p.u, p.v * np.float32(0.03), period * 0.6, 2) * _resolved(period, p.sx)
    drift = p.field(lambda a, b: noise.fbm(a, b, 200.0, 3), 50.0)
    lum = (1.0 + weave * np.float32(0.055) + (weft + warp) * np.float32(0.035)
           + drift * np.float32(0.02))
    return None, lum


def _sand(p: Plane, noise: Noise) -> Texture:
    """Sand: fine grains with a few dark and bright ones among them, and wind ripples about
    60 texture px apart, their crests sharp and lit on one flank, wandering and forking."""
    bend = p.field(lambda a, b: noise.fbm(a, b, 260.0, 3) * 3.0 + noise.fbm(a, b, 90.0, 2), 45.0)
    phase = p.v * np.float32(2 * np.pi / 60.0) + p.u * np.float32(0.01) + bend
    # the slope of a profile with a sharp crest and a long, gentle stoss side
    slope = (np.cos(phase) + np.float32(0.6) * np.cos(phase * 2)
             + np.float32(0.3) * np.cos(phase * 3)) * _resolved(60.0 / 3, p.sy)
    swell = p.field(lambda a, b: np.clip(0.8 + noise.fbm(a, b, 320.0, 3) * 0.5, 0.25, 1.0),
                    80.0)
    specks = noise.octave(p.u, p.v, 1.6) * _resolved(3.2, p.scale)
    dark = np.clip(specks - np.float32(1.8), 0, 1) * np.float32(0.45)
    bright = np.clip(-specks - np.float32(2.0), 0, 1) * np.float32(0.45)
    lum = (1.0 + p.grain(noise, 0.9) * np.float32(0.06) + slope * swell * np.float32(0.05)
           - dark + bright)
    return None, lum


def texture_for(material: str, p: Plane, noise: Noise) -> Texture:
    """(accent mix 0..1, luminance gain around 1) of a material; None where it has none."""
    drawn = {"marble": _marble, "wood": _wood, "concrete": _concrete, "linen": _linen,
             "sand": _sand}
    if material in drawn:
        return drawn[material](p, noise)
    if material == "paper":
        return None, 1.0 + p.field(lambda a, b: noise.fbm(a, b, 220.0, 3), 50.0) * np.float32(
            0.012)
    if material == "stone":
        patches = np.clip(0.5 + p.field(lambda a, b: noise.fbm(a, b, 150.0, 4), 20.0) * 0.6,
                          0, 1) * np.float32(0.35)
        lum = (1.0 + noise.fbm(p.u, p.v, 50.0, 4) * np.float32(0.08)
               + p.grain(noise, 1.0) * np.float32(0.04))
        return patches, lum
    if material == "velvet":
        return None, 1.0 + p.field(lambda a, b: noise.fbm(a * np.float32(0.5), b, 220.0, 3),
                                   50.0) * np.float32(0.16)
    return None, None
