"""Every op option is bounded: no padding, canvas, size or inset can make an image over the
pixel cap (``LAMPYRIS_IMAGING_MAX_PIXELS``), refused when the parameters are validated where
the value alone decides it, else before the op allocates anything. And every op's parameters
validate back from their JSON dump, which is what a job row keeps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from lampyris.errors import InvalidParameterError
from lampyris.imaging import layout
from lampyris.imaging.layout import Length, lay_out
from lampyris.ops import CATALOG
from lampyris.ops.cutout import CutoutParams, shadowed
from lampyris.ops.expand import ExpandParams, expand
from lampyris.ops.fill import FillParams
from lampyris.ops.object_composite import CompositeParams


@pytest.fixture
def cap(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set the pixel cap for one test: ``cap(pixels)``; 100 MP (the default) to start with."""

    def set_cap(pixels: int) -> None:
        monkeypatch.setattr(layout, "pixel_limit", lambda: pixels)

    set_cap(100_000_000)
    return set_cap


@pytest.mark.parametrize(("padding", "words"), [
    ("6000", "padding 6000 px makes an image of 12001x12001 = 144,024,001 pixels; the limit "
             "is 100,000,000 pixels"),
    ("1e9", "padding 1e+09 px makes an image of 2000000001x2000000001"),
    (5000, "padding 5000 px makes an image of 10001x10001"),
    ("501%", "padding must be at most 500%"),
])
def test_padding_over_the_cap_is_refused(cap: Any, padding: Any, words: str) -> None:
    with pytest.raises(ValidationError, match="padding") as info:
        CutoutParams(padding=padding)
    assert words in str(info.value)


@pytest.mark.parametrize("padding", ["4999", "500%", "0", "6%"])
def test_padding_within_the_cap_is_taken(cap: Any, padding: str) -> None:
    assert CutoutParams(padding=padding).padding == Length.parse(padding)


def test_the_cap_is_the_servers_setting(cap: Any) -> None:
    cap(1_000_000)
    with pytest.raises(ValidationError, match="the limit is 1,000,000 pixels"):
        CutoutParams(padding="500")
    assert CutoutParams(padding="499").padding == Length(499.0)


@pytest.mark.parametrize(("model", "field"), [
    (CutoutParams, "canvas"), (FillParams, "size"), (ExpandParams, "size"),
])
def test_canvases_and_sizes_over_the_cap_are_refused(cap: Any, model: type[BaseModel],
                                                     field: str) -> None:
    with pytest.raises(ValidationError, match="makes an image of 16000x16000"):
        model.model_validate({field: "16000x16000"})
    assert model.model_validate({field: "10000x10000"})


def test_composite_size_and_insets_are_bounded(cap: Any) -> None:
    with pytest.raises(ValidationError, match="the limit is"):
        CompositeParams(prompt="a table", size=(16000, 16000))
    for model in (CompositeParams, ExpandParams):
        with pytest.raises(ValidationError, match="less than or equal to 16384"):
            model.model_validate({"prompt": "a table", "left": 10**9})


def test_percent_padding_is_checked_on_the_subject_before_allocating(cap: Any) -> None:
    layer = np.zeros((200, 200, 4), np.uint8)
    layer[10:190, 10:190] = 255
    cap(1_000_000)
    with pytest.raises(InvalidParameterError,
                       match="padding 500% makes an image of 1980x1980 = 3,920,400 pixels"):
        lay_out(layer, trim=True, padding=Length(500.0, True))
    assert lay_out(layer, trim=True, padding=Length(100.0, True)).pixels.shape == (540, 540, 4)
    with pytest.raises(InvalidParameterError, match="canvas 2000x2000"):
        lay_out(layer, canvas=(2000, 2000))  # a canvas given as a tuple skips validation


def test_expand_default_size_over_the_cap_is_refused(cap: Any) -> None:
    cap(1_000_000)
    picture = np.full((800, 800, 3), 128, np.uint8)
    with pytest.raises(InvalidParameterError, match=r"expanding to 1131x1131 .* give a smaller"):
        expand(picture, ExpandParams(engine="patch"))


@pytest.mark.parametrize(("op", "params"), [
    ("cutout", {"padding": " 6 % ", "canvas": "800x600", "background": "#ff000080",
                "shadow": True}),
    ("cutout", {"padding": 24, "mode": "mask", "mask_format": "binary"}),
    ("finish", {"shadow": True, "background": "white"}),
    ("edit", {"settings": {"exposure": 0.5}, "straighten": {"upright_mode": "level"},
              "orientation": 6}),
    ("auto_tone", {"strength": 0.5}),
    ("auto_straighten", {"upright_mode": "vertical"}),
    ("fill", {"prompt": "sand", "size": "640x480", "seed": 7}),
    ("expand", {"size": [1024, 768], "left": 10, "horizontal": "left"}),
    ("object_composite", {"prompt": "a marble table", "size": "1024x1024", "top": 5}),
])
def test_params_validate_back_from_their_json_dump(cap: Any, op: str,
                                                   params: dict[str, Any]) -> None:
    model = CATALOG[op].params
    validated = model.model_validate(params)
    dumped = validated.model_dump(mode="json", exclude_unset=True)
    assert model.model_validate(dumped) == validated
    assert set(dumped) == set(params)


def test_the_rows_a_shadow_adds_stay_within_the_cap(cap: Any) -> None:
    layer = np.zeros((1000, 1000, 4), np.uint8)
    layer[200:, 300:700] = 255  # a subject standing on the bottom edge: the shadow grows it
    cap(1_000_000)
    with pytest.raises(InvalidParameterError, match="the shadow makes an image of 1000x1064"):
        shadowed(layer, 0.45, grow=True)
    assert shadowed(layer, 0.45, grow=False).shape == layer.shape  # a fixed canvas never grows
    cap(2_000_000)
    assert shadowed(layer, 0.45, grow=True).shape == (1064, 1000, 4)
