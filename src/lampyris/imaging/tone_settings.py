"""Lightroom's develop settings, as one validated value every entry point shares.

Names and ranges follow Lightroom (the ``crs:`` XMP names, the ``/lrService/edit`` options and
Photoshop ``/v2/edit``'s ``edits``), in snake case. Zero everywhere means "leave the image
alone": the renderer is the identity for ``ToneSettings()``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

WhiteBalance = Literal[
    "As Shot", "Auto", "Cloudy", "Custom", "Daylight", "Flash", "Fluorescent", "Shade", "Tungsten",
]

Slider = Field(default=0.0, ge=-100.0, le=100.0)


class ToneSettings(BaseModel):
    """Exposure in EV; every other slider on Lightroom's scale (-100..100 unless noted).

    ``temperature`` and ``tint`` are Lightroom's incremental sliders for rendered files
    (-100..100: warmer / more magenta when positive). ``white_balance`` names a preset that
    sets them, as Lightroom's menu does; ``"Auto"`` estimates them from the image.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    exposure: float = Field(default=0.0, ge=-5.0, le=5.0)
    contrast: float = Slider
    highlights: float = Slider
    shadows: float = Slider
    whites: float = Slider
    blacks: float = Slider
    white_balance: WhiteBalance = "As Shot"
    temperature: float = Slider
    tint: float = Slider
    vibrance: float = Slider
    saturation: float = Slider
    clarity: float = Slider
    dehaze: float = Slider
    texture: float = Slider
    vignette: float = Slider
    sharpness: float = Field(default=0.0, ge=0.0, le=150.0)
    sharpen_radius: float = Field(default=1.0, ge=0.5, le=3.0)
    sharpen_detail: float = Field(default=25.0, ge=0.0, le=100.0)
    sharpen_edge_masking: float = Field(default=0.0, ge=0.0, le=100.0)
    noise_reduction: float = Field(default=0.0, ge=0.0, le=100.0)
    color_noise_reduction: float = Field(default=0.0, ge=0.0, le=100.0)

    def merged(self, **changes: Any) -> ToneSettings:
        """These settings with ``changes`` on top, validated again."""
        return ToneSettings.model_validate({**self.model_dump(), **changes})

    def changed(self) -> dict[str, Any]:
        """Only the settings that differ from the defaults: what a job result reports."""
        default = ToneSettings()
        return {k: v for k, v in self.model_dump().items() if getattr(default, k) != v}

    @property
    def is_identity(self) -> bool:
        return not self.changed()
