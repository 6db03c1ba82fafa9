"""What a worker does with one job: fetch the input, run the op, encode, deliver the output.

Runs inside worker processes. A ``Task`` is plain JSON (it is stored in the job row, so a job
re-run after a restart does exactly what was asked); the worker's storage and object-store
configuration arrive once, through ``WorkerEnv``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lampyris.errors import InvalidParameterError, LampyrisError
from lampyris.imaging.composite import over_background
from lampyris.imaging.decode import decode
from lampyris.imaging.encode import OutputFormat, encode, extension
from lampyris.imaging.settings import ImagingSettings
from lampyris.imaging.tone_settings import ToneSettings
from lampyris.imaging.xmp import write_xmp
from lampyris.ops import run
from lampyris.storage import (
    ObjectStore,
    PresignedStorage,
    StorageRef,
    StorageSettings,
    open_object_store,
)
from lampyris.storage.base import Storage

XMP_MEDIA_TYPE = "application/rdf+xml"
MEDIA_TYPES: dict[str, OutputFormat] = {
    "image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp",
}
_FORMAT_OF_INPUT: dict[str, OutputFormat] = {"JPEG": "jpeg", "MPO": "jpeg", "WEBP": "webp"}


@dataclass(frozen=True)
class Task:
    """One op over one image. ``output`` is a user's storage reference, or ``None`` when the
    server hosts the result itself under ``hosted_prefix`` (Photoshop v2, Firefly).
    ``media_type`` ``None`` keeps the input's format where we can write it, PNG otherwise.
    ``quality`` (JPEG/WebP, 1..100) and ``png_compression`` (zlib 0..9) ``None`` leave the
    encoder's defaults."""

    op: str
    input: StorageRef
    params: dict[str, Any] = field(default_factory=dict)
    output: StorageRef | None = None
    hosted_prefix: str | None = None
    media_type: str | None = None
    # documents the op reads as text parameters (Lightroom presets): fetched with the input,
    # each list becomes ``params[name]``
    attachments: dict[str, list[StorageRef]] = field(default_factory=dict)
    quality: int | None = None
    png_compression: int | None = None
    # more images the op reads (a fill mask): fetched and decoded with the input, each passed
    # to the op as the keyword argument ``name``
    images: dict[str, StorageRef] = field(default_factory=dict)
    # one output per seed (Firefly's variations): the op runs once for each, the input decoded
    # once; ``None`` = one run with ``params`` as they are
    seeds: list[int] | None = None

    def to_json(self) -> dict[str, Any]:
        def ref(r: StorageRef | None) -> dict[str, str] | None:
            return None if r is None else {"href": r.href, "storage": r.storage}

        return {
            "op": self.op, "input": ref(self.input), "params": self.params,
            "output": ref(self.output), "hosted_prefix": self.hosted_prefix,
            "media_type": self.media_type,
            "attachments": {k: [ref(r) for r in refs] for k, refs in self.attachments.items()},
            "quality": self.quality, "png_compression": self.png_compression,
            "images": {k: ref(r) for k, r in self.images.items()}, "seeds": self.seeds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        output = data.get("output")
        return cls(
            op=data["op"], input=StorageRef(**data["input"]), params=data.get("params", {}),
            output=None if output is None else StorageRef(**output),
            hosted_prefix=data.get("hosted_prefix"), media_type=data.get("media_type"),
            attachments={k: [StorageRef(**r) for r in refs]
                         for k, refs in data.get("attachments", {}).items()},
            quality=data.get("quality"), png_compression=data.get("png_compression"),
            images={k: StorageRef(**r) for k, r in data.get("images", {}).items()},
            seeds=data.get("seeds"),
        )


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

    def __init__(self, stage: str, error: LampyrisError) -> None:
        super().__init__(str(error))
        self.stage = stage
        self.error = error

    def describe(self) -> dict[str, Any]:
        return {"type": type(self.error).__name__, "message": str(self.error),
                "stage": self.stage, "status": getattr(self.error, "status", None)}


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidParameterError(f"{name}: the document is not UTF-8 text") from None


def _add(seconds: dict[str, float], step: str, start: float) -> None:
    seconds[step] = seconds.get(step, 0.0) + time.perf_counter() - start


def execute(task: Task, env: WorkerEnv, storage: Storage | None = None) -> dict[str, Any]:
    """Run ``task``; returns the job result. Every expected failure (bad input, unreachable
    storage, refused URL…) raises ``TaskFailure``."""
    storage = storage or PresignedStorage(env.storage)
    objects = env.objects()

    def read(ref: StorageRef) -> bytes:
        return (objects.get(ref.href) if ref.storage == "hosted" else storage.read(ref)).data

    seconds: dict[str, float] = {}
    stage = "input"
    try:
        start = time.perf_counter()
        data = read(task.input)
        more = {name: read(ref) for name, ref in task.images.items()}
        params = dict(task.params)
        for name, refs in task.attachments.items():
            params[name] = [_text(storage.read(ref).data, name) for ref in refs]
        seconds["fetch"] = time.perf_counter() - start

        stage = "image"
        start = time.perf_counter()
        image = decode(data, max_pixels=env.imaging.max_pixels)
        images = {name: decode(raw, max_pixels=env.imaging.max_pixels)
                  for name, raw in more.items()}
        del data, more
        sidecar = task.media_type == XMP_MEDIA_TYPE
        fmt = "png" if sidecar else output_format(task.media_type, image.format)
        seconds["decode_op"] = time.perf_counter() - start

        runs = [params] if task.seeds is None else [{**params, "seed": s} for s in task.seeds]
        outputs, first = [], None
        for index, run_params in enumerate(runs):
            stage = "image"
            start = time.perf_counter()
            result = run(task.op, image, run_params, **images)
            if first is None:
                first = result
            pixels = result.pixels
            if fmt == "jpeg" and pixels.ndim == 3 and pixels.shape[2] == 4:
                pixels = over_background(pixels, (255, 255, 255, 1.0))  # JPEG has no alpha
            _add(seconds, "decode_op", start)

            start = time.perf_counter()
            if sidecar:  # Lightroom's XMP output: the settings, not the pixels
                settings = ToneSettings.model_validate(result.metadata.get("settings", {}))
                data, media_type, suffix = write_xmp(settings), XMP_MEDIA_TYPE, ".xmp"
            else:
                data = encode(pixels, fmt, quality=task.quality,
                              png_compression=task.png_compression)
                media_type, suffix = f"image/{fmt}", extension(fmt)
            _add(seconds, "encode", start)

            stage = "output"
            start = time.perf_counter()
            key = None
            if task.output is not None:
                storage.write(task.output, data, media_type)
            elif task.hosted_prefix is not None:
                name = "output" if task.seeds is None else f"output-{index + 1}"
                key = f"{task.hosted_prefix}{name}{suffix}"
                objects.put(key, data, media_type)
            _add(seconds, "deliver", start)
            height, width = pixels.shape[:2]
            output = {"mediaType": media_type, "width": width, "height": height,
                      "bytes": len(data), "key": key}
            if task.seeds is not None:
                output["seed"] = run_params["seed"]
                output["metadata"] = result.plain_metadata()
            outputs.append(output)
    except LampyrisError as exc:
        raise TaskFailure(stage, exc) from exc

    assert first is not None
    metadata = first.plain_metadata()
    metadata["timings"] = {**first.metadata.get("timings", {}), **seconds}
    return {"outputs": outputs, "metadata": metadata}
