"""One image file through one op: read, decode, render, write atomically.

What every file command (``cutout``, ``auto-tone``, ``straighten``, ``edit``, ``fill``,
``expand``, ``composite``) does to one input. Runs inside worker processes, so everything it
needs travels in a small picklable ``FileJob`` (any catalog op by name, with its parameters,
and the one mask the generative commands may apply to every input) and every failure comes
back as a ``FileResult`` instead of an exception: one bad file never stops a batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from lampyris.errors import FidelityError, InvalidParameterError, LampyrisError
from lampyris.imaging.decode import DecodedImage, decode
from lampyris.imaging.encode import OutputFormat
from lampyris.ops.pipeline import Call, OutputSpec, render
from lampyris.storage.atomic import write_atomic
from lampyris.workflows.files import FileTask, same_format

Outcome = Literal["done", "skipped", "failed"]


@dataclass(frozen=True)
class FileJob:
    """What to do to every file of a batch: op ``op`` of the catalog with ``params``.

    ``format`` None writes the format the destination's name says (see ``same_format``).
    ``xmp_sidecar`` also writes the develop settings the op reports (``metadata["settings"]``)
    as ``<destination stem>.xmp``, which Lightroom imports as a preset. ``mask`` goes to an op
    that reads one (fill, expand, composite); ``mask_sized_like_input``: it must be each
    input's size (not the new canvas's, as expand's)."""

    op: str
    params: dict[str, Any] = field(default_factory=dict)
    format: OutputFormat | None = "png"
    quality: int | None = None
    lossless: bool = False
    keep_metadata: bool = False
    overwrite: bool = False
    xmp_sidecar: bool = False
    mask: DecodedImage | None = None
    mask_sized_like_input: bool = True


@dataclass(frozen=True)
class FileResult:
    """How one file went; ``reason`` says why it failed or was skipped."""

    task: FileTask
    outcome: Outcome
    reason: str = ""
    seconds: float = 0.0
    notices: tuple[str, ...] = ()  # done, but worth a look (a subject kept small)
    said: str = ""  # done: how (a generative op's engine and its fidelity guard)


def run_file(task: FileTask, job: FileJob) -> FileResult:
    """Process ``task`` and report; never raises for a problem with the file itself."""
    start = time.perf_counter()
    if not job.overwrite and task.destination.exists():
        return FileResult(task, "skipped", "output exists (use --overwrite)")
    try:
        output = OutputSpec(job.format or same_format(task.destination), job.quality,
                            job.lossless, sidecar="also" if job.xmp_sidecar else "none",
                            keep_metadata=job.keep_metadata)
        image = decode(task.source)
        _check_mask(job, image)
        images = {} if job.mask is None else {"mask": job.mask}
        rendered = render(image, [Call(job.op, job.op, job.params)], output, images=images,
                          seed=task.seed)
        if rendered.sidecar is not None:  # before the image: no image without its sidecar
            write_atomic(task.destination.with_suffix(".xmp"), rendered.sidecar)
        write_atomic(task.destination, rendered.data)
    except FidelityError as exc:  # this seed's fill; another seed may hold
        reason = str(exc) if task.seed is None else f"seed {task.seed}: {exc}"
        return FileResult(task, "failed", reason, time.perf_counter() - start)
    except LampyrisError as exc:
        return FileResult(task, "failed", str(exc), time.perf_counter() - start)
    except OSError as exc:
        return FileResult(task, "failed", f"{exc.strerror or exc}", time.perf_counter() - start)
    except MemoryError:
        return FileResult(task, "failed", "out of memory", time.perf_counter() - start)
    report = rendered.reports[job.op]
    said = f"engine {report['engine']} · fidelity guard held" if "engine" in report else ""
    return FileResult(task, "done", "", time.perf_counter() - start,
                      tuple(line.removeprefix(f"{job.op}: ") for line in rendered.notices),
                      said)


def _check_mask(job: FileJob, image: DecodedImage) -> None:
    if job.mask is None or not job.mask_sized_like_input:
        return
    (mh, mw), (h, w) = job.mask.pixels.shape[:2], image.pixels.shape[:2]
    if (mw, mh) != (w, h):
        raise InvalidParameterError(
            f"the mask is {mw}x{mh} but the image is {w}x{h}: one --mask applies to every "
            "input, so they must be the same size")
