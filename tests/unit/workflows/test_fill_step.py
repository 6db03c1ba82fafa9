"""The ``fill`` batch step: after a cutout it draws a new background into the transparent area,
in the runner (inline backend), through ``lampyris batch`` and ``lampyris run`` (local worker
processes); and the chains it cannot work in are refused before any input is read."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

import lampyris.cli.batch as cli_batch
from lampyris.cli.app import app
from lampyris.errors import InvalidParameterError
from lampyris.storage.locations import Location
from lampyris.workflows.backends.inline import InlineBackend
from lampyris.workflows.batch import BatchRunner, BatchSpec
from lampyris.workflows.ledger import Ledger, LedgerItem
from lampyris.workflows.steps import Call, OutputSpec, check_output, execution, make_steps

Image_ = Callable[..., bytes]
WIDTH, HEIGHT = 160, 120  # conftest's generated inputs
CHAIN: list[tuple[str, dict[str, Any]]] = [
    ("cutout", {}), ("fill", {"prompt": "white marble"}), ("auto_tone", {})]


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("LAMPYRIS_LEDGER", "LAMPYRIS_JOBS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli_batch, "console", Console(stderr=True, width=500, no_color=True))
    return tmp_path


@pytest.fixture
def inputs(workdir: Path, image: Image_) -> Path:
    """Three different product photos (red discs on light grey) in ``in/``."""
    folder = workdir / "in"
    for n, rel in enumerate(("a.png", "b.jpg", "sub/c.png")):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(image(n, "JPEG" if rel.endswith(".jpg") else "PNG"))
    return folder


def assert_filled_product(data: bytes, fmt: str) -> None:
    """An opaque picture the input's size: the red disc still red in the middle, and a light
    marble backdrop in the corners where the grey studio background was."""
    with Image.open(io.BytesIO(data)) as out:
        assert (out.format, out.mode, out.size) == (fmt, "RGB", (WIDTH, HEIGHT))
        rgb = np.asarray(out).astype(int)
    red, green, blue = rgb[HEIGHT // 2, WIDTH // 2]
    assert red > 120 and red - green > 60 and red - blue > 60, "the product is kept"
    corners = rgb[[3, 3, -4, -4], [3, -4, 3, -4]]
    assert (corners.min(axis=1) > 170).all(), "a light backdrop, not transparency made black"


def assert_fill_recorded(item: LedgerItem) -> None:
    assert item.status == "done" and item.error is None
    fill = item.details["steps"]["fill"]
    assert fill["engine"] == "studio"
    assert fill["fidelity"] == {"held": True, "changed_outside": 0, "max_difference_outside": 0}
    assert "marble" in fill["understood"]
    assert item.details["steps"]["cutout"] and item.details["steps"]["auto_tone"]


# -- the chain ------------------------------------------------------------------------------
def test_fill_is_a_step_that_runs_the_fill_op_after_the_cutout() -> None:
    steps = make_steps(CHAIN)
    assert [(s.name, s.op) for s in steps] == [
        ("cutout", "cutout"), ("fill", "fill"), ("auto_tone", "auto_tone")]
    assert execution(steps) == [  # the fill composites: the cutout decontaminates for it
        Call("cutout", "cutout", {"decontaminate": 1.0}),
        Call("fill", "fill", {"prompt": "white marble"}), Call("auto_tone", "auto_tone", {})]
    check_output(steps, OutputSpec("jpeg"))  # the fill makes it opaque: JPEG is fine


@pytest.mark.parametrize(("chain", "message"), [
    ([("cutout", {"background": "white"}), ("fill", {})], "puts the subject on a background"),
    ([("cutout", {"background": "white"}), ("auto_tone", {}), ("fill", {})],
     "puts the subject on a background"),
    ([("cutout", {"mode": "mask"}), ("fill", {})], "the cutout before it writes a mask"),
    ([("cutout", {"mode": "mask"}), ("rendition", {}), ("fill", {})],
     "the cutout before it writes a mask"),
    ([("refine_mask", {}), ("fill", {})], "the refine_mask before it writes a mask"),
    ([("cutout", {"background": "white"}), ("rendition", {}), ("fill", {})],
     "puts the subject on a background"),
    ([("cutout", {}), ("fill", {"engine": "magic"})], "step 'fill': engine"),
    ([("cutout", {}), ("fill", {"seed": -1})], "step 'fill': seed"),
])
def test_a_fill_that_cannot_work_is_refused(chain: list[tuple[str, dict[str, Any]]],
                                            message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        make_steps(chain)


# -- the runner -----------------------------------------------------------------------------
@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "run.ledger.db") as opened:
        yield opened


@pytest.mark.parametrize(("fmt", "pil"), [("png", "PNG"), ("jpeg", "JPEG")])
def test_a_batch_cuts_out_fills_and_tones_every_input(inputs: Path, workdir: Path,
                                                      ledger: Ledger, fmt: Any,
                                                      pil: str) -> None:
    spec = BatchSpec(Location(str(inputs)), Location(str(workdir / "out")),
                     tuple(make_steps(CHAIN)), output=OutputSpec(fmt))
    summary = BatchRunner(spec, ledger, InlineBackend()).run()
    assert (summary.listed, summary.done, summary.failed) == (3, 3, 0), summary.failures
    ext = spec.output.extension
    for rel in ("a", "b", "sub/c"):
        assert_filled_product((workdir / "out" / f"{rel}.{ext}").read_bytes(), pil)
    items = list(ledger.items())
    assert len(items) == 3
    for item in items:
        assert_fill_recorded(item)


def test_the_same_seed_fills_the_same_and_another_seed_differently(
        inputs: Path, workdir: Path, ledger: Ledger) -> None:
    def run(sink: str, seed: int) -> bytes:
        chain = [("cutout", {}), ("fill", {"prompt": "white marble", "seed": seed})]
        spec = BatchSpec(Location(str(inputs / "a.png")), Location(str(workdir / sink)),
                         tuple(make_steps(chain)))
        assert BatchRunner(spec, ledger, InlineBackend()).run().done == 1
        return (workdir / sink / "a.png").read_bytes()

    first = run("one", 3)
    assert run("two", 3) == first
    assert run("three", 4) != first


# -- the commands ---------------------------------------------------------------------------
def test_lampyris_batch_runs_cutout_fill_auto_tone(inputs: Path, workdir: Path) -> None:
    result = CliRunner().invoke(app, [
        "batch", "in", "out", "--steps", "cutout,fill,auto_tone", "--prompt", "white marble",
        "--format", "jpeg", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "done 3 · unchanged 0 · skipped 0 · failed 0" in " ".join(result.output.split())
    for rel in ("a", "b", "sub/c"):
        assert_filled_product((workdir / "out" / f"{rel}.jpg").read_bytes(), "JPEG")
    records = workdir / "out" / ".lampyris"  # the destination's own ledger and summary
    with Ledger(records / "ledger.db") as ledger:
        items = list(ledger.items())
        assert len(items) == 3
        for item in items:
            assert_fill_recorded(item)
    summary = json.loads((records / "summary.json").read_text())
    assert summary["run"]["steps"] == ["cutout", "fill", "auto_tone"]


def test_lampyris_run_runs_a_workflow_with_a_fill_step(inputs: Path, workdir: Path) -> None:
    (workdir / "flow.yaml").write_text(
        "source: in\n"
        "sink: catalog\n"
        "steps:\n"
        "  - cutout: {}\n"
        "  - fill: {prompt: white marble, engine: studio, seed: 7}\n"
        "  - auto_tone: {strength: 0.8}\n"
        "output: {format: png}\n"
        "concurrency: 1\n"
    )
    result = CliRunner().invoke(app, ["run", "flow.yaml"])
    assert result.exit_code == 0, result.output
    for rel in ("a", "b", "sub/c"):
        assert_filled_product((workdir / "catalog" / f"{rel}.png").read_bytes(), "PNG")
    with Ledger(workdir / "flow.ledger.db") as ledger:
        for item in ledger.items():
            assert_fill_recorded(item)
            assert item.details["steps"]["fill"]["seed"] == 7
