"""One input through the step chain, read from and written to fsspec locations.

Runs in a worker process (local backend) and never raises for a problem with the file: the
outcome says what happened and whether trying again could help (a storage hiccup) or not (a
corrupt image). What every batch and every file command does to one input: besides the steps
an item may carry a seed (one variation of a generative op) and extra images every item of a
run shares (a fill's mask: read and decoded once per worker process, not sent with each item);
an XMP sidecar the output asks for is written before the image, so no image is without it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import posixpath
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from lampyris.errors import (
    FidelityError,
    InputError,
    InvalidParameterError,
    LampyrisError,
    StorageCredentialsError,
)
from lampyris.imaging.decode import DecodedImage, decode
from lampyris.ops.pipeline import OutputSpec, render
from lampyris.storage.atomic import write_atomic
from lampyris.storage.locations import Location
from lampyris.storage.translate import retryable, translate
from lampyris.workflows.steps import Step, execution

THUMB_SIDE = 160


@dataclass(frozen=True)
class ExtraImage:
    """An image every item of a run gets besides its input, under the op's keyword ``name``
    (``mask``). Items carry only where it is (a local path or an fsspec URL) and its
    ``stamp`` (which changes with the file); each worker process reads and decodes it once.
    ``sized_like_input``: it must be the size of every input (a fill's mask; not expand's,
    which is the new canvas's)."""

    name: str
    url: str
    stamp: str
    sized_like_input: bool = True


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
    seed: int | None = None  # every op that takes a seed gets this one (a variation)
    images: tuple[ExtraImage, ...] = ()


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
        images = {extra.name: _extra(extra, image) for extra in item.images}
        rendered = render(image, execution(item.steps), item.output, images=images,
                          seed=item.seed)
        del image
        timings["process"] = time.perf_counter() - start

        stage = "write"
        start = time.perf_counter()
        fs_out, _ = item.sink.open()
        if rendered.sidecar is not None:  # before the image: no image without its sidecar
            write_atomic(sidecar_path(item.output_path), rendered.sidecar, fs_out)
        write_atomic(item.output_path, rendered.data, fs_out)
        timings["write"] = time.perf_counter() - start
    except FidelityError as exc:  # this seed's fill; another seed may hold
        reason = str(exc) if item.seed is None else f"seed {item.seed}: {exc}"
        return ItemOutcome(False, error=reason, timings=timings)
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


def sidecar_path(output_path: str) -> str:
    """Where an output's XMP sidecar goes: beside it, ``<stem>.xmp``."""
    return posixpath.splitext(output_path)[0] + ".xmp"


def _extra(extra: ExtraImage, image: DecodedImage) -> DecodedImage:
    """``extra`` decoded (once per process and stamp), checked against the input's size."""
    decoded = _decoded(extra.url, extra.stamp)
    if extra.sized_like_input:
        (mh, mw), (h, w) = decoded.pixels.shape[:2], image.pixels.shape[:2]
        if (mw, mh) != (w, h):
            raise InvalidParameterError(
                f"the {extra.name} is {mw}x{mh} but the image is {w}x{h}: one --{extra.name} "
                "applies to every input, so they must be the same size")
    return decoded


@functools.lru_cache(maxsize=4)
def _decoded(url: str, stamp: str) -> DecodedImage:
    """The image at ``url`` as it was at ``stamp`` (the stamp only keys the cache)."""
    fs, path = Location(url).open()
    return decode(fs.cat_file(path))


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
