"""Catalog layout: trim to the subject, add padding, fit the subject on a fixed canvas.

Works on RGBA (or single-channel mask) uint8 arrays. Resizing happens on premultiplied
colour so transparent pixels never bleed dark fringes into the subject's edge.

Layout respects the photo, as a retoucher would: a subject the photo's frame cuts off (a
plush toy whose bottom is the picture's bottom) keeps that cut on the matching edge of the
output, with padding only on its free sides; and a subject is never enlarged beyond
``max_upscale`` (1x by default) to fill a canvas: the result says when it would have been.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Literal

import cv2
import numpy as np

from lampyris.errors import InvalidParameterError
from lampyris.imaging.settings import ImagingSettings

SUBJECT_THRESHOLD = 8
"""Alpha (0-255) above which a pixel counts as subject for trimming: ignores faint haze."""

FRAME_ALPHA = 128
"""Alpha from which a pixel on the photo's border counts as the subject being cut there."""
FRAME_SHARE = 0.1
"""A subject is cut by an edge when its opaque pixels line at least this share of its own
extent along that edge (a tail tip brushing the border is not a cut)."""
FRAME_DEPTH = 2
"""Rows/columns from the border that count as on it: a matte's edge is a pixel or two soft."""

Edge = Literal["left", "top", "right", "bottom"]

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


def frame_edges(alpha: np.ndarray) -> tuple[Edge, ...]:
    """The photo's edges that cut the subject off: where its opaque pixels run along the
    border for at least ``FRAME_SHARE`` of its extent on that side."""
    h, w = alpha.shape
    x0, y0, x1, y1 = subject_box(alpha, FRAME_ALPHA - 1)  # no opaque pixel: every run is 0
    d = FRAME_DEPTH
    runs: dict[Edge, tuple[int, int]] = {
        "left": (int(np.count_nonzero(alpha[:, :d].max(axis=1) >= FRAME_ALPHA)), y1 - y0),
        "top": (int(np.count_nonzero(alpha[:d].max(axis=0) >= FRAME_ALPHA)), x1 - x0),
        "right": (int(np.count_nonzero(alpha[:, w - d:].max(axis=1) >= FRAME_ALPHA)), y1 - y0),
        "bottom": (int(np.count_nonzero(alpha[h - d:].max(axis=0) >= FRAME_ALPHA)), x1 - x0),
    }
    return tuple(edge for edge, (run, extent) in runs.items()
                 if run >= max(3, FRAME_SHARE * extent))


@dataclass(frozen=True)
class Layout:
    """A laid-out layer, and what the layout decided: the photo edges kept as cuts, the scale
    applied and the scale the canvas asked for (larger when ``max_upscale`` held it back)."""

    pixels: np.ndarray
    edges: tuple[Edge, ...] = ()
    scale: float = 1.0
    wanted: float = 1.0
    subject: tuple[int, int] = (0, 0)  # the subject's size before scaling (w, h)

    @property
    def upscale_limited(self) -> bool:
        return self.wanted > self.scale * 1.0005

    def notice(self) -> str | None:
        """One line for the summary, the report and the job result when the subject was
        left smaller than the canvas wanted it."""
        if not self.upscale_limited:
            return None
        w, h = self.subject
        return (f"the subject is {w}x{h} px: filling the canvas would enlarge it "
                f"{self.wanted:.1f}x, so it was kept at {self.scale:g}x (max_upscale); use a "
                "larger photo, or allow more with --max-upscale")


def _pads(pad: int, edges: tuple[Edge, ...]) -> tuple[int, int, int, int]:
    """Padding (left, top, right, bottom): none on a side the photo cut the subject off."""
    return tuple(0 if edge in edges else pad  # type: ignore[return-value]
                 for edge in ("left", "top", "right", "bottom"))


def _offset(total: int, size: int, pad_before: int, room: int, cut_before: bool,
            cut_after: bool) -> int:
    """Where a side of ``size`` goes along ``total`` pixels: flush against the one cut edge,
    else centred in the ``room`` the padding leaves."""
    if cut_before and not cut_after:
        return 0
    if cut_after and not cut_before:
        return total - size
    return pad_before + (room - size) // 2


def lay_out(
    layer: np.ndarray,
    *,
    trim: bool = False,
    padding: Length | None = None,
    canvas: tuple[int, int] | None = None,
    max_upscale: float = 1.0,
) -> Layout:
    """Apply trim, padding and canvas fitting, in that order.

    Percent padding is of the subject's longer side, or with a canvas, of the canvas's shorter
    side; it goes only on the sides the photo did not cut the subject off. On a canvas the
    subject is always trimmed first, then scaled to fit inside the padding (never by more
    than ``max_upscale``), centred, and flush with the canvas edges that match its cuts.
    """
    edges = frame_edges(_alpha(layer)) if (trim or canvas or padding) else ()
    if trim or canvas:
        x0, y0, x1, y1 = subject_box(_alpha(layer))
        layer = layer[y0:y1, x0:x1]
    h, w = layer.shape[:2]
    if canvas is None:
        left, top, right, bottom = _pads(padding.pixels(max(w, h)) if padding else 0, edges)
        size = (w + left + right, h + top + bottom)
        if size != (w, h) and (reason := oversize(*size, f"padding {padding}")):
            raise InvalidParameterError(reason)
        out = place(layer, size, (left, top)) if size != (w, h) else layer
        return Layout(out, edges, subject=(w, h))
    cw, ch = canvas
    if (reason := oversize(cw, ch, f"canvas {cw}x{ch}")) is not None:
        raise InvalidParameterError(reason)
    left, top, right, bottom = _pads(padding.pixels(min(cw, ch)) if padding else 0, edges)
    room_w, room_h = max(1, cw - left - right), max(1, ch - top - bottom)
    wanted = min(room_w / w, room_h / h)
    scale = min(wanted, max_upscale)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    x = _offset(cw, nw, left, room_w, "left" in edges, "right" in edges)
    y = _offset(ch, nh, top, room_h, "top" in edges, "bottom" in edges)
    out = place(resize_layer(layer, (nw, nh)), (cw, ch), (x, y))
    return Layout(out, edges, scale, wanted, (w, h))
