"""The batch runner with the inline backend on ``memory://`` and local folders: real cutouts,
the ledger's skip rules, retries with backoff, on-success actions, stopping and resuming,
report thumbnails, and output naming."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import fsspec
import numpy as np
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from PIL import Image

from lampyris.errors import InvalidParameterError, StorageError
from lampyris.storage.locations import Location
from lampyris.workflows.backends.inline import InlineBackend
from lampyris.workflows.batch import BatchRunner, BatchSpec, Event, RunSummary
from lampyris.workflows.ledger import Ledger, LedgerItem
from lampyris.workflows.steps import OutputSpec, Step, make_steps

Image_ = Callable[..., bytes]
Check = Callable[[bytes], None]
SRC, DST = "memory://in", "memory://out"
INPUTS = ["a.png", "sub/b.png"]


def make_spec(source: str = SRC, sink: str = DST, params: dict[str, Any] | None = None,
              **fields: Any) -> BatchSpec:
    fields.setdefault("backoff", 0.01)
    return BatchSpec(Location(source), Location(sink),
                     tuple(make_steps([("cutout", params or {})])), **fields)


class Events:
    """A listener that remembers (event, rel) and can stop its runner after ``stop_after``
    processed items."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.seen: list[tuple[Event, str]] = []
        self.stop_after = stop_after
        self.runner: BatchRunner | None = None

    def __call__(self, event: Event, item: LedgerItem) -> None:
        self.seen.append((event, item.rel))
        stopping = self.stop_after is not None and len(self.of("done")) >= self.stop_after
        if stopping and self.runner is not None:
            self.runner.stop()

    def of(self, event: Event) -> list[str]:
        return [rel for seen, rel in self.seen if seen == event]


def run(spec: BatchSpec, ledger: Ledger, events: Events | None = None,
        **kwargs: Any) -> RunSummary:
    runner = BatchRunner(spec, ledger, InlineBackend(), listener=events, **kwargs)
    if events is not None:
        events.runner = runner
    return runner.run()


def counts(summary: RunSummary) -> dict[str, int]:
    return {"listed": summary.listed, "done": summary.done, "unchanged": summary.unchanged,
            "skipped": summary.skipped, "failed": summary.failed, "retries": summary.retries}


def rows(ledger: Ledger) -> dict[str, LedgerItem]:
    return {item.rel: item for item in ledger.items()}


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "run.ledger.db") as opened:
        yield opened


@pytest.fixture
def inputs(memfs: MemoryFileSystem, image: Image_) -> dict[str, bytes]:
    """Two distinct inputs in ``memory://in`` (one in a sub-folder) and a non-image."""
    data = {rel: image(n) for n, rel in enumerate(INPUTS)}
    for rel, blob in data.items():
        memfs.pipe_file(f"/in/{rel}", blob)
    memfs.pipe_file("/in/notes.txt", b"not an input")
    return data


# -- naming ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("rel", "naming", "fmt", "expected"), [
    ("a.png", "{dir}{stem}.{ext}", "png", "a.png"),
    ("sub/deep/a.JPG", "{dir}{stem}.{ext}", "png", "sub/deep/a.png"),
    ("sub/a.tif", "{dir}{stem}.{ext}", "jpeg", "sub/a.jpg"),
    ("sub/a.png", "{stem}-cut.{ext}", "webp", "a-cut.webp"),
    ("sub/a.png", "{dir}{name}.{ext}", "png", "sub/a.png.png"),
    ("sub/a.png", "cutouts/{dir}{stem}.{ext}", "png", "cutouts/sub/a.png"),
    ("sub/a.png", "/{stem}.{ext}", "png", "a.png"),
    ("a.b.c.png", "{dir}{stem}.{ext}", "png", "a.b.c.png"),
])
def test_output_naming(rel: str, naming: str, fmt: Any, expected: str) -> None:
    spec = make_spec(naming=naming, output=OutputSpec(fmt))
    assert spec.output_rel(rel) == expected


