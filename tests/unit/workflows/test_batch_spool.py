"""The batch runner through its spool (issue 16): naming more inputs than one chunk still
refuses or numbers every collision, an output the ledger gives another input still fails
the input that would overwrite it, wherever it comes in the listing, and every spool is
closed (deleted) after a run, a refused run or a dry run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from lampyris.errors import InvalidParameterError
from lampyris.storage.locations import Location
from lampyris.workflows import batch, spool
from lampyris.workflows.backends.inline import InlineBackend
from lampyris.workflows.batch import BatchRunner, BatchSpec, Event
from lampyris.workflows.ledger import Ledger, LedgerItem
from lampyris.workflows.steps import make_steps

Image_ = Callable[..., bytes]
MANY = spool.CHUNK + 200  # more inputs than the spool reads back at once


def spec(**fields: Any) -> BatchSpec:
    fields.setdefault("backoff", 0.01)
    return BatchSpec(Location("memory://in"), Location("memory://out"),
                     tuple(make_steps([("auto_tone", {})])), **fields)


def earlier(ledger: Ledger, rel: str, output_rel: str) -> None:
    """An input done on an earlier run into ``output_rel``, and no longer listed."""
    ledger.put(LedgerItem(input_url=f"memory://in/{rel}", dest="memory://out", rel=rel,
                          fingerprint="earlier", status="done",
                          output_url=f"memory://out/{output_rel}"))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "run.ledger.db") as opened:
        yield opened


@pytest.fixture
def spools(monkeypatch: pytest.MonkeyPatch) -> list[spool.Spool]:
    """Every spool the runner makes during the test."""
    made: list[spool.Spool] = []

    class Watched(spool.Spool):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(batch, "Spool", Watched)
    return made


def test_number_names_every_collision_across_chunks(memfs: MemoryFileSystem,
                                                    ledger: Ledger) -> None:
    for n in range(MANY // 2):
        memfs.pipe_file(f"/in/k{n:04d}.jpg", b"jpeg")
        memfs.pipe_file(f"/in/k{n:04d}.png", b"png")
    earlier(ledger, "gone.jpg", "k0005.png")  # moved away: its output is still its own
    summary, planned = BatchRunner(spec(naming="number"), ledger, InlineBackend()).preview()
    outputs = {item.rel: item.output_url for item in planned}
    assert summary.listed == len(planned) == len(outputs) == MANY
    assert len(set(outputs.values())) == MANY
    assert outputs["k0000.jpg"] == "memory://out/k0000.png"
    assert outputs["k0000.png"] == "memory://out/k0000-2.png"
    assert outputs["k0005.jpg"] == "memory://out/k0005-2.png"
    assert outputs["k0005.png"] == "memory://out/k0005-3.png"
    last = MANY // 2 - 1
    assert outputs[f"k{last:04d}.png"] == f"memory://out/k{last:04d}-2.png"
    assert [item.rel for item in planned] == sorted(outputs)  # in listing order


def test_a_collision_past_the_first_chunk_refuses_the_run(
        memfs: MemoryFileSystem, ledger: Ledger, spools: list[spool.Spool]) -> None:
    for n in range(MANY):
        memfs.pipe_file(f"/in/k{n:04d}.jpg", b"jpeg")
    memfs.pipe_file("/in/z.jpg", b"jpeg")
    memfs.pipe_file("/in/z.png", b"png")
    for attempt in ("run", "preview"):
        runner = BatchRunner(spec(), ledger, InlineBackend())
        with pytest.raises(InvalidParameterError) as refused:
            getattr(runner, attempt)()
        assert ("memory://in/z.jpg and memory://in/z.png would both be written to "
                "memory://out/z.png") in str(refused.value)
    assert len(spools) == 2 and all(made.closed for made in spools)  # none left behind
    assert ledger.runs() == [] and not memfs.exists("/out")


def test_an_earlier_inputs_output_fails_the_input_wherever_it_is_listed(
        memfs: MemoryFileSystem, ledger: Ledger, image: Image_) -> None:
    """The clash comes after an input that is processed: it is recorded all the same, so
    the next run reports it as standing, not as new."""
    memfs.pipe_file("/in/a.png", image(0))
    memfs.pipe_file("/in/b.jpg", image(1, "JPEG"))
    earlier(ledger, "gone.jpg", "b.png")
    first = BatchRunner(spec(), ledger, InlineBackend()).run()
    assert (first.done, first.failed, first.standing) == (1, 1, 0)
    assert "memory://in/gone.jpg and memory://in/b.jpg would both be written to " \
           "memory://out/b.png" in first.failures[0].reason
    refused = ledger.get("memory://in/b.jpg", "memory://out")
    assert refused is not None and refused.status == "failed"
    assert refused.run_id == first.run_id and refused.details["clash"] is True
    again = BatchRunner(spec(), ledger, InlineBackend()).run()
    assert (again.done, again.skipped, again.failed, again.standing) == (0, 1, 0, 1)
    assert again.failures[0].standing


def test_the_spool_is_deleted_after_a_run_or_a_dry_run(
        memfs: MemoryFileSystem, ledger: Ledger, image: Image_,
        spools: list[spool.Spool]) -> None:
    for n in range(3):
        memfs.pipe_file(f"/in/{n}.png", image(n))
    during: list[bool] = []

    def listener(event: Event, item: LedgerItem) -> None:
        during.append(spools[-1].closed)

    BatchRunner(spec(), ledger, InlineBackend()).preview()
    assert len(spools) == 1 and spools[0].closed
    summary = BatchRunner(spec(), ledger, InlineBackend(), listener=listener).run()
    assert summary.done == 3
    assert during == [False] * 3  # open while the run used it
    assert len(spools) == 2 and spools[1].closed
