"""Bisection for auto tone's sliders: every quantity auto tone solves for (a rendered
percentile, the share of strong colours past their limit, the chroma brightening lends) is
monotone in the one setting being solved, so a few halvings of its range find it without
derivatives of the renderer."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["solve"]


def solve(fn: Callable[[float], float], lo: float, hi: float, target: float,
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
