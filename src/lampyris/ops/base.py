"""What an op is: a name, a pydantic parameter model and a pure function on pixels.

Ops know nothing of HTTP, jobs or storage, so the CLI, the batch runner and the server all
call the same code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from lampyris.errors import InvalidParameterError
from lampyris.imaging.decode import DecodedImage


@dataclass
class OpResult:
    """An op's output image and what it learned on the way (sizes, boxes, step timings)."""

    pixels: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    def plain_metadata(self) -> dict[str, Any]:
        """The metadata as plain JSON types (numpy scalars and arrays become lists and
        numbers), without the timings: what job results and ledgers store."""
        return {k: _plain(v) for k, v in self.metadata.items() if k != "timings"}


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass
class Timings:
    """Seconds per named step, recorded between steps of an op."""

    steps: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - start


@dataclass(frozen=True)
class Op:
    """A catalog entry. ``images``: the extra images the op reads, by keyword (a fill's
    ``mask``), so a pipeline hands each op only what it takes."""

    name: str
    params: type[BaseModel]
    run: Callable[..., OpResult]
    images: tuple[str, ...] = ()


def uint8_pixels(image: DecodedImage | np.ndarray, what: str) -> np.ndarray:
    """The pixels of ``image`` (decoded or an array), refused in one line unless they are
    HxWx3 or HxWx4 uint8: what every op that reads a photo's colours needs."""
    pixels = image.pixels if isinstance(image, DecodedImage) else image
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype != np.uint8:
        raise InvalidParameterError(f"{what} takes an HxWx3 or HxWx4 uint8 image")
    return pixels
