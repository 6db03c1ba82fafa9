"""What a model is, as data: adding a model is a row in the registry, not a new class."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lampyris.models.sources import Source

Scaling = Literal["max", "unit"]
"""How pixels become floats before mean/std: ``max`` divides by the image's own maximum (the
U²-Net training recipe, which rembg keeps), ``unit`` divides by 255."""


@dataclass(frozen=True)
class Normalisation:
    """Input normalisation of a matting network: ``(x / scale - mean) / std`` per channel."""

    scaling: Scaling = "max"
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)


NORMALISATIONS: dict[str, Normalisation] = {
    "u2net": Normalisation(),
    "imagenet": Normalisation(scaling="unit"),
    "half": Normalisation(scaling="unit", mean=(0.5, 0.5, 0.5), std=(1.0, 1.0, 1.0)),
}
"""Named presets for custom ONNX files: U²-Net, ImageNet-style (BiRefNet), IS-Net style."""


@dataclass(frozen=True)
class ModelSpec:
    """A salient-object / matting network: where its file comes from and how to feed it.

    ``sha256`` is required for registry models (verified before first use) and optional for
    a custom file given by path, where the user vouches for the file.
    """

    name: str
    input_size: tuple[int, int]
    normalisation: Normalisation = field(default_factory=Normalisation)
    sha256: str | None = None
    size_bytes: int | None = None
    sources: tuple[Source, ...] = ()
    output: Literal["probability", "logits"] = "probability"
    min_max: bool = True
    licence: str = ""
    description: str = ""

    @property
    def filename(self) -> str:
        """Name of the file in the model cache."""
        return f"{self.name}.onnx"