@pytest.mark.parametrize("naming", ["{folder}{stem}.{ext}", "{stem", "{0}.png", "{stem.up}.png",
                                    "{stem[9]}.png"])
def test_a_bad_naming_template_is_a_parameter_error(naming: str) -> None:
    with pytest.raises(InvalidParameterError, match="naming template"):
        make_spec(naming=naming).output_rel("sub/a.png")


# -- first run, re-runs, changes ------------------------------------------------------------
def test_a_first_run_does_everything_and_a_second_run_nothing(
        inputs: dict[str, bytes], memfs: MemoryFileSystem, ledger: Ledger,
        is_cutout: Check) -> None:
    events = Events()
    listed: list[int] = []
    summary = run(make_spec(), ledger, events, on_listed=listed.append)

    assert counts(summary) == {"listed": 2, "done": 2, "unchanged": 0, "skipped": 0,
                               "failed": 0, "retries": 0}
    assert not summary.interrupted and summary.failures == [] and summary.rate > 0
    assert listed == [2]
    assert sorted(events.of("done")) == sorted(INPUTS)
    for rel in INPUTS:
        is_cutout(memfs.cat_file(f"/out/{rel}"))
    recorded = rows(ledger)
    assert sorted(recorded) == sorted(INPUTS)
    for rel, record in recorded.items():
        assert record.input_url == f"memory://in/{rel}"
        assert record.output_url == f"memory://out/{rel}"
        assert (record.status, record.attempts, record.run_id, record.error) == (
            "done", 1, summary.run_id, None)
        assert record.content_hash == hashlib.sha256(inputs[rel]).hexdigest()
        assert record.stamp is not None and record.stamp.startswith(f"{len(inputs[rel])}:")
        assert set(record.timings) == {"read", "process", "write"}
        assert record.seconds is not None and record.seconds >= 0
        assert (record.details["width"], record.details["height"]) == (160, 120)
        assert record.details["output_bytes"] == len(memfs.cat_file(f"/out/{rel}"))
        x0, y0, x1, y1 = record.details["steps"]["cutout"]["subject_box"]
        assert 65 <= x1 - x0 <= 85 and 65 <= y1 - y0 <= 85  # the 73 px disc
        assert "thumb_after" not in record.details  # no thumbs_dir, no thumbnails
    (only,) = ledger.runs()
    assert (only["id"], only["outcome"], only["source"], only["dest"]) == (
        summary.run_id, "finished", SRC, DST)

    # the second run: nothing to do
    output = memfs.cat_file("/out/sub/b.png")
    memfs.rm_file("/out/a.png")  # the ledger decides, without looking at the sink
    events = Events()
    second = run(make_spec(), ledger, events)
    assert counts(second) == {"listed": 2, "done": 0, "unchanged": 0, "skipped": 2,
                              "failed": 0, "retries": 0}
    assert sorted(events.of("skipped")) == sorted(INPUTS)
    assert {r.rel: r.run_id for r in ledger.items()} == dict.fromkeys(INPUTS, summary.run_id)
    assert memfs.cat_file("/out/sub/b.png") == output and not memfs.exists("/out/a.png")
    assert [r["outcome"] for r in ledger.runs()] == ["finished", "finished"]


