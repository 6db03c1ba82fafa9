"""The batch runner over inputs its caller listed and named (``Entry``: the file commands'):
each entry's own output settings and seed, the XMP sidecar before the image, an extra image
for every item, existing outputs kept unless asked, the ledger's resume, metadata on request,
failures as outcomes, and a worker's death retried. (These took over from the file commands'
own engine, ``workflows.filejob`` and ``workflows.local``, when they joined the runner.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from lampyris.imaging.xmp import read_preset
from lampyris.ops.pool import died_message
from lampyris.storage.locations import Location
from lampyris.workflows.backends import local
from lampyris.workflows.backends.inline import InlineBackend
from lampyris.workflows.batch import BatchRunner, BatchSpec, Entry, RunSummary
from lampyris.workflows.inputs import FileTask, entries, same_format
from lampyris.workflows.item import ExtraImage, ItemOutcome, WorkItem, process
from lampyris.workflows.ledger import Ledger
from lampyris.workflows.steps import OutputSpec, Step, fingerprint


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A red disc on grey with an EXIF tag (Artist) to carry over."""
    img = np.full((120, 160, 3), 238, np.uint8)
    cv2.circle(img, (80, 60), 40, (200, 30, 30), -1)
    exif = Image.Exif()
    exif[0x013B] = "lampyris tests"
    path = tmp_path / "in" / "photo.jpg"
    path.parent.mkdir()
    Image.fromarray(img).save(path, exif=exif)
    return path


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    with Ledger(Path(":memory:")) as opened:
        yield opened


def run(tasks: list[FileTask], out: Path, step: Step, ledger: Ledger, *,
        output: Callable[[Path], OutputSpec] = lambda dest: OutputSpec(),
        skip_existing: bool = True, images: tuple[ExtraImage, ...] = (),
        backend: Any = None, events: list[tuple[str, str]] | None = None) -> RunSummary:
    """The tasks through the runner as the file commands run them."""
    spec = BatchSpec(Location(str(tasks[0].source.parent)), Location(str(out)), (step,),
                     retry_failed=True, settle=0.0, skip_existing=skip_existing,
                     images=images, backoff=0.01)
    seen = events if events is not None else []
    runner = BatchRunner(spec, ledger, backend or InlineBackend(),
                         listener=lambda event, item: seen.append((event, item.input_url)),
                         entries=entries(tasks, out, output))
    return runner.run()


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


def test_an_entry_is_written_where_it_is_named_and_leaves_no_temp_file(
        photo: Path, tmp_path: Path, ledger: Ledger) -> None:
    out = tmp_path / "out"
    task = FileTask(photo, out / "deep" / "photo.png")
    summary = run([task], out, Step("cutout"), ledger)
    assert (summary.done, summary.failed) == (1, 0), summary.failures
    cut = pixels(task.destination)
    assert cut.shape == (120, 160, 4) and cut[60, 80, 3] == 255 and cut[2, 2, 3] == 0
    assert list(task.destination.parent.iterdir()) == [task.destination]
    assert [item.input_url for item in ledger.items()] == [str(photo)]


def test_an_existing_output_is_skipped_unless_asked(photo: Path, tmp_path: Path,
                                                    ledger: Ledger) -> None:
    out = tmp_path / "out"
    dest = out / "photo.png"
    dest.parent.mkdir()
    dest.write_bytes(b"previous")
    events: list[tuple[str, str]] = []
    skipped = run([FileTask(photo, dest)], out, Step("cutout"), ledger, events=events)
    assert (skipped.skipped, skipped.done) == (1, 0) and dest.read_bytes() == b"previous"
    assert events == [("skipped", str(photo))]
    done = run([FileTask(photo, dest)], out, Step("cutout"), ledger, skip_existing=False)
    assert done.done == 1 and dest.read_bytes()[:4] == b"\x89PNG"


def test_a_kept_ledger_resumes_even_where_outputs_are_replaced(photo: Path, tmp_path: Path,
                                                               ledger: Ledger) -> None:
    out = tmp_path / "out"
    task = FileTask(photo, out / "photo.png", seed=1)
    step = Step("edit", {"settings": {"exposure": 0.5}})
    assert run([task], out, step, ledger, skip_existing=False).done == 1
    again = run([task], out, step, ledger, skip_existing=False)
    assert (again.done, again.skipped) == (0, 1)
    other_seed = run([replace(task, seed=2)], out, step, ledger, skip_existing=False)
    assert other_seed.done == 1  # a seed is part of what the ledger compares


@pytest.mark.parametrize("keep", [True, False])
def test_metadata_only_on_request(photo: Path, tmp_path: Path, ledger: Ledger,
                                  keep: bool) -> None:
    out = tmp_path / "out"
    summary = run([FileTask(photo, out / "photo.jpg")], out,
                  Step("cutout", {"background": "white"}), ledger,
                  output=lambda dest: OutputSpec("jpeg", keep_metadata=keep))
    assert summary.done == 1, summary.failures
    with Image.open(out / "photo.jpg") as img:
        assert img.getexif().get(0x013B) == ("lampyris tests" if keep else None)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"not an image", "not"), (b"", "empty"), (None, "truncated")],
)
def test_bad_files_and_impossible_outputs_fail_with_a_reason(
        photo: Path, tmp_path: Path, ledger: Ledger, content: bytes | None,
        reason: str) -> None:
    bad = tmp_path / "in" / "bad.jpg"
    bad.write_bytes(photo.read_bytes()[:2000] if content is None else content)
    out = tmp_path / "out"
    tasks = [FileTask(bad, out / "bad.png"), FileTask(photo, out / "photo.jpg")]
    summary = run(tasks, out, Step("cutout"), ledger,
                  output=lambda dest: OutputSpec(same_format(dest)))  # JPEG, no background
    assert (summary.done, summary.failed) == (0, 2)
    reasons = {f.input_url: f.reason.lower() for f in summary.failures}
    assert reason in reasons[str(bad)] and "alpha" in reasons[str(photo)]
    assert not out.exists() or not list(out.iterdir())


