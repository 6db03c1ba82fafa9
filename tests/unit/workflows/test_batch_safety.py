"""Nothing lost, nothing hidden, nothing done twice: the batch runner's promises, each once a
real failure (issue 12). Inline backend, real cutouts, ``memory://`` and local folders."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from PIL import Image

from lampyris.errors import InvalidParameterError
from lampyris.storage.locations import Location
from lampyris.workflows.backends.inline import InlineBackend
from lampyris.workflows.batch import BatchRunner, BatchSpec, RunSummary
from lampyris.workflows.ledger import Ledger, default_path
from lampyris.workflows.steps import make_steps

Image_ = Callable[..., bytes]
Check = Callable[[bytes], None]


def spec(source: str = "memory://in", sink: str = "memory://out", **fields: Any) -> BatchSpec:
    fields.setdefault("backoff", 0.01)
    return BatchSpec(Location(source), Location(sink), tuple(make_steps([("cutout", {})])),
                     **fields)


def run(batch: BatchSpec, ledger: Ledger, **kwargs: Any) -> RunSummary:
    return BatchRunner(batch, ledger, InlineBackend()).run(**kwargs)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "run.ledger.db") as opened:
        yield opened


def disc_centre(data: bytes) -> tuple[int, int]:
    """Where a cutout's opaque subject is centred (x, y): tells whose output it is."""
    alpha = np.asarray(Image.open(io.BytesIO(data)))[..., 3]
    ys, xs = np.nonzero(alpha > 128)
    return round(xs.mean()), round(ys.mean())


# -- two inputs, one output ---------------------------------------------------------------------
def test_two_inputs_of_one_stem_are_refused_before_anything_runs(
        memfs: MemoryFileSystem, ledger: Ledger, image: Image_) -> None:
    memfs.pipe_file("/in/0020.jpg", image(0, "JPEG"))
    memfs.pipe_file("/in/0020.png", image(40))
    memfs.pipe_file("/in/0021.png", image(1))
    moving = spec(on_success="move:memory://done")
    with pytest.raises(InvalidParameterError) as refused:
        run(moving, ledger)
    message = str(refused.value)
    assert "memory://in/0020.jpg and memory://in/0020.png would both be written to " \
           "memory://out/0020.png" in message and "--naming keep-extension" in message
    assert not memfs.exists("/out") and not memfs.exists("/done")  # nothing ran, nothing moved
    assert memfs.exists("/in/0020.jpg") and memfs.exists("/in/0020.png")
    assert ledger.runs() == [] and list(ledger.items()) == []
    with pytest.raises(InvalidParameterError, match="would both be written"):
        BatchRunner(moving, ledger, InlineBackend()).preview()  # a dry run says so too


def test_keep_extension_writes_both_and_moves_each_input_after_its_own_output(
        memfs: MemoryFileSystem, ledger: Ledger, image: Image_, is_cutout: Check) -> None:
    jpeg, png = image(0, "JPEG"), image(40)
    memfs.pipe_file("/in/0020.jpg", jpeg)
    memfs.pipe_file("/in/0020.png", png)
    summary = run(spec(naming="keep-extension", on_success="move:memory://done"), ledger)
    assert (summary.done, summary.failed) == (2, 0)
    for name, data in (("0020.jpg", jpeg), ("0020.png", png)):
        out = memfs.cat_file(f"/out/{name}.png")
        is_cutout(out)
        assert memfs.cat_file(f"/done/{name}") == data  # moved whole, not lost
        assert not memfs.exists(f"/in/{name}")
    # each output is its own input's cutout: image(40) has its disc lower than image(0)
    assert disc_centre(memfs.cat_file("/out/0020.png.png"))[1] > disc_centre(
        memfs.cat_file("/out/0020.jpg.png"))[1] + 3


def test_number_gives_the_second_input_a_numbered_name_that_stays(
        memfs: MemoryFileSystem, ledger: Ledger, image: Image_) -> None:
    memfs.pipe_file("/in/0020.jpg", image(0, "JPEG"))
    memfs.pipe_file("/in/0020.png", image(40))
    numbered = spec(naming="number")
    assert run(numbered, ledger).done == 2
    outputs = {i.rel: i.output_url for i in ledger.items()}
    assert outputs == {"0020.jpg": "memory://out/0020.png", "0020.png": "memory://out/0020-2.png"}
    memfs.pipe_file("/in/0020.gif", image(3, "GIF"))  # sorts first: must not take 0020.png
    again = run(numbered, ledger)
    assert (again.done, again.skipped) == (1, 2)
    assert {i.rel: i.output_url for i in ledger.items()}["0020.gif"] == "memory://out/0020-3.png"


def test_an_output_an_earlier_input_wrote_is_not_overwritten(
        memfs: MemoryFileSystem, ledger: Ledger, image: Image_) -> None:
    """The week-two case: 0020.jpg was done and moved away; 0020.png arrives."""
    memfs.pipe_file("/in/0020.jpg", image(0, "JPEG"))
    assert run(spec(on_success="move:memory://done"), ledger).done == 1
    first = memfs.cat_file("/out/0020.png")
    memfs.pipe_file("/in/0020.png", image(40))
    later = run(spec(on_success="move:memory://done"), ledger)
    assert (later.done, later.failed) == (0, 1)
    assert "memory://in/0020.jpg and memory://in/0020.png would both be written" in (
        later.failures[0].reason)
    assert memfs.cat_file("/out/0020.png") == first and memfs.exists("/in/0020.png")
    again = run(spec(on_success="move:memory://done"), ledger)  # still there: still reported
    assert (again.failed, again.standing, again.failures[0].standing) == (0, 1, True)
    idle = run(spec(on_success="move:memory://done"), ledger, watching=True)
    assert (idle.run_id, idle.failed) == (0, 0)  # a watch pass does not record it again and again
    resolved = run(spec(naming="number"), ledger)  # another naming: done at once
    assert (resolved.done, resolved.failed, resolved.standing) == (1, 0, 0)
    assert memfs.cat_file("/out/0020.png") == first and memfs.exists("/out/0020-2.png")


