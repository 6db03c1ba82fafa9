"""patch_fill on generated pixels: structure continues into the hole, the guard holds."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lampyris.errors import InvalidParameterError
from lampyris.imaging.fill.guard import check
from lampyris.imaging.fill.patch import patch_fill

SIZE = 96
HOLE = (slice(32, 64), slice(32, 64))
COLOURS = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200], [220, 220, 40]], np.uint8)


def _mask() -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[HOLE] = 255
    return mask


def _stripes() -> np.ndarray:
    rows = COLOURS[(np.arange(SIZE) // 6) % 4]
    return np.ascontiguousarray(np.broadcast_to(rows[:, None, :], (SIZE, SIZE, 3)))


def _checks() -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    cells = ((yy // 8) + (xx // 8)) % 2
    return np.where(cells[..., None] == 1, COLOURS[0], COLOURS[2]).astype(np.uint8)


def _noise(seed: int = 3) -> np.ndarray:
    small = np.random.default_rng(seed).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    return cv2.resize(small, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)


def _flat_fill_error(image: np.ndarray) -> float:
    outside_mean = image[_mask() == 0].astype(np.float64).mean(axis=0)
    return float(np.abs(image[HOLE].astype(np.float64) - outside_mean).mean())


@pytest.mark.parametrize("make", [_stripes, _checks], ids=["stripes", "checkerboard"])
def test_regular_structure_continues_into_the_hole(make) -> None:
    image = make()
    out = patch_fill(image, _mask(), seed=1)
    error = np.abs(out[HOLE].astype(np.float64) - image[HOLE]).mean()
    assert error < 0.2 * _flat_fill_error(image)


def test_stripes_keep_each_rows_colour() -> None:
    image = _stripes()
    out = patch_fill(image, _mask(), seed=2)
    row_means = out[HOLE].astype(np.float64).mean(axis=1)
    np.testing.assert_allclose(row_means, image[HOLE[0], 0].astype(np.float64), atol=20)


def test_gradient_continues() -> None:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    image = np.dstack([xx * 2, yy * 2, xx + yy]).clip(0, 255).astype(np.uint8)
    out = patch_fill(image, _mask(), seed=1)
    inner = out[HOLE].astype(np.float64)
    assert np.abs(inner - image[HOLE]).mean() < 0.7 * _flat_fill_error(image)
    # The fill meets its neighbours: the hole's rim differs little from the pixels beside it.
    assert np.abs(inner[:, 0] - image[32:64, 31]).mean() < 8
    assert np.abs(inner[0, :] - image[31, 32:64]).mean() < 8


def test_outside_the_mask_is_untouched() -> None:
    image = _noise()
    out = patch_fill(image, _mask(), seed=0)
    assert check(image, out, _mask())["held"]


def test_same_seed_same_fill_other_seed_other_fill() -> None:
    image = _noise()
    first = patch_fill(image, _mask(), seed=5)
    assert np.array_equal(first, patch_fill(image, _mask(), seed=5))
    assert not np.array_equal(first, patch_fill(image, _mask(), seed=6))


def test_alpha_passes_through() -> None:
    alpha = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE), dtype=np.uint8)
    image = np.dstack([_stripes(), alpha])
    out = patch_fill(image, _mask(), seed=0)
    assert np.array_equal(out[..., 3], alpha)
    assert np.abs(out[HOLE][..., :3].astype(np.int64) - image[HOLE][..., :3]).mean() < 10


def test_hole_on_the_image_edge() -> None:
    image = _stripes()
    mask = np.zeros((SIZE, SIZE), bool)
    mask[40:60, :20] = True
    out = patch_fill(image, mask, seed=0)
    assert np.abs(out[mask].astype(np.int64) - image[mask]).mean() < 10


def test_empty_mask_returns_the_input() -> None:
    image = _noise()
    assert np.array_equal(patch_fill(image, np.zeros((SIZE, SIZE), bool)), image)


def test_full_mask_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="nothing to copy from"):
        patch_fill(_noise(), np.ones((SIZE, SIZE), np.uint8))


def test_mask_of_another_size_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"mask is 10x20 .* image is 96x96"):
        patch_fill(_noise(), np.zeros((20, 10), np.uint8))


@pytest.mark.parametrize("patch_size", [2, 1, 8])
def test_bad_patch_size_is_refused(patch_size: int) -> None:
    with pytest.raises(InvalidParameterError, match="patch_size"):
        patch_fill(_noise(), _mask(), patch_size=patch_size)
