"""The generate ops: a picture from a prompt (Firefly's ``generateImages``) and variations of a
reference picture (``generateSimilarImages``), on the operator's text-to-image weights.

Like every op they take an image: ``generate`` paints a whole canvas (its pixels are not read;
its size is the output's unless ``size`` says otherwise), so the server, a batch or the CLI
runs it through the one pipeline like a fill whose mask is everything. ``generate_similar``
starts from the reference it is given.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lampyris.imaging.composite import over_background
from lampyris.imaging.decode import DecodedImage
from lampyris.imaging.fill.text_to_image import generate_image, similar_image
from lampyris.ops.base import Op, OpResult, Timings
from lampyris.ops.cutout import parse_canvas
from lampyris.ops.fill import fill_metadata, pixels_of

ContentClass = Literal["photo", "art"]
# Firefly's contentClass steers toward a photograph or an artwork; a diffusers model takes it
# as words at the end of the prompt.
_CONTENT_WORDS: dict[str, str] = {"photo": "a photograph", "art": "an artwork"}


class _Sized(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    size: tuple[int, int] | None = None  # (width, height); None: the input's size

    _size = field_validator("size", mode="before")(
        lambda v: None if v is None else parse_canvas(v)
    )


class GenerateParams(_Sized):
    """``content_class`` adds Firefly's photo/art direction to the prompt."""

    prompt: str = Field(min_length=1, max_length=1024)
    negative_prompt: str = Field(default="", max_length=1024)
    content_class: ContentClass | None = None


class GenerateSimilarParams(_Sized):
    """Variations of the input; ``prompt`` (not Adobe's) may steer them."""

    prompt: str = Field(default="", max_length=1024)


def _size(params: _Sized, pixels: np.ndarray) -> tuple[int, int]:
    return params.size or (int(pixels.shape[1]), int(pixels.shape[0]))


def generate(image: DecodedImage | np.ndarray, params: GenerateParams) -> OpResult:
    """A picture of ``params.prompt`` the size of ``image`` (or ``params.size``)."""
    pixels = pixels_of(image)
    prompt = params.prompt
    if params.content_class is not None:
        prompt = f"{prompt}, {_CONTENT_WORDS[params.content_class]}"
    timings = Timings()
    with timings.step("generate"):
        rgb, info = generate_image(prompt, _size(params, pixels),
                                   negative_prompt=params.negative_prompt, seed=params.seed)
    return OpResult(rgb, fill_metadata(info, timings, content_class=params.content_class))


def generate_similar(image: DecodedImage | np.ndarray, params: GenerateSimilarParams) -> OpResult:
    """A variation of ``image`` at its size (or ``params.size``); transparency is seen on
    white."""
    pixels = pixels_of(image)
    if pixels.shape[2] == 4:
        pixels = over_background(pixels, (255, 255, 255, 1.0))
    timings = Timings()
    with timings.step("generate"):
        rgb, info = similar_image(np.ascontiguousarray(pixels), _size(params, pixels),
                                  prompt=params.prompt, seed=params.seed)
    return OpResult(rgb, fill_metadata(info, timings))


GENERATE = Op("generate", GenerateParams, generate)
GENERATE_SIMILAR = Op("generate_similar", GenerateSimilarParams, generate_similar)
