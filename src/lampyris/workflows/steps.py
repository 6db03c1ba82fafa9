"""Batch steps: the declared chain an image goes through, and the fingerprint of it.

A step is an op from the catalog with its parameters; the chain decodes once, runs each step
on the pixels in order, and encodes once. Steps that are not built yet (``fill``,
``auto_tone``) are known by name so a workflow that names them fails early and clearly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from lampyris.errors import InvalidParameterError
from lampyris.imaging.encode import OutputFormat, extension
from lampyris.ops import CATALOG

# step name → op name; the seam where fill and auto tone plug in when their ops land.
STEPS: dict[str, str] = {"cutout": "cutout"}
PLANNED = {"fill": "generative fill (issue 6)", "auto_tone": "auto tone (issue 5)"}


@dataclass(frozen=True)
class Step:
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def op(self) -> str:
        return STEPS[self.name]


@dataclass(frozen=True)
class OutputSpec:
    """How the last step's pixels are written."""

    format: OutputFormat = "png"
    quality: int | None = None
    lossless: bool = False

    @property
    def extension(self) -> str:
        """Without the dot: ``png``, ``jpg``, ``webp``."""
        return extension(self.format).lstrip(".")


def make_steps(chain: list[tuple[str, dict[str, Any]]]) -> list[Step]:
    """Validate a chain: every step exists and its parameters pass the op's model."""
    if not chain:
        raise InvalidParameterError("a workflow needs at least one step")
    steps = []
    for name, params in chain:
        if name in PLANNED:
            raise InvalidParameterError(
                f"step {name!r} is not available in this version: {PLANNED[name]} is not "
                f"built yet; available steps: {', '.join(STEPS)}")
        if name not in STEPS:
            raise InvalidParameterError(f"unknown step {name!r}: one of {', '.join(STEPS)}")
        try:
            CATALOG[STEPS[name]].params.model_validate(params)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                 for e in exc.errors())
            raise InvalidParameterError(f"step {name!r}: {problems}") from None
        steps.append(Step(name, dict(params)))
    return steps


def check_output(steps: list[Step], output: OutputSpec) -> None:
    """Refuse, before any input is read, a chain whose result the format cannot hold."""
    last = steps[-1]
    if (output.format == "jpeg" and last.name == "cutout"
            and last.params.get("mode", "cutout") == "cutout"
            and last.params.get("background") is None):
        raise InvalidParameterError(
            "JPEG has no transparency: give the cutout a background colour (--background), "
            "or write png/webp")


def fingerprint(steps: list[Step], output: OutputSpec) -> str:
    """Changes whenever the result would: any step, parameter or output setting."""
    blob = json.dumps({"steps": [[s.name, s.params] for s in steps],
                       "output": output.__dict__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
