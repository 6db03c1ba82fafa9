"""The depth blur op: Photoshop's ``depthBlur`` (the SDK's ``applyDepthBlur``) without a depth
model: the subject the cutout matte finds stays sharp, the rest is blurred and adjusted
(``imaging/depth_blur.py``).

``focal_distance`` and ``focal_selector`` choose a depth to focus on in Photoshop; with no
depth map they cannot mean anything here, so they are accepted, reported in a notice when
set, and the subject is the focus whatever ``focus_subject`` says.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lampyris.imaging.decode import DecodedImage
from lampyris.imaging.depth_blur import BlurSettings, blur_background
from lampyris.imaging.layout import subject_box
from lampyris.models import MattingSession
from lampyris.models.session import MirrorPass
from lampyris.ops.base import Op, OpResult, Timings, uint8_pixels
from lampyris.ops.cutout import predict_matte


class DepthBlurParams(BaseModel):
    """Adobe's ``DepthBlurDetails`` in snake case, with its ranges and defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    focal_distance: int = Field(default=0, ge=0, le=100)
    focal_range: int = Field(default=0, ge=0, le=100)
    focal_selector: tuple[float, float] | None = None
    focus_subject: bool = False
    blur_strength: int = Field(default=50, ge=0, le=100)
    haze: int = Field(default=0, ge=0, le=100)
    temp: int = Field(default=0, ge=-50, le=50)
    tint: int = Field(default=0, ge=-50, le=50)
    saturation: int = Field(default=0, ge=-50, le=50)
    brightness: int = Field(default=0, ge=-50, le=50)
    grain: int = Field(default=0, ge=0, le=100)
    model: str = Field(default="u2netp", min_length=1, max_length=4096)
    mirror_pass: MirrorPass = "auto"

    def settings(self) -> BlurSettings:
        return BlurSettings(strength=self.blur_strength, focal_range=self.focal_range,
                            haze=self.haze, temperature=self.temp, tint=self.tint,
                            saturation=self.saturation, brightness=self.brightness,
                            grain=self.grain)


IGNORED_NOTICE = ("focalDistance and focalSelector need a depth map, which lampyris does not "
                  "estimate: the subject found by the cutout matte is in focus instead")


def depth_blur(
    image: DecodedImage | np.ndarray,
    params: DepthBlurParams | None = None,
    *,
    session: MattingSession | None = None,
) -> OpResult:
    """Blur ``image``'s background around its subject; an input's alpha is kept."""
    params = params or DepthBlurParams()
    pixels = uint8_pixels(image, "depth blur")
    timings = Timings()
    with timings.step("matte"):
        alpha = predict_matte(pixels, model=params.model, session=session,
                              mirror_pass=params.mirror_pass)
    with timings.step("blur"):
        rgb, sigma = blur_background(np.ascontiguousarray(pixels[..., :3]), alpha,
                                     params.settings(),
                                     pixels[..., 3] if pixels.shape[2] == 4 else None)
    out = rgb if pixels.shape[2] == 3 else np.concatenate([rgb, pixels[..., 3:]], axis=2)
    meta: dict[str, Any] = {"model": params.model, "subject_box": list(subject_box(alpha)),
                            "blur_sigma": round(sigma, 2), "timings": timings.steps}
    if not params.focus_subject and (params.focal_distance or params.focal_selector):
        meta["notices"] = [IGNORED_NOTICE]
    return OpResult(out, meta)


OP = Op("depth_blur", DepthBlurParams, depth_blur)