def test_new_bytes_redo_one_input_and_same_bytes_count_as_unchanged(
        inputs: dict[str, bytes], memfs: MemoryFileSystem, ledger: Ledger, image: Image_,
        is_cutout: Check) -> None:
    first = run(make_spec(), ledger)
    before = rows(ledger)
    old_b = memfs.cat_file("/out/sub/b.png")

    memfs.pipe_file("/in/sub/b.png", image(20))  # new content
    events = Events()
    second = run(make_spec(), ledger, events)
    assert counts(second) == {"listed": 2, "done": 1, "unchanged": 0, "skipped": 1,
                              "failed": 0, "retries": 0}
    assert events.of("done") == ["sub/b.png"]
    new_b = memfs.cat_file("/out/sub/b.png")
    is_cutout(new_b)
    assert new_b != old_b
    after = rows(ledger)
    assert after["sub/b.png"].run_id == second.run_id
    assert after["sub/b.png"].content_hash == hashlib.sha256(image(20)).hexdigest()
    assert after["sub/b.png"].stamp != before["sub/b.png"].stamp
    assert after["a.png"].run_id == first.run_id

    time.sleep(0.002)  # the memory filesystem stamps to the microsecond
    memfs.pipe_file("/in/a.png", inputs["a.png"])  # the same bytes, written again
    old_a = memfs.cat_file("/out/a.png")
    events = Events()
    third = run(make_spec(), ledger, events)
    assert counts(third) == {"listed": 2, "done": 0, "unchanged": 1, "skipped": 1,
                             "failed": 0, "retries": 0}
    assert events.of("unchanged") == ["a.png"]
    assert memfs.cat_file("/out/a.png") == old_a
    a = rows(ledger)["a.png"]
    assert (a.status, a.run_id, a.content_hash) == ("done", third.run_id,
                                                    before["a.png"].content_hash)
    assert a.stamp != before["a.png"].stamp
    assert "process" not in a.timings  # read and hashed, not processed
    assert a.details["width"] == 160  # what the report shows is kept

    fourth = run(make_spec(), ledger)  # the new stamp was recorded: nothing to do
    assert (fourth.skipped, fourth.done, fourth.unchanged) == (2, 0, 0)


def test_changed_params_redo_everything(inputs: dict[str, bytes], memfs: MemoryFileSystem,
                                        ledger: Ledger) -> None:
    run(make_spec(), ledger)
    fingerprints = {r.fingerprint for r in ledger.items()}
    trimmed = run(make_spec(params={"trim": True}), ledger)
    assert (trimmed.done, trimmed.skipped) == (2, 0)
    for rel in INPUTS:
        with Image.open(io.BytesIO(memfs.cat_file(f"/out/{rel}"))) as out:
            width, height = out.size  # cropped to the 73 px disc
        assert 65 <= width <= 85 and 65 <= height <= 85
    records = rows(ledger).values()
    assert {r.run_id for r in records} == {trimmed.run_id}
    assert len({r.fingerprint for r in records} | fingerprints) == 2
    again = run(make_spec(params={"trim": True}), ledger)
    assert (again.done, again.skipped) == (0, 2)


def test_a_jpeg_output_on_a_background(memfs: MemoryFileSystem, image: Image_,
                                       ledger: Ledger) -> None:
    memfs.pipe_file("/in/a.png", image(3))
    spec = make_spec(params={"background": "white"}, output=OutputSpec("jpeg", quality=90))
    assert run(spec, ledger).done == 1
    with Image.open(io.BytesIO(memfs.cat_file("/out/a.jpg"))) as out:
        assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (160, 120))
        pixels = np.asarray(out).astype(int)
    assert abs(pixels[60, 80] - (200, 30, 30)).max() < 30  # the subject
    assert pixels[2, 2].min() > 245  # white, not the grey it stood on


# -- failures and retries -------------------------------------------------------------------
def test_a_corrupt_input_fails_with_a_reason_and_stays_failed(
        memfs: MemoryFileSystem, ledger: Ledger, image: Image_, is_cutout: Check) -> None:
    memfs.pipe_file("/in/a.png", image(0))
    memfs.pipe_file("/in/broken.png", image(1)[:200])  # a truncated PNG
    events = Events()
    first = run(make_spec(), ledger, events)
    assert counts(first) == {"listed": 2, "done": 1, "unchanged": 0, "skipped": 0,
                             "failed": 1, "retries": 0}
    assert [(f.input_url, f.reason) for f in first.failures] == [("memory://in/broken.png",
                               "image data is damaged or truncated: image file is truncated")]
    assert events.of("failed") == ["broken.png"]
    assert not memfs.exists("/out/broken.png")
    broken = rows(ledger)["broken.png"]
    assert (broken.status, broken.attempts, broken.run_id) == ("failed", 1, first.run_id)
    assert broken.error is not None and "truncated" in broken.error

    second = run(make_spec(), ledger)  # a failed input is not tried again by default...
    assert (second.skipped, second.failed, second.done) == (1, 0, 0)
    assert second.standing == 1  # ...but reported again, with the reason of the first time
    (standing,) = second.failures
    assert (standing.input_url, standing.standing) == ("memory://in/broken.png", True)
    assert standing.reason == broken.error and standing.since == broken.details["failed_since"]

    third = run(make_spec(retry_failed=True), ledger)
    assert (third.skipped, third.failed, third.done) == (1, 1, 0)
    assert rows(ledger)["broken.png"].run_id == third.run_id
    assert rows(ledger)["broken.png"].attempts == 1  # a bad image is not retried

    memfs.pipe_file("/in/broken.png", image(9))  # repaired: a new stamp, so it runs again
    fourth = run(make_spec(), ledger)
    assert (fourth.skipped, fourth.done, fourth.failed) == (1, 1, 0)
    is_cutout(memfs.cat_file("/out/broken.png"))
    assert (rows(ledger)["broken.png"].status, rows(ledger)["broken.png"].error) == ("done", None)


