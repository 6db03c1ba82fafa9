"""Photoshop documents (PSD) through psd-tools: a cutout as the photo with the subject as its
layer mask (Photoshop's own Remove Background leaves the same: nothing is deleted, the mask
can be refined), or any pixels as one layer.

The merged image every PSD carries (what Pillow, Finder and browsers show) is the layers over
white, as Photoshop writes it with "maximize compatibility"; a layer-aware reader recomposites
the layers. We composite it ourselves: psd-tools 1.26 leaves a masked layer's edge colour
unblended with the backdrop. A 12 MP test card (gradients) takes 2.5 s and 19 MB on a loaded
2-core machine, mostly psd-tools' RLE of the layer and mask channels.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image
from psd_tools import PSDImage
from psd_tools.constants import Compression
from psd_tools.psd import PSD

from lampyris.errors import InvalidParameterError
from lampyris.imaging.composite import over_background

RGBA = Sequence[float]  # red, green, blue 0..255 and alpha 0..1, as the cutout's background
PSD_MAX_SIDE = 30000  # the PSD format's limit (PSB goes further)
_WHITE = 255.0


def masked_document(photo: np.ndarray, mask: np.ndarray, *,
                    background: RGBA | None = None) -> bytes:
    """A PSD of ``photo`` (HxWx3/4 uint8; any alpha is left to the mask) as the layer
    ``Subject`` with ``mask`` (HxW uint8, 255 = subject) as its layer mask; ``background``
    adds a solid layer ``Background`` of that colour and opacity beneath it."""
    if mask.ndim != 2 or photo.shape[:2] != mask.shape:
        raise InvalidParameterError(f"a layer mask must be HxW like the photo {photo.shape[:2]},"
                                    f" got {mask.shape}")
    rgb = _rgb(photo)
    doc = _document(rgb.shape[1], rgb.shape[0])
    backdrop: np.ndarray | float = _WHITE
    if background is not None:
        red, green, blue, alpha = background
        colour = np.array([round(red), round(green), round(blue)], np.uint8)
        fill = np.empty_like(rgb)
        fill[...] = colour
        opacity = round(alpha * 255)
        doc.create_pixel_layer_from_array(fill, name="Background", opacity=opacity)
        backdrop = colour * (opacity / 255) + _WHITE * (1 - opacity / 255)
    layer = doc.create_pixel_layer_from_array(rgb, name="Subject")
    layer.create_mask(Image.fromarray(np.ascontiguousarray(mask), "L"))
    weight = mask[..., None].astype(np.float32) / 255
    merged = rgb * weight + np.asarray(backdrop, np.float32) * (1 - weight)
    return _save(doc, np.clip(np.rint(merged), 0, 255).astype(np.uint8))


def flat_document(pixels: np.ndarray) -> bytes:
    """A PSD of HxW, HxWx3 or HxWx4 uint8 pixels as one layer (alpha as its transparency)."""
    if pixels.ndim == 2:
        pixels = np.dstack([pixels] * 3)
    doc = _document(pixels.shape[1], pixels.shape[0])
    doc.create_pixel_layer_from_array(np.ascontiguousarray(pixels), name="Layer 1")
    merged = (over_background(pixels, (255, 255, 255, 1.0)) if pixels.shape[2] == 4
              else pixels)
    return _save(doc, merged)


def _rgb(photo: np.ndarray) -> np.ndarray:
    if photo.ndim == 2:
        return np.dstack([photo] * 3)
    return np.ascontiguousarray(photo[..., :3])


def _document(width: int, height: int) -> PSDImage:
    if max(width, height) > PSD_MAX_SIDE:
        raise InvalidParameterError(f"PSD images are limited to {PSD_MAX_SIDE} pixels per side")
    doc = PSDImage.new("RGB", (width, height), color=255)
    doc.background_color = 1.0  # white, as the merged image we write
    return doc


def _save(doc: PSDImage, merged: np.ndarray) -> bytes:
    """The document with ``merged`` (HxWx3 uint8) as its merged image, RLE-compressed.

    ``PSDImage.save`` would first composite the layers itself, only for us to replace the
    result: 7.0 of 9.3 s for 12 MP (a loaded 2-core machine). So the low-level record it
    keeps in step with every layer edit (``_record``, what ``save`` writes) is written
    directly; psd-tools is pinned below 2 and tests/unit/imaging/test_psd.py reads every
    document back."""
    record: PSD = doc._record
    record.image_data.compression = Compression.RLE
    record.image_data.set_data([np.ascontiguousarray(merged[..., c]).tobytes()
                                for c in range(3)], record.header)
    buffer = io.BytesIO()
    record.write(buffer)
    return buffer.getvalue()
