"""``imaging.psd``: layered and one-layer Photoshop documents, read back with psd-tools and
Pillow (the merged image other apps show)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from psd_tools import PSDImage
from psd_tools.api.layers import Layer

from lampyris.errors import InvalidParameterError
from lampyris.imaging.encode import encode, extension
from lampyris.imaging.psd import PSD_MAX_SIDE, masked_document


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (60, 80, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def mask() -> np.ndarray:
    mask = np.zeros((60, 80), np.uint8)
    mask[10:50, 20:60] = 255
    mask[8:10, 20:60] = 100  # a soft edge
    return mask


def _rgb(layer: Layer) -> np.ndarray:
    return np.rint(layer.numpy()[..., :3] * 255).astype(np.uint8)


def test_a_masked_document_keeps_the_photo_and_the_mask(photo: np.ndarray, mask: np.ndarray):
    data = masked_document(photo, mask)
    doc = PSDImage.open(io.BytesIO(data))
    (layer,) = doc
    assert layer.name == "Subject" and doc.size == (80, 60)
    assert np.array_equal(_rgb(layer), photo)
    assert np.array_equal(np.asarray(layer.mask.topil()), mask)
    merged = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(float)
    weight = mask[..., None] / 255
    assert np.abs(merged - (photo * weight + 255 * (1 - weight))).max() <= 1


def test_a_background_colour_is_a_layer_beneath_at_its_opacity(photo: np.ndarray,
                                                                mask: np.ndarray):
    data = masked_document(photo, mask, background=(20, 200, 20, 0.5))
    doc = PSDImage.open(io.BytesIO(data))
    assert [layer.name for layer in doc] == ["Background", "Subject"]
    assert (_rgb(doc[0]) == (20, 200, 20)).all() and doc[0].opacity == 128
    merged = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    backdrop = np.array((20, 200, 20)) * 128 / 255 + 255 * (1 - 128 / 255)
    assert np.abs(merged[0, 0] - backdrop).max() <= 1, "merged: the colour's opacity over white"
    assert np.array_equal(merged[30, 40], photo[30, 40])


def test_encode_writes_a_one_layer_psd_with_transparency(photo: np.ndarray, mask: np.ndarray):
    data = encode(np.dstack([photo, mask]), "psd")
    assert data[:4] == b"8BPS" and extension("psd") == ".psd"
    (layer,) = PSDImage.open(io.BytesIO(data))
    rgba = np.rint(layer.numpy() * 255).astype(np.uint8)
    assert np.array_equal(rgba[..., 3], mask) and np.array_equal(rgba[30, 40, :3], photo[30, 40])
    grey = PSDImage.open(io.BytesIO(encode(mask, "psd")))
    assert np.array_equal(_rgb(grey[0])[..., 0], mask)


def test_refusals_are_one_line(photo: np.ndarray, mask: np.ndarray):
    with pytest.raises(InvalidParameterError, match="layer mask must be HxW"):
        masked_document(photo, mask[:30])
    wide = np.zeros((1, PSD_MAX_SIDE + 1), np.uint8)
    with pytest.raises(InvalidParameterError, match="limited to 30000 pixels"):
        masked_document(np.dstack([wide] * 3), wide)