class FlakyFileSystem(MemoryFileSystem):
    """``flaky://``: the memory store, but reading a path listed in ``failures`` raises a
    connection error that many times first, and every read is timed."""

    protocol = ("flaky",)
    failures: ClassVar[dict[str, int]] = {}
    reads: ClassVar[dict[str, list[float]]] = {}

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, str) and path.startswith("flaky://"):
            path = path[len("flaky://"):]
        return super()._strip_protocol(path)

    def cat_file(self, path: str, start: int | None = None, end: int | None = None,
                 **kwargs: Any) -> bytes:
        key = self._strip_protocol(path)
        self.reads.setdefault(key, []).append(time.monotonic())
        if self.failures.get(key, 0) > 0:
            self.failures[key] -= 1
            raise ConnectionResetError(f"connection reset while reading {key}")
        return bytes(super().cat_file(path, start, end, **kwargs))


@pytest.fixture
def flaky(memfs: MemoryFileSystem) -> Iterator[type[FlakyFileSystem]]:
    fsspec.register_implementation("flaky", FlakyFileSystem, clobber=True)
    FlakyFileSystem.failures.clear()
    FlakyFileSystem.reads.clear()
    yield FlakyFileSystem
    FlakyFileSystem.failures.clear()
    FlakyFileSystem.reads.clear()


def test_a_storage_hiccup_is_retried_after_a_backoff(
        flaky: type[FlakyFileSystem], memfs: MemoryFileSystem, image: Image_, ledger: Ledger,
        is_cutout: Check) -> None:
    memfs.pipe_file("/in/a.png", image(0))
    memfs.pipe_file("/in/b.png", image(1))
    flaky.failures["/in/a.png"] = 1
    events = Events()
    summary = run(make_spec("flaky://in", backoff=0.05), ledger, events)
    assert counts(summary) == {"listed": 2, "done": 2, "unchanged": 0, "skipped": 0,
                               "failed": 0, "retries": 1}
    assert events.seen == [("retry", "a.png"), ("done", "b.png"), ("done", "a.png")]
    a = ledger.get("flaky://in/a.png", DST)
    assert a is not None
    assert (a.status, a.attempts, a.error, a.run_id) == ("done", 2, None, summary.run_id)
    first, second = flaky.reads["/in/a.png"]
    assert second - first >= 0.05 * 0.5  # the backoff's shortest wait
    is_cutout(memfs.cat_file("/out/a.png"))


