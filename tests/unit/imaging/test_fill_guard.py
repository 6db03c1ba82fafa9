"""The fidelity guard: exact outside the mask, feathering stays inside, counts reported."""

from __future__ import annotations

import numpy as np
import pytest

from lampyris.errors import InvalidParameterError
from lampyris.imaging.fill.guard import check, enforce


def _case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    filled = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)  # changed everywhere
    mask = np.zeros((40, 50), np.uint8)
    mask[10:30, 15:35] = 255
    return original, filled, mask


@pytest.mark.parametrize("feather", [0, 1, 4, 50])
def test_outside_is_restored_exactly(feather: int) -> None:
    original, filled, mask = _case()
    out = enforce(original, filled, mask, feather=feather)
    outside = mask == 0
    assert np.array_equal(out[outside], original[outside])
    assert check(original, out, mask) == {
        "held": True,
        "changed_outside": 0,
        "max_difference_outside": 0,
    }


def test_without_feather_the_hole_is_the_fill() -> None:
    original, filled, mask = _case()
    out = enforce(original, filled, mask)
    assert np.array_equal(out[mask > 0], filled[mask > 0])


def test_feather_blends_the_rim_and_keeps_the_centre() -> None:
    original = np.zeros((40, 40, 3), np.uint8)
    filled = np.full((40, 40, 3), 200, np.uint8)
    mask = np.zeros((40, 40), bool)
    mask[10:30, 10:30] = True
    out = enforce(original, filled, mask, feather=4)
    assert 0 < out[10, 20, 0] < 100  # rim: mostly the original
    assert out[20, 20, 0] == 200  # centre: the fill
    assert np.all(out[~mask] == 0)


def test_grey_images_and_bool_masks() -> None:
    original = np.zeros((8, 8), np.uint8)
    filled = np.full((8, 8), 9, np.uint8)
    mask = np.zeros((8, 8), bool)
    mask[2:4, 2:4] = True
    out = enforce(original, filled, mask, feather=1)
    assert check(original, out, mask)["held"]


def test_check_counts_changed_pixels() -> None:
    original, _, mask = _case()
    output = original.copy()
    output[0, 0] = original[0, 0] ^ 1  # channel differences of 1
    output[39, 49, 2] = original[39, 49, 2] // 2 if original[39, 49, 2] > 1 else 77
    output[20, 20] = 0  # inside the mask: not counted
    report = check(original, output, mask)
    assert report["held"] is False
    assert report["changed_outside"] == 2
    expected = abs(int(original[39, 49, 2]) - int(output[39, 49, 2]))
    assert report["max_difference_outside"] == max(1, expected)


def test_empty_mask_gives_the_original() -> None:
    original, filled, _ = _case()
    mask = np.zeros(original.shape[:2], bool)
    assert np.array_equal(enforce(original, filled, mask, feather=3), original)


def test_shape_mismatches_are_refused() -> None:
    original, filled, mask = _case()
    with pytest.raises(InvalidParameterError, match="mask is 5x5"):
        enforce(original, filled, np.zeros((5, 5), bool))
    with pytest.raises(InvalidParameterError, match="differ in shape"):
        check(original, filled[:10], mask)
    with pytest.raises(InvalidParameterError, match="feather"):
        enforce(original, filled, mask, feather=-1)
