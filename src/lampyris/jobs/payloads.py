"""A job's payloads, typed: what was asked (``Task``) and what came of it (``TaskResult``).

Both are stored as JSON in the job row and read back by the worker and the routes alike, so
they live apart from the code that runs them (no imaging here). A failure is
``failure.Failure``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from lampyris.storage.base import StorageRef


class Task(BaseModel):
    """One op over one image. ``output`` is a user's storage reference, or ``None`` when the
    server hosts the result itself under ``hosted_prefix`` (Photoshop v2, Firefly).
    ``media_type`` ``None`` keeps the input's format where we can write it, PNG otherwise.
    ``quality`` (JPEG/WebP, 1..100) and ``png_compression`` (zlib 0..9) ``None`` leave the
    encoder's defaults. ``attachments`` are documents the op reads as text parameters
    (Lightroom presets): each list becomes ``params[name]``. ``images`` are more images the
    op reads (a fill mask), passed as the keyword argument ``name``. ``seeds``: one output per
    seed (Firefly's variations), the input decoded once; ``None`` = one run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: str
    input: StorageRef
    params: dict[str, Any] = {}
    output: StorageRef | None = None
    hosted_prefix: str | None = None
    media_type: str | None = None
    attachments: dict[str, list[StorageRef]] = {}
    quality: int | None = None
    png_compression: int | None = None
    images: dict[str, StorageRef] = {}
    seeds: list[int] | None = None


class TaskOutput(BaseModel):
    """One delivered output; ``key`` is set when the server hosts it, ``seed`` and
    ``metadata`` for one of several variations."""

    mediaType: str  # the wire's spelling, read back by the routes
    width: int
    height: int
    bytes: int
    key: str | None = None
    seed: int | None = None
    metadata: dict[str, Any] | None = None


class TaskResult(BaseModel):
    """What a job's result row holds: its outputs and what the op reported."""

    outputs: list[TaskOutput]
    metadata: dict[str, Any]

    def dump(self) -> dict[str, Any]:
        """Plain JSON for the job row (a single output carries no seed or metadata)."""
        return self.model_dump(exclude={"outputs": {i: ({"seed", "metadata"} if o.seed is None
                                                         else set())
                                                     for i, o in enumerate(self.outputs)}})


NO_RESULT = TaskResult(outputs=[], metadata={})