def test_a_storage_error_that_persists_fails_after_the_retries(
        flaky: type[FlakyFileSystem], memfs: MemoryFileSystem, image: Image_,
        ledger: Ledger) -> None:
    memfs.pipe_file("/in/a.png", image(0))
    flaky.failures["/in/a.png"] = 99
    events = Events()
    summary = run(make_spec("flaky://in", retries=2), ledger, events)
    assert (summary.done, summary.failed, summary.retries) == (0, 1, 2)
    assert events.seen == [("retry", "a.png"), ("retry", "a.png"), ("failed", "a.png")]
    assert len(flaky.reads["/in/a.png"]) == 3
    a = ledger.get("flaky://in/a.png", DST)
    assert a is not None and (a.status, a.attempts) == ("failed", 3)
    assert a.error == "read: connection reset while reading /in/a.png"
    assert [(f.input_url, f.reason) for f in summary.failures] == [("flaky://in/a.png", a.error)]
    assert not memfs.exists("/out/a.png")

    flaky.failures["/in/a.png"] = 99
    no_retries = run(make_spec("flaky://in", retries=0, retry_failed=True), ledger)
    assert (no_retries.failed, no_retries.retries) == (1, 0)
    assert len(flaky.reads["/in/a.png"]) == 4


# -- on success -----------------------------------------------------------------------------
def test_delete_removes_each_processed_input(inputs: dict[str, bytes], memfs: MemoryFileSystem,
                                             ledger: Ledger, is_cutout: Check) -> None:
    memfs.rm_file("/in/a.png")
    memfs.pipe_file("/in/broken.png", b"not an image")
    summary = run(make_spec(on_success="delete"), ledger)
    assert (summary.done, summary.failed) == (1, 1)
    assert not memfs.exists("/in/sub/b.png")
    is_cutout(memfs.cat_file("/out/sub/b.png"))
    assert rows(ledger)["sub/b.png"].details["input_moved"] == "delete"
    assert memfs.exists("/in/broken.png") and memfs.exists("/in/notes.txt")  # kept
    assert "input_moved" not in rows(ledger)["broken.png"].details
    again = run(make_spec(on_success="delete"), ledger)
    assert (again.listed, again.done, again.skipped, again.standing) == (1, 0, 0, 1)


def test_move_puts_processed_inputs_aside_once(inputs: dict[str, bytes],
                                               memfs: MemoryFileSystem, ledger: Ledger) -> None:
    summary = run(make_spec(on_success="move:memory://done/"), ledger)
    assert summary.done == 2
    for rel, data in inputs.items():
        assert not memfs.exists(f"/in/{rel}")
        assert memfs.cat_file(f"/done/{rel}") == data
        assert memfs.exists(f"/out/{rel}")
        assert rows(ledger)[rel].details["input_moved"] == "move:memory://done/"
    again = run(make_spec(on_success="move:memory://done/"), ledger)
    assert (again.listed, again.done, again.skipped) == (0, 0, 0)
    assert sorted(memfs.find("/done")) == sorted(f"/done/{rel}" for rel in INPUTS)


def test_move_into_a_new_local_folder_keeps_the_tree(tmp_path: Path, image: Image_,
                                                     ledger: Ledger) -> None:
    source, done = tmp_path / "in", tmp_path / "archive" / "done"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "b.png").write_bytes(image(1))
    summary = run(make_spec(str(source), str(tmp_path / "out"), on_success=f"move:{done}"),
                  ledger)
    assert summary.done == 1
    assert (done / "sub" / "b.png").read_bytes() == image(1)
    assert not (source / "sub" / "b.png").exists()
    assert "on_success_error" not in rows(ledger)["sub/b.png"].details
    assert [p.name for p in (done / "sub").iterdir()] == ["b.png"]  # no temp file left


# -- local folders and single files ---------------------------------------------------------
def test_local_folders_keep_the_tree_and_leave_no_temp_files(
        tmp_path: Path, image: Image_, ledger: Ledger, is_cutout: Check) -> None:
    source, sink = tmp_path / "in", tmp_path / "out"
    for n, rel in enumerate(INPUTS):
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(image(n))
    summary = run(make_spec(str(source), str(sink)), ledger)
    assert summary.done == 2
    written = sorted(p.relative_to(sink).as_posix() for p in sink.rglob("*") if p.is_file())
    assert written == sorted(INPUTS)
    for rel in INPUTS:
        is_cutout((sink / rel).read_bytes())
    assert rows(ledger)["sub/b.png"].input_url == f"{source}/sub/b.png"

    (source / "sub" / "b.png").write_bytes(image(1))  # same bytes, new mtime
    again = run(make_spec(str(source), str(sink)), ledger)
    assert (again.unchanged, again.skipped, again.done) == (1, 1, 0)


