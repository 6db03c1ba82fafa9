"""One image file through one op: read, decode, run, encode, write atomically.

Runs inside worker processes, so everything it needs travels in a small picklable
``FileJob`` (any catalog op by name, with its parameters) and every failure comes back as a
``FileResult`` instead of an exception: one bad file never stops a batch.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lampyris.errors import LampyrisError
from lampyris.imaging.decode import decode
from lampyris.imaging.encode import OutputFormat, encode
from lampyris.imaging.tone_settings import ToneSettings
from lampyris.imaging.xmp import write_xmp
from lampyris.ops import run
from lampyris.workflows.files import FileTask, same_format

Outcome = Literal["done", "skipped", "failed"]


@dataclass(frozen=True)
class FileJob:
    """What to do to every file of a batch: op ``op`` of the catalog with ``params``.

    ``format`` None writes the format the destination's name says (see ``same_format``).
    ``xmp_sidecar`` also writes the develop settings the op reports (``metadata["settings"]``)
    as ``<destination stem>.xmp``, which Lightroom imports as a preset.
    """

    op: str
    params: dict[str, Any] = field(default_factory=dict)
    format: OutputFormat | None = "png"
    quality: int | None = None
    lossless: bool = False
    keep_metadata: bool = False
    overwrite: bool = False
    xmp_sidecar: bool = False


@dataclass(frozen=True)
class FileResult:
    """How one file went; ``reason`` says why it failed or was skipped."""

    task: FileTask
    outcome: Outcome
    reason: str = ""
    seconds: float = 0.0
    notices: tuple[str, ...] = ()  # done, but worth a look (a subject kept small)


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temp file and rename, so an interrupted batch never leaves a half file that
    a re-run would then skip as done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def run_file(task: FileTask, job: FileJob) -> FileResult:
    """Process ``task`` and report; never raises for a problem with the file itself."""
    start = time.perf_counter()
    if not job.overwrite and task.destination.exists():
        return FileResult(task, "skipped", "output exists (use --overwrite)")
    try:
        image = decode(task.source)
        result = run(job.op, image, job.params)
        data = encode(
            result.pixels, job.format or same_format(task.destination), quality=job.quality,
            lossless=job.lossless, exif=image.exif if job.keep_metadata else None,
            xmp=image.xmp if job.keep_metadata else None,
        )
        if job.xmp_sidecar:  # before the image: an image without its sidecar is never "done"
            settings = ToneSettings.model_validate(result.metadata.get("settings", {}))
            write_atomic(task.destination.with_suffix(".xmp"), write_xmp(settings))
        write_atomic(task.destination, data)
    except LampyrisError as exc:
        return FileResult(task, "failed", str(exc), time.perf_counter() - start)
    except OSError as exc:
        return FileResult(task, "failed", f"{exc.strerror or exc}", time.perf_counter() - start)
    except MemoryError:
        return FileResult(task, "failed", "out of memory", time.perf_counter() - start)
    return FileResult(task, "done", "", time.perf_counter() - start,
                      tuple(str(n) for n in result.metadata.get("notices", ())))
