"""The ledger's indexed lookups the batch runner names outputs with (issue 16): who owns an
output, where an input was written, how many report thumbnails are kept; and the index they
use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lampyris.workflows.ledger import Ledger, LedgerItem, Status

DEST, OTHER = "memory://out", "memory://elsewhere"


def item(rel: str, status: Status = "done", dest: str = DEST, **fields: Any) -> LedgerItem:
    fields.setdefault("output_url", f"{dest}/{rel}")
    fields.setdefault("fingerprint", "f" * 16)
    return LedgerItem(input_url=f"memory://in/{rel}", dest=dest, rel=rel, status=status,
                      **fields)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "run.ledger.db") as opened:
        yield opened


def test_owner_of_an_output_counts_done_inputs_of_that_destination_only(ledger: Ledger) -> None:
    ledger.put(item("a.png"))
    ledger.put(item("b.png", status="failed"))
    ledger.put(item("c.png", dest=OTHER))
    assert ledger.owner_of(DEST, f"{DEST}/a.png") == "memory://in/a.png"
    assert ledger.owner_of(DEST, f"{DEST}/b.png") is None  # failed: wrote nothing
    assert ledger.owner_of(DEST, f"{OTHER}/c.png") is None
    assert ledger.owner_of(OTHER, f"{OTHER}/c.png") == "memory://in/c.png"
    assert ledger.owner_of(DEST, f"{DEST}/nothing.png") is None


def test_two_records_of_one_output_the_latest_wins(ledger: Ledger) -> None:
    ledger.put(item("a.jpg", output_url=f"{DEST}/a.png"))
    ledger.put(item("a.gif", output_url=f"{DEST}/a.png"))
    assert ledger.owner_of(DEST, f"{DEST}/a.png") == "memory://in/a.gif"
    ledger.put(item("a.jpg", output_url=f"{DEST}/a.png"))  # written again since
    assert ledger.owner_of(DEST, f"{DEST}/a.png") == "memory://in/a.jpg"


def test_output_of_an_input_is_where_it_was_last_done(ledger: Ledger) -> None:
    ledger.put(item("a.jpg", output_url=f"{DEST}/a-2.png"))
    ledger.put(item("b.jpg", status="failed"))
    ledger.put(item("c.jpg", output_url=None))
    assert ledger.output_of("memory://in/a.jpg", DEST) == f"{DEST}/a-2.png"
    assert ledger.output_of("memory://in/a.jpg", OTHER) is None
    assert ledger.output_of("memory://in/b.jpg", DEST) is None
    assert ledger.output_of("memory://in/c.jpg", DEST) is None


def test_sampled_counts_kept_thumbnails_of_the_given_steps(ledger: Ledger) -> None:
    ledger.put(item("a.png", details={"thumb_after": "a-after.jpg"}))
    ledger.put(item("b.png", details={"thumb_after": "b-after.jpg"}, fingerprint="old"))
    ledger.put(item("c.png", details={"note": "no \"thumb_after\": here"}))
    ledger.put(item("d.png", status="failed", details={"thumb_after": "d-after.jpg"}))
    ledger.put(item("e.png", dest=OTHER, details={"thumb_after": "e-after.jpg"}))
    assert ledger.sampled(DEST, {"f" * 16}) == 1
    assert ledger.sampled(DEST, {"f" * 16, "old"}) == 2
    assert ledger.sampled(DEST, set()) == 0


def test_output_lookups_use_an_index(ledger: Ledger) -> None:
    plan = " ".join(str(row[-1]) for row in ledger._db.execute(
        "EXPLAIN QUERY PLAN SELECT input_url FROM items WHERE dest = ? AND output_url = ? "
        "AND status = 'done'", (DEST, f"{DEST}/a.png")))
    assert "USING INDEX items_output" in plan