def test_a_single_file_source(tmp_path: Path, image: Image_, ledger: Ledger,
                              is_cutout: Check) -> None:
    photo = tmp_path / "in" / "photo.png"
    photo.parent.mkdir()
    photo.write_bytes(image(4))
    spec = make_spec(str(photo), str(tmp_path / "out"), on_success="delete")
    summary = run(spec, ledger)
    assert (summary.listed, summary.done) == (1, 1)
    is_cutout((tmp_path / "out" / "photo.png").read_bytes())
    (record,) = ledger.items()
    assert (record.input_url, record.rel) == (str(photo), "photo.png")
    assert record.output_url == f"{tmp_path / 'out'}/photo.png"
    assert "on_success_error" not in record.details
    assert not photo.exists()


def test_a_missing_source_fails_before_a_run_is_recorded(tmp_path: Path, ledger: Ledger) -> None:
    with pytest.raises(StorageError, match="no such folder"):
        run(make_spec(str(tmp_path / "typo"), str(tmp_path / "out")), ledger)
    assert ledger.runs() == []


# -- stopping and resuming ------------------------------------------------------------------
def test_stop_leaves_the_rest_for_the_next_run(memfs: MemoryFileSystem, image: Image_,
                                               ledger: Ledger, is_cutout: Check) -> None:
    names = [f"{n}.png" for n in range(3)]
    for n, rel in enumerate(names):
        memfs.pipe_file(f"/in/{rel}", image(n))
    first_events = Events(stop_after=1)
    first = run(make_spec(), ledger, first_events)
    assert first.interrupted and (first.done, first.failed) == (1, 0)
    assert ledger.counts(DST) == {"done": 1}  # nothing left running; the rest has no row yet
    assert [r["outcome"] for r in ledger.runs()] == ["interrupted"]

    second_events = Events()
    second = run(make_spec(), ledger, second_events)
    assert not second.interrupted
    assert (second.done, second.skipped) == (2, 1)
    done_in = {r.rel: r.run_id for r in ledger.items()}
    assert done_in == {**dict.fromkeys(names[:1], first.run_id),
                       **dict.fromkeys(names[1:], second.run_id)}
    assert sorted(first_events.of("done") + second_events.of("done")) == names  # once each
    assert all(r.attempts == 1 and r.status == "done" for r in ledger.items())
    for rel in names:
        is_cutout(memfs.cat_file(f"/out/{rel}"))
    assert [r["outcome"] for r in ledger.runs()] == ["interrupted", "finished"]


def test_stop_gives_back_waiting_retries_as_pending(flaky: type[FlakyFileSystem],
                                                    memfs: MemoryFileSystem, image: Image_,
                                                    ledger: Ledger) -> None:
    for n, rel in enumerate(["a.png", "b.png"]):
        memfs.pipe_file(f"/in/{rel}", image(n))
    flaky.failures["/in/a.png"] = 1
    events = Events(stop_after=1)
    started = time.monotonic()
    first = run(make_spec("flaky://in", backoff=30.0), ledger, events)
    assert time.monotonic() - started < 10  # a stop does not wait out the backoff
    assert first.interrupted and (first.done, first.retries) == (1, 1)
    assert events.seen == [("retry", "a.png"), ("done", "b.png")]
    recorded = rows(ledger)
    assert set(recorded) == {"a.png", "b.png"}
    assert (recorded["a.png"].status, recorded["a.png"].attempts) == ("pending", 1)
    assert recorded["a.png"].error == "read: connection reset while reading /in/a.png"
    assert recorded["b.png"].status == "done"
    assert ledger.counts(DST) == {"done": 1, "pending": 1}

    second = run(make_spec("flaky://in"), ledger)
    assert (second.done, second.skipped, second.interrupted) == (1, 1, False)
    assert ledger.counts(DST) == {"done": 2}
    assert rows(ledger)["a.png"].run_id == second.run_id
    assert len(flaky.reads["/in/b.png"]) == 1  # done exactly once


