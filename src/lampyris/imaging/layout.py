"""Catalog layout: trim to the subject, add padding, fit the subject centred on a fixed canvas.

Works on RGBA (or single-channel mask) uint8 arrays. Resizing happens on premultiplied
colour so transparent pixels never bleed dark fringes into the subject's edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from lampyris.errors import InvalidParameterError
from lampyris.imaging.settings import ImagingSettings

SUBJECT_THRESHOLD = 8
"""Alpha (0-255) above which a pixel counts as subject for trimming: ignores faint haze."""

MAX_PADDING_PERCENT = 500.0
"""Percent padding is of the subject's (or canvas's) side: 500 % already puts a subject in a
frame eleven times its size; the pixel cap bounds the image it makes."""


@cache
def pixel_limit() -> int:
    """The largest image an option may make, in pixels: the decoder's cap
    (``LAMPYRIS_IMAGING_MAX_PIXELS``), read once per process as the decoder reads it."""
    return ImagingSettings().max_pixels


def oversize(width: int, height: int, what: str) -> str | None:
    """Why ``what`` (``"padding 6000 px"``) may not make a ``width`` x ``height`` image, or
    ``None`` when it fits the pixel cap. Checked before anything is allocated, so an option
    cannot make a worker allocate gigabytes."""
    limit = pixel_limit()
    if width * height <= limit:
        return None
    return (f"{what} makes an image of {width}x{height} = {width * height:,} pixels; the "
            f"limit is {limit:,} pixels")


@dataclass(frozen=True)
class Length:
    """A padding length: pixels, or a percentage of a reference length."""

    value: float
    percent: bool = False

    def pixels(self, reference: int) -> int:
        return round(self.value * reference / 100.0) if self.percent else round(self.value)

    def __str__(self) -> str:
        """The form ``parse`` reads back: ``"24"`` or ``"5%"``."""
        return f"{self.value:g}{'%' if self.percent else ''}"

    @classmethod
    def parse(cls, text: str | float) -> Length:
        """``"24"``, ``"24px"`` or ``"5%"``."""
        if isinstance(text, int | float):
            value, percent = float(text), False
        else:
            raw = text.strip().lower()
            percent = raw.endswith("%")
            value = float(raw.rstrip("%").removesuffix("px").strip())
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"padding must be a finite length >= 0, not {text!r}")
        if percent and value > MAX_PADDING_PERCENT:
            raise ValueError(f"padding must be at most {MAX_PADDING_PERCENT:g}%, not {text!r}")
        if not percent:  # even a one-pixel subject gets the padding on both sides
            side = 1 + 2 * round(value)
            if (reason := oversize(side, side, f"padding {value:g} px")) is not None:
                raise ValueError(reason)
        return cls(value, percent)


def subject_box(alpha: np.ndarray, threshold: int = SUBJECT_THRESHOLD) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the pixels above ``threshold``; the whole image when none is."""
    mask = alpha > threshold
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return 0, 0, alpha.shape[1], alpha.shape[0]
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _alpha(layer: np.ndarray) -> np.ndarray:
    return layer if layer.ndim == 2 else layer[..., 3]


def resize_layer(layer: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an RGBA or mask layer to (w, h) with premultiplied alpha."""
    w, h = size
    if (layer.shape[1], layer.shape[0]) == (w, h):
        return layer
    shrink = w < layer.shape[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    if layer.ndim == 2:
        return cv2.resize(layer, (w, h), interpolation=interp)
    a = layer[..., 3:4].astype(np.float32) * np.float32(1.0 / 255.0)
    premul = np.concatenate([layer[..., :3].astype(np.float32) * a, a * 255.0], axis=2)
    out = cv2.resize(premul, (w, h), interpolation=interp)
    np.clip(out, 0, 255, out=out)
    alpha = out[..., 3:4]
    safe = np.where(alpha > 0.5, alpha / 255.0, 1.0)
    out[..., :3] = np.clip(out[..., :3] / safe, 0, 255)
    return (out + 0.5).astype(np.uint8)


def place(layer: np.ndarray, canvas: tuple[int, int], offset: tuple[int, int]) -> np.ndarray:
    """``layer`` pasted at ``offset`` on a transparent canvas of (w, h)."""
    w, h = canvas
    out = np.zeros((h, w, *layer.shape[2:]), np.uint8)
    x, y = offset
    out[y : y + layer.shape[0], x : x + layer.shape[1]] = layer
    return out


def lay_out(
    layer: np.ndarray,
    *,
    trim: bool = False,
    padding: Length | None = None,
    canvas: tuple[int, int] | None = None,
) -> np.ndarray:
    """Apply trim, padding and canvas fitting, in that order.

    Percent padding is of the subject's longer side, or with a canvas, of the canvas's shorter
    side. On a canvas the subject is always trimmed first, then scaled to fit inside the
    padding and centred.
    """
    if trim or canvas:
        x0, y0, x1, y1 = subject_box(_alpha(layer))
        layer = layer[y0:y1, x0:x1]
    h, w = layer.shape[:2]
    if canvas is None:
        pad = padding.pixels(max(w, h)) if padding else 0
        if pad and (reason := oversize(w + 2 * pad, h + 2 * pad, f"padding {padding}")):
            raise InvalidParameterError(reason)
        return place(layer, (w + 2 * pad, h + 2 * pad), (pad, pad)) if pad else layer
    cw, ch = canvas
    if (reason := oversize(cw, ch, f"canvas {cw}x{ch}")) is not None:
        raise InvalidParameterError(reason)
    pad = padding.pixels(min(cw, ch)) if padding else 0
    room_w, room_h = max(1, cw - 2 * pad), max(1, ch - 2 * pad)
    scale = min(room_w / w, room_h / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    layer = resize_layer(layer, (nw, nh))
    return place(layer, (cw, ch), ((cw - nw) // 2, (ch - nh) // 2))
