"""A soft shadow under the subject, so a cutout on a plain catalog background does not float.

Two layers, both black: a contact shadow (a flat blurred ellipse under the subject's contact
line: the opaque pixels lowest in the picture, so faint matte haze below a subject or a
butterfly's trailing wing cannot push it away) and a soft drop shadow (the subject's own
silhouette, blurred and nudged down). A subject standing on the image's last row (the photo
cut it off there) gets no contact shadow: there is nothing to stand on.
"""

from __future__ import annotations

import cv2
import numpy as np

from lampyris.imaging.layout import FRAME_ALPHA, subject_box

CONTACT_BAND = 0.02
"""Share of the subject's opaque height, above its lowest opaque row, that counts as touching
the ground."""


def contact_line(alpha: np.ndarray) -> tuple[int, int, int] | None:
    """(x0, x1, y) of the subject's contact line: the columns whose opaque pixels reach down
    into the lowest ``CONTACT_BAND`` of it, and that lowest row; None without opaque pixels.
    The contact shadow is centred under it (a product leaning on one foot, a butterfly's lowest
    wing) and as wide as the subject's box, a soft pool rather than a footprint."""
    rows = np.flatnonzero((alpha >= FRAME_ALPHA).any(axis=1))
    if rows.size == 0:
        return None
    top, low = int(rows[0]), int(rows[-1])
    band = max(2, round(CONTACT_BAND * (low - top + 1)))
    cols = np.flatnonzero((alpha[max(top, low - band + 1): low + 1] >= FRAME_ALPHA).any(axis=0))
    return int(cols[0]), int(cols[-1]) + 1, low


def shadow_alpha(alpha: np.ndarray, opacity: float) -> np.ndarray:
    """The shadow's coverage (float32 [0,1]) for a subject matte (uint8)."""
    h, w = alpha.shape
    x0, y0, x1, y1 = subject_box(alpha)
    bw, bh = x1 - x0, y1 - y0
    size = max(bw, bh)

    contact: np.ndarray = np.zeros((h, w), np.float32)
    line = contact_line(alpha)
    if line is None:  # only soft pixels: the box is all there is
        line = (x0, x1, y1 - 1)
    cx0, cx1, low = line
    if low < h - 1:
        centre = ((cx0 + cx1) // 2, low + 1 - max(1, bh // 100))
        axes = (max(2, int(bw * 0.45)), max(2, int(size * 0.025)))
        cv2.ellipse(contact, centre, axes, 0, 0, 360, 1.0, -1)
        cv2.GaussianBlur(contact, (0, 0), max(1.0, size * 0.015), dst=contact)  # in place

    # The silhouette moved down by ``shift`` rows, written straight into one float plane
    # (rather than a scaled copy, a rolled copy, a blurred copy and a halved copy).
    shift = max(1, round(size * 0.015))
    drop: np.ndarray = np.zeros((h, w), np.float32)
    if shift < h:
        np.multiply(alpha[: h - shift], np.float32(1.0 / 255.0), out=drop[shift:])
    cv2.GaussianBlur(drop, (0, 0), max(1.0, size * 0.03), dst=drop)
    drop *= 0.5

    np.maximum(contact, drop, out=drop)
    drop *= np.float32(opacity)
    return drop


def shadow_room(alpha: np.ndarray) -> int:
    """Rows to add below the image so the shadow under a subject touching the bottom shows."""
    x0, y0, x1, y1 = subject_box(alpha)
    line = contact_line(alpha)
    bottom = y1 if line is None else line[2] + 1
    reach = round(max(x1 - x0, y1 - y0) * 0.08)
    return max(0, reach - (alpha.shape[0] - bottom))


def add_shadow(rgba: np.ndarray, opacity: float = 0.45, *, grow: bool = False) -> np.ndarray:
    """``rgba`` with the shadow composited beneath the subject (colour stays the subject's).

    ``grow`` adds transparent rows at the bottom when the shadow would be cut off (a trimmed
    subject stands on the image's edge); with a fixed canvas the size must not change.
    """
    room = shadow_room(rgba[..., 3]) if grow else 0
    if room:
        rgba = np.concatenate([rgba, np.zeros((room, *rgba.shape[1:]), rgba.dtype)], axis=0)
    s = shadow_alpha(rgba[..., 3], opacity)
    out = np.empty_like(rgba)
    h, w = s.shape
    rows = max(8, (1 << 22) // (16 * w))  # ~4 MB float temporaries per band, not ~44 B/px
    for y0 in range(0, h, rows):
        band = slice(y0, min(h, y0 + rows))
        a = rgba[band, :, 3].astype(np.float32) * np.float32(1.0 / 255.0)
        out_a = a + s[band] * (1.0 - a)
        # The shadow is black, so it adds coverage but no colour: un-premultiply the subject.
        safe = np.where(out_a > 1e-6, a / np.maximum(out_a, 1e-6), 0.0)[..., None]
        colour = rgba[band, :, :3].astype(np.float32) * safe + 0.5
        out[band, :, :3] = np.clip(colour, 0, 255).astype(np.uint8)
        out[band, :, 3] = np.clip(out_a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out
