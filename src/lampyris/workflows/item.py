"""One input through the step chain, read from and written to fsspec locations.

Runs in a worker process (local backend) and never raises for a problem with the file: the
outcome says what happened and whether trying again could help (a storage hiccup) or not (a
corrupt image).
"""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from lampyris.errors import InputError, LampyrisError, StorageCredentialsError
from lampyris.imaging.decode import decode
from lampyris.ops.pipeline import OutputSpec, render
from lampyris.storage.atomic import write_atomic
from lampyris.storage.locations import Location
from lampyris.storage.translate import retryable, translate
from lampyris.workflows.steps import Step, execution

THUMB_SIDE = 160


@dataclass(frozen=True)
class WorkItem:
    """Everything a worker needs for one input (small and picklable)."""

    source: Location
    source_path: str
    sink: Location
    output_path: str
    steps: tuple[Step, ...]
    output: OutputSpec
    known_hash: str | None = None  # the input's hash when it was last done with these steps
    thumbs: bool = False


@dataclass
class ItemOutcome:
    ok: bool
    content_hash: str | None = None
    unchanged: bool = False  # same bytes as last time: nothing was redone
    error: str | None = None
    retryable: bool = False
    fatal: bool = False  # refused credentials: every other input would fail the same way
    timings: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    thumbs: dict[str, bytes] = field(default_factory=dict)


def process(item: WorkItem) -> ItemOutcome:
    timings: dict[str, float] = {}
    stage = "read"
    try:
        start = time.perf_counter()
        fs_in, _ = item.source.open()
        data = fs_in.cat_file(item.source_path)
        digest = hashlib.sha256(data).hexdigest()
        timings["read"] = time.perf_counter() - start
        if item.known_hash == digest:
            return ItemOutcome(True, digest, unchanged=True, timings=timings)

        stage = "process"
        start = time.perf_counter()
        image = decode(data)
        before = thumbnail(image.pixels) if item.thumbs else None
        del data
        rendered = render(image, execution(item.steps), item.output)
        del image
        timings["process"] = time.perf_counter() - start

        stage = "write"
        start = time.perf_counter()
        fs_out, _ = item.sink.open()
        write_atomic(item.output_path, rendered.data, fs_out)
        timings["write"] = time.perf_counter() - start
    except InputError as exc:
        return ItemOutcome(False, error=str(exc), timings=timings)
    except StorageCredentialsError as exc:
        return ItemOutcome(False, error=f"{stage}: {exc}", fatal=True, timings=timings)
    except LampyrisError as exc:
        return ItemOutcome(False, error=str(exc), retryable=stage != "process", timings=timings)
    except MemoryError:
        return ItemOutcome(False, error="out of memory for this image", timings=timings)
    except Exception as exc:  # storage (one line; retried only where it may pass), or a bug
        error = translate(exc, {"read": item.source.url, "write": item.sink.url}.get(stage, ""))
        if error is None:  # a bug in a step: fail this file, keep the batch going
            return ItemOutcome(False, error=f"{stage}: internal error: {exc!r}", timings=timings)
        return ItemOutcome(False, error=f"{stage}: {error}", retryable=retryable(error),
                           fatal=isinstance(error, StorageCredentialsError), timings=timings)

    outcome = ItemOutcome(True, digest, timings=timings, details={
        "width": rendered.size[0], "height": rendered.size[1], "output_bytes": len(rendered.data),
        "steps": rendered.reports,
    })
    if said := rendered.notices:
        outcome.details["notices"] = said
    if before is not None:
        outcome.thumbs = {"before": before, "after": thumbnail(rendered.pixels)}
    return outcome


def thumbnail(pixels: np.ndarray) -> bytes:
    """A small JPEG for the report; transparency shown over a light checkerboard."""
    image = Image.fromarray(pixels)
    image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BILINEAR)
    if image.mode in ("RGBA", "LA"):
        board = np.full((image.height, image.width, 3), 255, np.uint8)
        yy, xx = np.mgrid[: image.height, : image.width]
        board[((yy // 8) + (xx // 8)) % 2 == 1] = 220
        backdrop = Image.fromarray(board)
        backdrop.paste(image.convert("RGBA"), mask=image.convert("RGBA").split()[3])
        image = backdrop
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()
