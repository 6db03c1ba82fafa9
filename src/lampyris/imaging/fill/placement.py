"""Where a picture sits on a bigger canvas: Firefly's ``placement`` (insets and alignment).

The insets leave room between the picture and the canvas edges; the picture is shrunk to fit
what is left (never enlarged, unless all four insets are given: then it fills that box) and
aligned inside it: as asked, else towards the one side an inset was given for, else centred.
The result is an RGBA canvas whose transparent area is what to generate.

Usage:
    canvas, box = place_on_canvas(rgba, (2048, 2048), inset=Inset(left=100), vertical="bottom")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from lampyris.errors import InvalidParameterError
from lampyris.imaging.layout import place, resize_layer

Horizontal = Literal["center", "left", "right"]
Vertical = Literal["center", "top", "bottom"]


@dataclass(frozen=True)
class Inset:
    """Pixels kept free on each side; ``None`` = not given."""

    top: int | None = None
    bottom: int | None = None
    left: int | None = None
    right: int | None = None

    @property
    def complete(self) -> bool:
        return None not in (self.top, self.bottom, self.left, self.right)


def as_rgba(pixels: np.ndarray) -> np.ndarray:
    """An opaque alpha for RGB input; RGBA passes through."""
    if pixels.shape[2] == 4:
        return pixels
    return np.dstack([pixels, np.full(pixels.shape[:2], 255, np.uint8)])


def place_on_canvas(
    layer: np.ndarray,
    canvas: tuple[int, int],
    *,
    inset: Inset | None = None,
    horizontal: Horizontal | None = None,
    vertical: Vertical | None = None,
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """``layer`` (RGBA) fitted and aligned on a transparent (w, h) canvas; returns the canvas
    and the picture's box (x, y, w, h) on it."""
    inset = inset or Inset()
    cw, ch = canvas
    top, bottom = inset.top or 0, inset.bottom or 0
    left, right = inset.left or 0, inset.right or 0
    room_w, room_h = cw - left - right, ch - top - bottom
    if room_w < 1 or room_h < 1:
        raise InvalidParameterError(
            f"the insets leave no room on a {cw}x{ch} canvas (left {left}, right {right}, "
            f"top {top}, bottom {bottom})"
        )
    h, w = layer.shape[:2]
    scale = min(room_w / w, room_h / h)
    if scale < 1 or inset.complete:
        w, h = max(1, round(w * scale)), max(1, round(h * scale))
        layer = resize_layer(layer, (w, h))
    horizontal = horizontal or _towards(inset.left, inset.right, "left", "right")
    vertical = vertical or _towards(inset.top, inset.bottom, "top", "bottom")
    x = {"left": left, "right": cw - right - w, "center": left + (room_w - w) // 2}[horizontal]
    y = {"top": top, "bottom": ch - bottom - h, "center": top + (room_h - h) // 2}[vertical]
    return place(layer, canvas, (x, y)), (x, y, w, h)


def _towards(first: int | None, second: int | None, a: str, b: str) -> Any:
    """The side whose inset alone was given; ``center`` for both or neither."""
    if (first is None) == (second is None):
        return "center"
    return a if first is not None else b