class LossyFileSystem(MemoryFileSystem):
    """``lossy://``: a sink that answers every write and keeps none (a full disk, a bucket
    policy that drops objects): the runner must notice before it touches the input."""

    protocol = ("lossy",)

    def pipe_file(self, path: str, value: bytes, **kwargs: Any) -> None:
        return None


def test_an_input_is_moved_or_deleted_only_once_its_output_is_verified(
        memfs: MemoryFileSystem, ledger: Ledger, image: Image_) -> None:
    fsspec.register_implementation("lossy", LossyFileSystem, clobber=True)
    memfs.pipe_file("/in/a.png", image(0))
    memfs.pipe_file("/in/b.png", image(1))
    for action in ("delete", "move:memory://done"):
        summary = run(spec(sink="lossy://lost", on_success=action), ledger)
        assert summary.done + summary.skipped == 2
        assert memfs.exists("/in/a.png") and memfs.exists("/in/b.png"), action
        assert not memfs.exists("/done")
    kept = {i.rel: i.details["on_success_error"] for i in ledger.items()}
    assert kept["a.png"] == "the output lossy://lost/a.png is missing: the input was kept"


def test_a_moved_input_never_replaces_another_file_at_the_target(
        memfs: MemoryFileSystem, ledger: Ledger, image: Image_) -> None:
    older = image(5)
    memfs.pipe_file("/done/a.png", older)  # last week's a.png, already put aside
    memfs.pipe_file("/in/a.png", image(0))
    assert run(spec(on_success="move:memory://done"), ledger).done == 1
    assert memfs.cat_file("/done/a.png") == older
    assert memfs.cat_file("/done/a-2.png") == image(0)


# -- failures stay visible ----------------------------------------------------------------------
def test_a_standing_failure_is_reported_on_every_run(
        memfs: MemoryFileSystem, ledger: Ledger, image: Image_) -> None:
    memfs.pipe_file("/in/a.png", image(0))
    memfs.pipe_file("/in/broken.png", image(1)[:300])
    first = run(spec(), ledger)
    assert (first.done, first.failed, first.standing) == (1, 1, 0)
    since = first.failures[0].since
    for _ in range(2):
        again = run(spec(), ledger)
        assert (again.done, again.skipped, again.failed, again.standing) == (0, 1, 0, 1)
        (failure,) = again.failures
        assert failure.standing and failure.since == since  # the first time, kept
        assert "truncated" in failure.reason
    retried = run(spec(retry_failed=True), ledger)
    assert retried.failed == 1 and retried.failures[0].since == since  # still failing since


# -- files still being written ------------------------------------------------------------------
def test_a_file_still_being_written_is_waited_for_not_failed(
        tmp_path: Path, ledger: Ledger, image: Image_, is_cutout: Check) -> None:
    source, sink = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    data = image(0)
    (source / "ready.png").write_bytes(image(1))
    os.utime(source / "ready.png", (time.time() - 60, time.time() - 60))
    growing = source / "copying.png"
    growing.write_bytes(data[: len(data) // 3])  # a copy in progress: a truncated PNG

    def go_on_copying() -> None:
        for part in (2, 3):
            time.sleep(0.6)
            growing.write_bytes(data[: len(data) * part // 3])

    writer = threading.Thread(target=go_on_copying)
    watch_pass = run(spec(str(source), str(sink), settle=1.0), ledger, watching=True)
    assert (watch_pass.done, watch_pass.failed, watch_pass.settling) == (1, 0, 1)
    assert ledger.get(str(source / "copying.png"), str(sink)) is None  # not even recorded

    growing.write_bytes(data[: len(data) // 3])  # the copy goes on for 1.2 s more
    writer.start()
    summary = run(spec(str(source), str(sink), settle=1.0), ledger)  # a one-shot run waits
    writer.join()
    assert (summary.done, summary.failed, summary.skipped, summary.settling) == (1, 0, 1, 0)
    is_cutout((sink / "copying.png").read_bytes())


def test_an_idle_watch_pass_records_no_run(
        memfs: MemoryFileSystem, ledger: Ledger, image: Image_) -> None:
    memfs.pipe_file("/in/a.png", image(0))
    assert run(spec(), ledger, watching=True).done == 1
    for _ in range(3):
        idle = run(spec(), ledger, watching=True)
        assert (idle.run_id, idle.done, idle.skipped, idle.failed) == (0, 0, 1, 0)
    assert len(ledger.runs()) == 1
    assert run(spec(), ledger).run_id == 2  # a one-shot run is always recorded


# -- the ledger belongs to the destination ------------------------------------------------------
def test_the_default_ledger_is_found_from_the_destination(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMPYRIS_STATE_DIR", str(tmp_path / "state"))
    local = default_path(str(tmp_path / "jobB" / "output"))
    assert local == tmp_path / "jobB" / "output" / ".lampyris" / "ledger.db"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # the working directory plays no part
    assert default_path("file://" + str(tmp_path / "jobB" / "output")) == local
    bucket = default_path("s3://shop/catalog/")
    assert bucket == default_path("s3://shop/catalog")  # a trailing slash is the same place
    assert bucket.parent.parent == tmp_path / "state" / "ledgers"
    assert bucket.parent.name.startswith("shop_catalog-")
    assert default_path("s3://shop/other") != bucket
