"""The light's colour, and how much of it auto tone takes out.

The cast is estimated from near-neutral, well-exposed pixels (a grey-pixel estimate: grey-world
would call a red product a red light) and turned into the temperature and tint that move it
toward a target. How much of a cast to remove is a retoucher's judgement: a slip goes, a
strong cast is more often the scene's colour and is only reduced, and a cutout keeps its own.
"""

from __future__ import annotations

import numpy as np

from lampyris.imaging.tone import LUMA, TEMPERATURE_STOPS, TINT_STOPS

__all__ = ["cast_removed", "estimate_cast", "white_balance"]

# White balance: casts up to a quarter stop (log2 R/G, B/G distance) are a slip and go, as far
# as the image has greys to judge them by; the removal fades out by half a stop, beyond which
# three quarters of the excess goes (the mood rule). Against keeping every cast under half a
# stop (the old rule, kept for mood): FiveK -0.2 dB, +0.4 ΔE00 (expert C keeps such casts;
# measured on bench/tone_bench.py).
_CAST_SMALL = 0.25
_CAST_KEPT, _CAST_REMOVED = 0.5, 0.75  # stops of cast left as mood; share of the rest removed
_TINT_PLAUSIBLE, _TEMPERATURE_PLAUSIBLE = 0.5, 1.5  # stops a light gives; twice that: none


def estimate_cast(lin: np.ndarray,
                  weights: np.ndarray | None) -> tuple[tuple[float, float], float]:
    """The illuminant's colour (log2 R/G, B/G) from near-neutral, well-exposed pixels, and how
    far to trust it (0..1).

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


def white_balance(cast: tuple[float, float], target: tuple[float, float],
                  strength: float) -> dict[str, float]:
    """Temperature and tint that move the measured ``cast`` part of the way to ``target``."""
    dr = (target[0] - cast[0]) * strength
    db = (target[1] - cast[1]) * strength
    # wb_gains: log2 R/G = T*t + M*m, log2 B/G = -T*t + M*m (t, m in -1..1)
    t = (dr - db) / (2 * TEMPERATURE_STOPS)
    m = (dr + db) / (2 * TINT_STOPS)
    return {"temperature": round(float(np.clip(t * 100, -100, 100)), 1),
            "tint": round(float(np.clip(m * 100, -100, 100)), 1)}


def cast_removed(cast: tuple[float, float], confidence: float, *, cutout: bool,
                 mood: bool) -> float:
    """Share of the measured cast that auto removes. On a cutout only a slip-sized cast goes:
    with no ground to judge the light by, a strongly coloured "grey" is a tan bag or a
    wooden bowl, whose colour is the product's (its hue would move and its chroma drop)."""
    size = float(np.hypot(*cast))
    larger = 0.0 if cutout else (
        _CAST_REMOVED * max(0.0, size - _CAST_KEPT) / max(size, 1e-6))
    if mood:  # a retoucher's habit: a mild cast stays as mood, part of a strong one goes
        return larger * confidence
    slip = float(np.clip((_CAST_KEPT - size) / (_CAST_KEPT - _CAST_SMALL), 0.0, 1.0))
    return max(slip, larger) * confidence