def test_each_entry_keeps_its_own_format_and_its_sidecar_comes_first(
        photo: Path, tmp_path: Path, ledger: Ledger) -> None:
    dim = tmp_path / "in" / "dim.png"  # under-exposed, so auto tone has something to choose
    Image.fromarray(pixels(photo) // 3).save(dim)
    out = tmp_path / "out"
    tasks = [FileTask(photo, out / "photo.jpg"), FileTask(dim, out / "dim.png")]
    summary = run(tasks, out, Step("auto_tone", {"strength": 0.5}), ledger,
                  output=lambda dest: OutputSpec(same_format(dest), sidecar="also"))
    assert summary.done == 2, summary.failures
    with Image.open(out / "photo.jpg") as img:
        assert img.format == "JPEG" and img.size == (160, 120)
    with Image.open(out / "dim.png") as img:
        assert img.format == "PNG"
    preset = read_preset((out / "dim.xmp").read_bytes())
    assert preset.settings["exposure"] != 0  # what auto tone chose, at half strength
    assert (out / "photo.xmp").is_file()


def test_variations_of_one_input_are_entries_of_their_own_with_one_extra_image(
        tmp_path: Path, ledger: Ledger) -> None:
    rng = np.random.default_rng(0)
    room = tmp_path / "in" / "room.png"
    room.parent.mkdir()
    Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(room)
    mask = np.zeros((60, 80), np.uint8)
    mask[20:40, 30:50] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    stamp = "1"
    extra = (ExtraImage("mask", str(tmp_path / "mask.png"), stamp),)
    out = tmp_path / "out"
    tasks = [FileTask(room, out / f"room-{seed}.png", seed, variation=True) for seed in (3, 4)]
    summary = run(tasks, out, Step("fill", {"engine": "studio"}), ledger, images=extra)
    assert summary.done == 2, summary.failures
    assert sorted(item.input_url for item in ledger.items()) == [
        f"{room}#seed=3", f"{room}#seed=4"]
    first, second = pixels(out / "room-3.png"), pixels(out / "room-4.png")
    kept = mask == 0
    original = pixels(room)
    assert np.array_equal(first[kept], original[kept]) and not np.array_equal(first, second)

    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "small.png")
    small = (ExtraImage("mask", str(tmp_path / "small.png"), stamp),)
    failed = run(tasks[:1], out, Step("fill", {"engine": "studio"}), ledger, images=small,
                 skip_existing=False)
    assert [f.reason for f in failed.failures] == [
        "the mask is 10x10 but the image is 80x60: one --mask applies to every input, so "
        "they must be the same size"]


def test_one_file_named_twice_is_two_entries(photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    listed = entries([FileTask(photo, out / "photo.png"), FileTask(photo, out / "in/photo.png")],
                     out, lambda dest: OutputSpec())
    assert [e.key for e in listed] == [str(photo), f"{photo}#to=in/photo.png"]


def test_an_entry_without_seed_or_images_has_its_batch_fingerprint(tmp_path: Path) -> None:
    spec = BatchSpec(Location(str(tmp_path)), Location(str(tmp_path / "out")),
                     (Step("cutout"),))
    with Ledger(Path(":memory:")) as ledger:
        runner = BatchRunner(spec, ledger, InlineBackend(), entries=[
            Entry("a", str(tmp_path / "a.png"), "1", "a.png"),
            Entry("b", str(tmp_path / "b.png"), "1", "b.png", seed=2)])
    assert runner._fingerprint_of("a") == fingerprint([Step("cutout")], OutputSpec())
    assert runner._fingerprint_of("b") != runner._fingerprint_of("a")


class _DiesOnce:
    """The local backend's answer for a worker that died on the first item, then inline."""

    name, capacity = "dies-once", 1

    def __init__(self) -> None:
        self.calls = 0

    def submit(self, item: WorkItem) -> Future[ItemOutcome]:
        self.calls += 1
        future: Future[ItemOutcome] = Future()
        future.set_result(ItemOutcome(False, error=local.DIED, retryable=True)
                          if self.calls == 1 else process(item))
        return future

    def close(self, *, cancel: bool = False) -> None:
        pass


def test_a_worker_that_died_is_retried(photo: Path, tmp_path: Path, ledger: Ledger) -> None:
    out = tmp_path / "out"
    backend = _DiesOnce()
    summary = run([FileTask(photo, out / "photo.png")], out, Step("cutout"), ledger,
                  backend=backend)
    assert (summary.done, summary.retries, backend.calls) == (1, 1, 2)
    assert died_message("file") == local.DIED
