"""The develop ops through the catalog: what the server, the CLI and batches call."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from lampyris.errors import InvalidParameterError
from lampyris.imaging.tone_settings import ToneSettings
from lampyris.imaging.xmp import write_xmp
from lampyris.ops import CATALOG, run
from support.photos import luminance, photo


def test_the_catalog_has_the_develop_ops() -> None:
    assert {"auto_tone", "auto_straighten", "edit"} <= set(CATALOG)


def test_auto_tone_reports_the_settings_it_chose() -> None:
    dark = photo(stops=-2.0)
    result = run("auto_tone", dark)
    settings = result.plain_metadata()["settings"]
    assert settings["exposure"] > 0.7 and "timings" not in result.plain_metadata()
    assert luminance(result.pixels).mean() > 2 * luminance(dark).mean()


def test_edit_applies_presets_in_order_and_explicit_settings_last() -> None:
    img = photo(stops=-1.0)
    first = write_xmp(ToneSettings(exposure=1.0, contrast=20)).decode()
    second = write_xmp(ToneSettings(contrast=-30, vibrance=10)).decode()
    result = run("edit", img, {"presets": [first, second], "settings": {"vibrance": 40}})
    meta = result.plain_metadata()
    assert meta["settings"] == {"exposure": 1.0, "contrast": -30.0, "vibrance": 40.0}
    assert len(meta["presets"]) == 2
    assert luminance(result.pixels).mean() > 1.6 * luminance(img).mean()


def test_edit_resolves_auto_white_balance() -> None:
    blue = photo(cast=(0.7, 1.0, 1.4))
    meta = run("edit", blue, {"settings": {"white_balance": "Auto"}}).plain_metadata()
    assert meta["settings"]["temperature"] > 10


def test_edit_with_auto_tone_and_straighten() -> None:
    img = photo(stops=-1.5)
    result = run("edit", img, {"auto_tone": True, "straighten": {"upright_mode": "level"},
                               "settings": {"exposure": 0.5}})
    meta = result.plain_metadata()
    assert meta["settings"]["exposure"] == 0.5, "explicit settings override auto"
    assert meta["straighten"]["angle"] == 0  # the generated horizon is level already
    assert "blacks" in meta["settings"], "auto's other choices stay"


def test_bad_parameters_are_refused() -> None:
    img = photo()
    with pytest.raises(ValidationError):
        run("edit", img, {"settings": {"exposure": 9}})
    with pytest.raises(ValidationError):
        run("auto_straighten", img, {"upright_mode": "sideways"})
    with pytest.raises(InvalidParameterError):
        run("edit", img, {"presets": ["<x>not a preset</x>"]})
    with pytest.raises(InvalidParameterError):
        run("auto_tone", img.astype(np.uint16))


def test_auto_tone_mood_pushes_colour_where_the_default_does_not() -> None:
    img = photo(stops=-1.0)
    default = run("auto_tone", img).plain_metadata()["settings"]
    mood = run("auto_tone", img, {"mood": True}).plain_metadata()["settings"]
    assert default.get("saturation", 0.0) <= 0.0
    assert default.get("vibrance", 0.0) + default.get("saturation", 0.0) <= 0.0
    assert mood["vibrance"] > 0 and mood["saturation"] > 0
