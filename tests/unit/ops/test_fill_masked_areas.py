"""The fill-masked-areas op: several masks united and filled by the fill engines (``patch`` by
default), outside them the input's exact pixels, and the fidelity guard's refusal."""

from __future__ import annotations

import numpy as np
import pytest

from lampyris.errors import FidelityError, InvalidParameterError
from lampyris.ops import run
from support.fill_scenes import hole, hole_mask, leak_one_pixel, scene


def _box_mask(rows: slice, cols: slice) -> np.ndarray:
    mask = np.zeros((240, 320), np.uint8)
    mask[rows, cols] = 255
    return mask


def test_two_masks_are_removed_and_the_rest_is_the_input():
    photo = scene()
    disc = _box_mask(slice(40, 180), slice(120, 260))
    result = run("fill_masked_areas", photo, {}, mask=hole_mask(), mask_2=disc)
    out = result.pixels
    kept = (hole_mask() == 0) & (disc == 0)
    assert np.array_equal(out[kept], photo[kept])
    assert result.metadata["engine"] == "patch" and result.metadata["masks"] == 2
    assert result.metadata["fidelity"]["held"] is True
    # the blue box and the red disc are gone: the filled areas take the grey ground's colours
    for area in (out[hole()], out[40:180, 120:260]):
        assert np.abs(area.astype(int) - 232).max(axis=-1).mean() < 20


def test_one_mask_is_the_fill_of_it():
    photo = scene()
    alone = run("fill_masked_areas", photo, {"seed": 3}, mask=hole_mask()).pixels
    fill = run("fill", photo, {"engine": "patch", "seed": 3}, mask=hole_mask()).pixels
    assert np.array_equal(alone, fill)


@pytest.mark.parametrize(("masks", "words"), [
    ({}, "needs at least one mask"),
    ({"mask": hole_mask(), "mask_2": np.zeros((120, 160), np.uint8)},
     "mask 2 is 160x120 but mask 1 is 320x240"),
    ({"mask_17": hole_mask()}, "at most 16 masks"),
    ({"mask": np.zeros((240, 320), np.uint8)}, "the mask is empty"),
])
def test_masks_it_refuses(masks: dict[str, np.ndarray], words: str):
    with pytest.raises(InvalidParameterError, match=words):
        run("fill_masked_areas", scene(), {}, **masks)


def test_a_fill_the_guard_refuses_fails(monkeypatch: pytest.MonkeyPatch):
    leak_one_pixel(monkeypatch)
    with pytest.raises(FidelityError):
        run("fill_masked_areas", scene(), {}, mask=hole_mask())
