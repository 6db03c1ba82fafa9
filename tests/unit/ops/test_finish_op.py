"""The finish op: a cutout layer's shadow and background, on their own."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from lampyris.errors import InvalidParameterError
from lampyris.ops import run


def layer() -> np.ndarray:
    """A grey square, opaque, standing on the bottom edge of a transparent 100x100 layer."""
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[40:100, 30:70] = (120, 120, 120, 255)
    return rgba


def test_shadow_then_background() -> None:
    out = run("finish", layer(), {"shadow": True, "background": "white"}).pixels
    assert out.shape[0] > 100 and out.shape[1:] == (100, 3)  # grown for the shadow below
    assert (out[70, 50] == 120).all() and (out[5, 5] == 255).all()
    assert out[100, 50].max() < 200  # the shadow under the subject


def test_a_fixed_canvas_does_not_grow_and_no_background_keeps_alpha() -> None:
    out = run("finish", layer(), {"shadow": True, "grow": False}).pixels
    assert out.shape == (100, 100, 4)
    assert np.array_equal(run("finish", layer(), {}).pixels, layer())


@pytest.mark.parametrize("params", [{"background": "nope"}, {"shadow_opacity": 2}])
def test_bad_params_are_refused(params: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match=next(iter(params))):
        run("finish", layer(), params)


def test_only_a_layer_with_alpha_is_taken() -> None:
    with pytest.raises(InvalidParameterError, match="HxWx4"):
        run("finish", layer()[..., :3], {})
