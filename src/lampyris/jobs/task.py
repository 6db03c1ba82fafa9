"""What a worker does with one job: fetch the input, render it, deliver the outputs.

Runs inside worker processes. The ``Task`` (``jobs.payloads``) is stored in the job row, so a
job re-run after a restart does exactly what was asked; the worker's storage and object-store
configuration arrive once, through ``WorkerEnv``. The pixels are the one pipeline's
(``ops.pipeline.render``); this module is only the I/O around it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lampyris.errors import InvalidParameterError, LampyrisError
from lampyris.failure import Failure, Stage
from lampyris.imaging.decode import decode
from lampyris.imaging.encode import OutputFormat
from lampyris.imaging.settings import ImagingSettings
from lampyris.jobs.payloads import Task, TaskOutput, TaskResult, TaskTarget
from lampyris.ops.pipeline import (
    PSD_MEDIA_TYPE,
    XMP_MEDIA_TYPE,
    Call,
    OutputSpec,
    Rendered,
    render_outputs,
)
from lampyris.storage import (
    ObjectStore,
    PresignedStorage,
    RoutedStorage,
    StorageRef,
    StorageSettings,
    open_object_store,
)
from lampyris.storage.base import Storage

__all__ = ["XMP_MEDIA_TYPE", "Task", "TaskFailure", "WorkerEnv", "execute", "output_format"]

MEDIA_TYPES: dict[str, OutputFormat] = {
    "image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp", PSD_MEDIA_TYPE: "psd",
}
_FORMAT_OF_INPUT: dict[str, OutputFormat] = {"JPEG": "jpeg", "MPO": "jpeg", "WEBP": "webp"}
_WHITE = (255, 255, 255, 1.0)


@dataclass(frozen=True)
class WorkerEnv:
    """A worker's view of the outside: storage limits and the server's object store."""

    storage: StorageSettings
    objects_dir: Path
    objects_secret: bytes
    objects_url: str | None = None
    objects_endpoint_url: str | None = None
    imaging: ImagingSettings = field(default_factory=ImagingSettings)

    def objects(self) -> ObjectStore:
        """The server's object store, where hosted results go and uploads are read from."""
        return open_object_store(self.objects_dir, self.objects_secret, self.objects_url,
                                 endpoint_url=self.objects_endpoint_url)


def output_format(media_type: str | None, input_format: str | None) -> OutputFormat:
    if media_type is None:
        return _FORMAT_OF_INPUT.get(input_format or "", "png")
    try:
        return MEDIA_TYPES[media_type]
    except KeyError:
        allowed = ", ".join(MEDIA_TYPES)
        raise InvalidParameterError(f"output media type {media_type!r}: one of {allowed}") from None


class TaskFailure(Exception):
    """A ``LampyrisError`` with the stage it happened in: ``input`` (fetching), ``image``
    (decoding, the op, encoding) or ``output`` (delivering), so the wire can say which link or
    file was at fault."""

    def __init__(self, stage: Stage, error: LampyrisError) -> None:
        super().__init__(str(error))
        self.stage = stage
        self.error = error

    def describe(self) -> dict[str, Any]:
        """The job row's ``error`` (``failure.Failure``, as JSON)."""
        return Failure.of(self.error, self.stage).record()


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidParameterError(f"{name}: the document is not UTF-8 text") from None


Progress = Callable[[int], None]
"""Told how far a job is, in percent: fetched 10, decoded 15, then each output rendered its
share up to 95 (the renders are the long part: one per seed); delivered is the job's end."""


def execute(task: Task, env: WorkerEnv, storage: Storage | None = None,
            progress: Progress | None = None) -> dict[str, Any]:
    """Run ``task``; returns the job result. Every expected failure (bad input, unreachable
    storage, refused URL…) raises ``TaskFailure``."""
    report = progress or (lambda _percent: None)
    refs = RoutedStorage(storage or PresignedStorage(env.storage), env.objects())
    seconds: dict[str, float] = {}
    stage: Stage = "input"
    try:
        start = time.perf_counter()
        data = refs.read(task.input).data
        more = {name: refs.read(ref).data for name, ref in task.images.items()}
        params = dict(task.params)
        for name, documents in task.attachments.items():
            params[name] = [_text(refs.read(ref).data, name) for ref in documents]
        seconds["fetch"] = time.perf_counter() - start
        report(10)

        stage = "image"
        start = time.perf_counter()
        image = decode(data, max_pixels=env.imaging.max_pixels)
        images = {name: decode(raw, max_pixels=env.imaging.max_pixels)
                  for name, raw in more.items()}
        del data, more
        targets = task.all_targets()
        specs = [_spec(task, target, image.format) for target in targets]
        seconds["decode"] = time.perf_counter() - start
        report(15)

        calls = [Call(task.op, task.op, params)]
        outputs, first = [], None
        runs: list[int | None] = [*task.seeds] if task.seeds else [None]
        for index, seed in enumerate(runs):
            stage = "image"
            renders = render_outputs(image, calls, specs, images=images, seed=seed)
            first = first or renders[0]
            report(15 + 80 * (index + 1) // len(runs))
            stage = "output"
            start = time.perf_counter()
            for number, (target, rendered) in enumerate(zip(targets, renders, strict=True)):
                name = "output"
                if task.seeds is not None:
                    name += f"-{index + 1}"
                if task.targets:
                    name += f"-{number + 1}"
                key = _deliver(refs, target, task.hosted_prefix, name, rendered)
                outputs.append(TaskOutput(
                    mediaType=rendered.media_type, width=rendered.size[0],
                    height=rendered.size[1], bytes=len(rendered.data), key=key, seed=seed,
                    metadata=None if seed is None else rendered.reports.get(task.op, {})))
            seconds["deliver"] = seconds.get("deliver", 0.0) + time.perf_counter() - start
    except LampyrisError as exc:
        raise TaskFailure(stage, exc) from exc

    assert first is not None
    metadata = first.op_metadata(task.op)
    metadata["timings"] = {**metadata["timings"], **seconds}
    return TaskResult(outputs=outputs, metadata=metadata).dump()


def _spec(task: Task, target: TaskTarget, input_format: str | None) -> OutputSpec:
    """How one output is written: an XMP sidecar alone, or the image in its format (a JPEG
    flattened on white; a layered PSD over the task's backdrop)."""
    if target.media_type == XMP_MEDIA_TYPE:
        return OutputSpec("png", sidecar="only")
    fmt = output_format(target.media_type, input_format)
    layered = task.layer_mask and fmt == "psd"
    return OutputSpec(fmt, quality=target.quality, png_compression=target.png_compression,
                      flatten=task.backdrop if layered else _WHITE, layer_mask=layered,
                      width=target.width, max_width=target.max_width, region=target.region)


def _deliver(refs: RoutedStorage, target: TaskTarget, hosted_prefix: str | None, name: str,
             rendered: Rendered) -> str | None:
    """Write one output to its destination, or host it; returns the hosted key."""
    if target.output is not None:
        refs.write(target.output, rendered.data, rendered.media_type)
        return None
    if hosted_prefix is None:
        return None
    key = f"{hosted_prefix}{name}{rendered.suffix}"
    refs.write(StorageRef(key, "hosted"), rendered.data, rendered.media_type)
    return key
