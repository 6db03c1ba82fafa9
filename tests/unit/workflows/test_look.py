"""House looks: saving and reading them, measuring files and batch sources (on what the toning
step will see), and keeping one in the ledger so that a repeated run tones toward it again."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from PIL import Image

from lampyris.errors import InvalidParameterError
from lampyris.imaging.autotone import HouseLook, measure_look
from lampyris.storage.locations import Location
from lampyris.workflows.ledger import Ledger
from lampyris.workflows.look import (
    STATE,
    batch_look,
    describe,
    measure_files,
    measure_source,
    read_look,
    with_look,
    write_look,
)
from lampyris.workflows.steps import Step, make_steps
from support.photos import photo

SRC, DST = Location("memory://in"), Location("memory://out")


def png(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "run.ledger.db") as opened:
        yield opened


def test_a_saved_look_reads_back(tmp_path: Path) -> None:
    look = HouseLook(key=0.52, cast=(0.1, -0.05))
    write_look(tmp_path / "look.json", look, images=12)
    assert read_look(tmp_path / "look.json") == look
    assert json.loads((tmp_path / "look.json").read_text())["images"] == 12
    assert describe(look) == "key 0.520 · cast R/G +0.100, B/G -0.050 (log2)"


@pytest.mark.parametrize(("text", "reason"), [
    ("not json", "not JSON"),
    ("[0.5]", 'a look is a JSON object with "key"'),
    ('{"cast": [0, 0]}', 'a look is a JSON object with "key"'),
    ('{"key": 1.5}', "key: Input should be less than 0.95"),
    ('{"key": 0.5, "cast": [0]}', "cast"),
])
def test_a_bad_look_file_says_why(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / "look.json").write_text(text)
    with pytest.raises(InvalidParameterError, match=f"look file .*look.json: .*{reason}"):
        read_look(tmp_path / "look.json")


def test_measuring_files_skips_the_unreadable_ones(tmp_path: Path) -> None:
    for stops in (-1.5, 0.0, 1.0):
        Image.fromarray(photo(stops)).save(tmp_path / f"{stops}.jpg", quality=95)
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    ticks: list[int] = []
    paths = sorted(tmp_path.iterdir())
    look, images = measure_files(paths, tick=lambda: ticks.append(1))
    assert images == 3 and len(ticks) == 4
    expected = measure_look(photo(s) for s in (-1.5, 0.0, 1.0))
    assert look is not None
    assert look.key == pytest.approx(expected.key, abs=0.02)  # thumbnails of JPEGs: close
    assert measure_files([tmp_path / "broken.jpg"]) == (None, 0)


def test_the_look_goes_to_toning_steps_without_their_own() -> None:
    own = {"key": 0.3, "cast": [0.0, 0.0]}
    steps = make_steps([("cutout", {}), ("auto_tone", {"strength": 0.5}),
                        ("edit", {"auto_tone": True}), ("edit", {}),
                        ("auto_tone", {"look": own})])
    aimed = with_look(steps, HouseLook(key=0.6))
    value = {"key": 0.6, "cast": [0.0, 0.0]}
    assert [s.params.get("look") for s in aimed] == [None, value, value, None, own]
    assert aimed[1].params["strength"] == 0.5


@pytest.fixture
def exposures(memfs: MemoryFileSystem) -> list[float]:
    """The same scene at three exposures in ``memory://in``."""
    stops = [-1.0, 0.0, 0.8]
    for n, s in enumerate(stops):
        memfs.pipe_file(f"/in/{n}.png", png(photo(s)))
    return stops


def test_a_batch_look_is_measured_once_then_kept(exposures: list[float], memfs: MemoryFileSystem,
                                                 ledger: Ledger) -> None:
    steps = make_steps([("auto_tone", {})])
    first = batch_look(SRC, DST, steps, ledger)
    assert first.measured and first.images == 3
    assert first.look == measure_look(photo(s) for s in exposures)
    stored = ledger.get_state(SRC.url, DST.url, STATE)
    assert (stored["key"], stored["images"]) == (first.look.key, 3)

    memfs.pipe_file("/in/3.png", png(photo(-3.0)))  # a new, very dark input
    again = batch_look(SRC, DST, steps, ledger)
    assert (again.look, again.measured, again.images) == (first.look, False, 3)
    other_sink = batch_look(SRC, Location("memory://elsewhere"), steps, ledger)
    assert other_sink.measured and other_sink.images == 4  # a look per source and sink

    remeasured = batch_look(SRC, DST, steps, ledger, remeasure=True)
    assert remeasured.measured and remeasured.images == 4
    assert remeasured.look != first.look


def test_changed_steps_before_the_tone_measure_again(exposures: list[float],
                                                     ledger: Ledger) -> None:
    batch_look(SRC, DST, make_steps([("auto_tone", {})]), ledger)
    same = batch_look(SRC, DST, make_steps([("auto_tone", {"strength": 0.3})]), ledger)
    assert not same.measured  # the tone's own options do not change what is measured
    changed = batch_look(SRC, DST, make_steps([("straighten", {}), ("auto_tone", {})]), ledger)
    assert changed.measured and changed.remeasured_because == (
        "the steps before auto tone changed")


def test_a_sample_spread_over_the_source(exposures: list[float]) -> None:
    listed: list[int] = []
    look, images = measure_source(SRC, [Step("auto_tone")], sample=2, on_listed=listed.append)
    assert (listed, images) == ([2], 2)
    assert look == measure_look(photo(s) for s in exposures[:2])  # items 0 and 1 of 3


def test_an_empty_source_or_no_toning_step_is_an_error(memfs: MemoryFileSystem,
                                                       ledger: Ledger) -> None:
    memfs.mkdir("/in")
    with pytest.raises(InvalidParameterError, match="no image to measure a house look over"):
        batch_look(SRC, DST, [Step("auto_tone")], ledger)
    with pytest.raises(InvalidParameterError, match="needs an auto_tone step"):
        batch_look(SRC, DST, [Step("cutout"), Step("edit")], ledger)


def test_after_a_cutout_the_subject_is_measured(memfs: MemoryFileSystem,
                                                make_subject: Callable[..., Any]) -> None:
    """A dark subject on a white studio floor: measured whole, the look is the floor's; after
    the cutout, the subject's."""
    rgb = make_subject(240, 320, colour=(90, 60, 40), background=(245, 245, 245)).rgb
    memfs.pipe_file("/in/a.png", png(rgb))
    whole, _ = measure_source(SRC, make_steps([("auto_tone", {})]))
    subject, _ = measure_source(SRC, make_steps([("cutout", {"background": "white",
                                                             "shadow": True}),
                                                 ("auto_tone", {})]))
    assert whole is not None and subject is not None
    assert subject.key < whole.key - 0.2
