"""One input through the step chain, read from and written to fsspec locations.

Runs in a worker process (local backend) and never raises for a problem with the file: the
outcome says what happened and whether trying again could help (a storage hiccup) or not (a
corrupt image). What every batch and every file command does to one input: besides the steps
an item may carry a seed (one variation of a generative op) and extra images every item of a
run shares (a fill's mask: read and decoded once per worker process, not sent with each item);
an XMP sidecar the output asks for is written before the image, so no image is without it.
The steps' ``review`` objects (their confidence: ``imaging.confidence``) become the item's one
review (``review_of``); a flagged result goes to the run's review location, when it has one,
instead of the sink (``--on-review move:URL``).
"""

from __future__ import annotations

import functools
import hashlib
import io
import posixpath
import time
from dataclasses import dataclass, field
from typing import Any, cast

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
    review_threshold: float | None = None  # None: each op's own (``REVIEW_THRESHOLD``)
    review_sink: Location | None = None  # where a flagged result goes instead of ``sink``
    review_rel: str = ""  # its path below ``review_sink`` (the output's below the sink)
    earlier: str | None = None  # the URL of this input's last output, as its ledger records it


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
    review: dict[str, Any] | None = None
    routed_to: str | None = None  # the URL a flagged output was written to, off the sink


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
        review = review_of(rendered.reports, item.review_threshold)
        routed_to = write_result(item, review, rendered.data, rendered.sidecar)
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
        "steps": {name: without_review(report) for name, report in rendered.reports.items()},
    }, review=review, routed_to=routed_to)
    if said := rendered.notices:
        outcome.details["notices"] = said
    if before is not None:
        outcome.thumbs = {"before": before, "after": thumbnail(rendered.pixels)}
    return outcome


def review_of(reports: dict[str, Any], threshold: float | None = None
              ) -> dict[str, Any] | None:
    """The result's one review from its steps' (None when no step reported one): the
    lowest-scoring step's, flagged when any step is; with several, every step's reasons, worst
    step first and prefixed by its name. ``threshold`` (``--review-threshold``) re-decides the
    flag from the score, so a stricter threshold needs no re-run of the ops."""
    reviews = sorted(((name, cast("dict[str, Any]", report["review"]))
                      for name, report in reports.items()
                      if isinstance(report, dict) and isinstance(report.get("review"), dict)),
                     key=lambda pair: float(pair[1].get("score", 1.0)))
    if not reviews:
        return None
    review = dict(reviews[0][1])
    if len(reviews) > 1:
        review["flag"] = any(bool(r.get("flag")) for _, r in reviews)
        review["reasons"] = [f"{name}: {reason}" for name, r in reviews
                             for reason in r.get("reasons", ())]
        review["steps"] = {name: r.get("score") for name, r in reviews}
    if threshold is not None:
        review["threshold"] = threshold
        review["flag"] = float(review.get("score", 1.0)) < threshold
    return review


def write_result(item: WorkItem, review: dict[str, Any] | None, data: bytes,
                 sidecar: bytes | None = None) -> str | None:
    """Write a result (and its sidecar first: no image without it) where it belongs: the
    sink, or, flagged by ``review`` in a run with a review location, that location at the
    same relative path. Returns the URL it was routed to, else None. Every backend that
    writes outputs itself (local, ray, remote) writes them here."""
    routed = item.review_sink is not None and bool(review and review.get("flag"))
    sink = item.review_sink if routed and item.review_sink is not None else item.sink
    fs_out, root = sink.open()
    path = posixpath.join(root, item.review_rel) if routed else item.output_path
    if sidecar is not None:
        write_atomic(sidecar_path(path), sidecar, fs_out)
    write_atomic(path, data, fs_out)
    if item.review_sink is not None:  # an earlier result of this input, elsewhere
        _drop_other(item, routed, fs_out, path)
    return sink.url_of(item.review_rel) if routed else None


def _drop_other(item: WorkItem, routed: bool, written_fs: Any, written: str) -> None:
    """Remove this input's earlier output (and sidecar) from the place this result did not
    go, so it is in one place only: the sink, or the review location. Only what this input's
    own ledger record says it wrote there (``earlier``) is removed, never the file just
    written: a review folder shared with another batch keeps that batch's results."""
    if item.earlier is None:
        return
    if routed:
        fs, path = item.sink.open()[0], item.output_path
        url = item.sink.url_of(item.review_rel)
    else:
        assert item.review_sink is not None
        fs, root = item.review_sink.open()
        path = posixpath.join(root, item.review_rel)
        url = item.review_sink.url_of(item.review_rel)
    if url != item.earlier or (path == written and fs.protocol == written_fs.protocol):
        return
    for stale in (path, sidecar_path(path)):
        if fs.exists(stale):
            fs.rm_file(stale)


def without_review(report: Any) -> Any:
    """A step's report as the ledger's details keep it: its review has a column of its own."""
    if isinstance(report, dict) and "review" in report:
        return {k: v for k, v in report.items() if k != "review"}
    return report


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