# -- report thumbnails ----------------------------------------------------------------------
def test_thumbnails_for_the_first_report_sample_items_only(
        inputs: dict[str, bytes], memfs: MemoryFileSystem, image: Image_, ledger: Ledger,
        tmp_path: Path) -> None:
    thumbs = tmp_path / "thumbs"
    run(make_spec(report_sample=1), ledger, thumbs_dir=thumbs)
    recorded = rows(ledger)
    assert [rel for rel, r in recorded.items() if "thumb_after" in r.details] == ["a.png"]
    assert "thumb_before" not in recorded["sub/b.png"].details
    names = sorted(recorded["a.png"].details[k] for k in ("thumb_before", "thumb_after"))
    assert sorted(p.name for p in thumbs.iterdir()) == names
    for name in names:
        with Image.open(thumbs / name) as thumb:
            assert (thumb.format, thumb.size) == ("JPEG", (160, 120))
    after = (thumbs / recorded["a.png"].details["thumb_after"]).read_bytes()

    memfs.pipe_file("/in/c.png", image(7))  # the sample is full: no more thumbnails
    run(make_spec(report_sample=1), ledger, thumbs_dir=thumbs)
    assert "thumb_after" not in rows(ledger)["c.png"].details
    assert sorted(p.name for p in thumbs.iterdir()) == names

    # new steps replace every result, so the new results get thumbnails of their own
    memfs.rm_file("/in/sub/b.png")
    memfs.rm_file("/in/c.png")
    run(make_spec(params={"trim": True}, report_sample=1), ledger, thumbs_dir=thumbs)
    recorded = rows(ledger)
    assert [rel for rel, r in recorded.items() if "thumb_after" in r.details] == ["a.png"]
    with Image.open(thumbs / recorded["a.png"].details["thumb_after"]) as thumb:
        assert max(thumb.size) < 100  # the trimmed result
    assert (thumbs / recorded["a.png"].details["thumb_after"]).read_bytes() != after


def test_an_input_redone_gets_thumbnails_of_its_new_content(
        inputs: dict[str, bytes], memfs: MemoryFileSystem, image: Image_, ledger: Ledger,
        tmp_path: Path) -> None:
    thumbs = tmp_path / "thumbs"
    run(make_spec(report_sample=1), ledger, thumbs_dir=thumbs)
    memfs.pipe_file("/in/a.png", image(11))  # a new photo under the same name
    run(make_spec(report_sample=1), ledger, thumbs_dir=thumbs)
    a = rows(ledger)["a.png"]
    new = hashlib.sha256(image(11)).hexdigest()[:20]
    assert (a.details["thumb_before"], a.details["thumb_after"]) == (
        f"{new}-before.jpg", f"{new}-after.jpg")
    assert (thumbs / a.details["thumb_before"]).is_file()
    assert (thumbs / a.details["thumb_after"]).is_file()
    assert "thumb_after" not in rows(ledger)["sub/b.png"].details  # still one in the sample


def test_an_unexpected_error_in_a_worker_fails_the_item_instead_of_hanging(
    tmp_path: Path, image: Callable[..., bytes]
):
    from lampyris.workflows.backends.local import LocalBackend
    from lampyris.workflows.item import WorkItem

    (tmp_path / "a.jpg").write_bytes(image(0))
    backend = LocalBackend(1, model=None)
    try:  # parameters no step validated (a bug elsewhere): pydantic raises in the worker
        item = WorkItem(Location(str(tmp_path)), str(tmp_path / "a.jpg"),
                        Location(str(tmp_path / "out")), str(tmp_path / "out" / "a.png"),
                        (Step("cutout", {"mirror_pass": 5}),), OutputSpec())
        outcome = backend.submit(item).result(timeout=60)
    finally:
        backend.close()
    assert not outcome.ok and not outcome.retryable
    assert "internal error" in (outcome.error or "") and "mirror_pass" in (outcome.error or "")
    assert not (tmp_path / "out" / "a.png").exists()
