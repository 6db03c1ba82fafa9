"""The develop ops: Lightroom's auto tone, auto straighten and edit (settings and presets).

One pipeline serves all three, in Lightroom's order: straighten (geometry) → presets → auto tone
→ explicit settings on top → render. Each op returns the settings it applied, so a caller can
see (and reuse) what auto tone chose; Adobe's service returns only pixels.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lampyris.errors import InvalidParameterError
from lampyris.imaging.autotone import HouseLook, auto_white_balance, estimate
from lampyris.imaging.decode import DecodedImage, orient
from lampyris.imaging.straighten import straighten
from lampyris.imaging.tone import render as render_tone
from lampyris.imaging.tone_settings import ToneSettings
from lampyris.imaging.xmp import read_preset
from lampyris.ops.base import Op, OpResult, Timings

UprightMode = Literal["auto", "full", "level", "vertical"]


class StraightenParams(BaseModel):
    """Lightroom's Upright: ``level`` (horizon), ``vertical`` (verticals), ``full`` (both),
    ``auto`` (whichever the image shows best); ``constrain_crop`` cuts the empty corners."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    upright_mode: UprightMode = "auto"
    constrain_crop: bool = True


class AutoToneParams(BaseModel):
    """``look`` is a house look measured over a set (``--consistent``): every image is brought
    to it instead of being tuned alone. ``strength`` scales the chosen settings (0..1).
    ``mood`` trades the product default (colours kept, casts removed) for a photo look:
    vibrance and saturation pushed, casts under half a stop kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strength: float = Field(default=1.0, ge=0.0, le=1.0)
    look: HouseLook | None = None
    mood: bool = False


class EditParams(BaseModel):
    """Everything ``/lrService/edit``, ``/lrService/presets``, ``/lrService/xmp`` and
    Photoshop ``/v2/edit`` can ask for. ``presets`` are XMP documents (their text), applied in
    order; ``settings`` fields that differ from the defaults override the presets and auto.
    ``orientation`` (EXIF 1..8) flips and/or turns the picture first, as ``/lrService/xmp``'s
    option does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    settings: ToneSettings = ToneSettings()
    presets: list[str] = Field(default_factory=list, max_length=10)
    auto_tone: bool = False
    look: HouseLook | None = None
    straighten: StraightenParams | None = None
    orientation: int = Field(default=1, ge=1, le=8)


def _pixels(image: DecodedImage | np.ndarray) -> np.ndarray:
    pixels = image.pixels if isinstance(image, DecodedImage) else image
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype != np.uint8:
        raise InvalidParameterError("develop ops take an HxWx3 or HxWx4 uint8 image")
    return pixels


def develop(image: DecodedImage | np.ndarray, params: EditParams, *, render: bool = True
            ) -> OpResult:
    """Straighten, then tone: the one pipeline behind every develop op. ``render=False``
    returns the settings over the unrendered (straightened) pixels: for a caller that keeps
    only the settings (an XMP sidecar)."""
    pixels = _pixels(image)
    timings = Timings()
    meta: dict[str, Any] = {}
    if params.orientation != 1:
        pixels = orient(pixels, params.orientation)
    if params.straighten is not None:
        with timings.step("straighten"):
            pixels, meta["straighten"] = straighten(
                pixels, params.straighten.upright_mode,
                constrain_crop=params.straighten.constrain_crop,
            )
    with timings.step("settings"):
        chosen: dict[str, Any] = {}
        applied_presets = []
        for text in params.presets:
            preset = read_preset(text)
            chosen.update(preset.settings)
            applied_presets.append({"name": preset.name, "unsupported": preset.unsupported})
        if params.auto_tone:
            chosen.update(estimate(pixels, look=params.look).changed())
        chosen.update(params.settings.changed())
        if chosen.get("white_balance") == "Auto":
            chosen.update(auto_white_balance(pixels), white_balance="As Shot")
        settings = ToneSettings.model_validate(chosen)
    if applied_presets:
        meta["presets"] = applied_presets
    if render:
        with timings.step("render"):
            pixels = render_tone(pixels, settings)
    meta["settings"] = settings.changed()
    meta["timings"] = timings.steps
    return OpResult(pixels, meta)


def auto_tone(image: DecodedImage | np.ndarray, params: AutoToneParams | None = None, *,
              render: bool = True) -> OpResult:
    """Lightroom's Auto: settings estimated from the image (or toward a house look)."""
    params = params or AutoToneParams()
    pixels = _pixels(image)
    timings = Timings()
    with timings.step("estimate"):
        settings = estimate(pixels, look=params.look, strength=params.strength,
                            mood=params.mood)
    if render:
        with timings.step("render"):
            pixels = render_tone(pixels, settings)
    return OpResult(pixels, {"settings": settings.changed(), "timings": timings.steps})


def auto_straighten(
    image: DecodedImage | np.ndarray, params: StraightenParams | None = None, *,
    render: bool = True,
) -> OpResult:
    """Lightroom's Upright, without tone changes."""
    params = params or StraightenParams()
    return develop(image, EditParams(straighten=params), render=render)


AUTO_TONE = Op("auto_tone", AutoToneParams, auto_tone)
AUTO_STRAIGHTEN = Op("auto_straighten", StraightenParams, auto_straighten)
EDIT = Op("edit", EditParams, develop)
