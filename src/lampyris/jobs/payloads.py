"""A job's payloads, typed: what was asked (``Task``) and what came of it (``TaskResult``).

Both are stored as JSON in the job row and read back by the worker and the routes alike, so
they live apart from the code that runs them (no imaging here). A failure is
``failure.Failure``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from lampyris.storage.base import StorageRef


class TaskTarget(BaseModel):
    """One of several outputs a job writes from one render (a v2 edit's JPEG and its XMP
    sidecar): the fields of ``Task``'s single output, per output. ``output`` ``None``: hosted
    under the task's ``hosted_prefix``. ``width`` / ``max_width`` (0: none): this output
    resized (a Photoshop rendition's size, ``OutputSpec.width``); ``region``: cut to one of the
    boxes the op reported (``OutputSpec.region``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    media_type: str | None = None
    quality: int | None = None
    png_compression: int | None = None
    output: StorageRef | None = None
    width: int = 0
    max_width: int = 0
    region: int | None = None


class Task(BaseModel):
    """One op over one image. ``output`` is a user's storage reference, or ``None`` when the
    server hosts the result itself under ``hosted_prefix`` (Photoshop v2, Firefly).
    ``media_type`` ``None`` keeps the input's format where we can write it, PNG otherwise.
    ``quality`` (JPEG/WebP, 1..100) and ``png_compression`` (zlib 0..9) ``None`` leave the
    encoder's defaults. ``targets``, when given, are the outputs instead (each its own format
    and destination, all from one render). ``attachments`` are documents the op reads as text
    parameters (Lightroom presets): each list becomes ``params[name]``. ``images`` are more
    images the op reads (a fill mask), passed as the keyword argument ``name``. ``seeds``: one
    output per seed (Firefly's variations), the input decoded once; ``None`` = one run.
    ``layer_mask``: the op's mask becomes the layer mask of the photo in a PSD (v2
    remove-background's ``psd`` mode), over a layer of the ``backdrop`` colour if one is given.
    """

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
    targets: list[TaskTarget] = []
    layer_mask: bool = False
    backdrop: tuple[int, int, int, float] | None = None

    def all_targets(self) -> list[TaskTarget]:
        """The outputs to write: ``targets``, or the one the single-output fields describe."""
        return self.targets or [TaskTarget(media_type=self.media_type, quality=self.quality,
                                           png_compression=self.png_compression,
                                           output=self.output)]


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
