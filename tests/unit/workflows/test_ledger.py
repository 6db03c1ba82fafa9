"""The SQLite ledger: records round-trip whole, filters and counts, runs, and reopening."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lampyris.workflows.ledger import Ledger, LedgerItem, Status

DEST, OTHER = "memory://out", "memory://elsewhere"


def item(rel: str, status: Status = "done", dest: str = DEST, **fields: Any) -> LedgerItem:
    return LedgerItem(input_url=f"memory://in/{rel}", dest=dest, rel=rel, fingerprint="f" * 16,
                      status=status, **fields)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "deep" / "run.ledger.db") as opened:
        yield opened


def test_put_then_get_returns_every_field(ledger: Ledger) -> None:
    record = item(
        "sub/a.png", stamp="123:1700000000.5", content_hash="c" * 64,
        output_url="memory://out/sub/a.png", error=None, attempts=2, run_id=7,
        started=1.5, finished=2.75, seconds=1.25,
        timings={"read": 0.01, "process": 0.2, "write": 0.003},
        details={"width": 160, "steps": {"cutout": {"subject_box": [1, 2, 3, 4]}},
                 "thumb_after": "x-after.jpg", "note": "é ✓"},
    )
    ledger.put(record)
    assert ledger.get(record.input_url, DEST) == record
    assert ledger.get(record.input_url, OTHER) is None
    assert ledger.get("memory://in/nothing.png", DEST) is None


def test_put_replaces_the_whole_record(ledger: Ledger) -> None:
    ledger.put(item("a.png", "failed", error="decode: broken", details={"old": 1}))
    ledger.put(item("a.png", "done", details={"new": 2}))
    got = ledger.get("memory://in/a.png", DEST)
    assert got is not None
    assert (got.status, got.error, got.details) == ("done", None, {"new": 2})
    assert len(list(ledger.items())) == 1


def test_the_same_input_is_one_record_per_destination(ledger: Ledger) -> None:
    ledger.put(item("a.png", dest=DEST))
    ledger.put(item("a.png", "failed", dest=OTHER))
    assert [i.status for i in ledger.items(dest=DEST)] == ["done"]
    assert [i.status for i in ledger.items(dest=OTHER)] == ["failed"]


def test_items_filter_by_status_and_dest_in_rel_order(ledger: Ledger) -> None:
    for rel, status, dest in [("c.png", "done", DEST), ("a.png", "done", DEST),
                              ("b.png", "failed", DEST), ("d.png", "pending", DEST),
                              ("e.png", "done", OTHER)]:
        ledger.put(item(rel, status, dest))
    assert [i.rel for i in ledger.items()] == ["a.png", "b.png", "c.png", "d.png", "e.png"]
    assert [i.rel for i in ledger.items(status="done")] == ["a.png", "c.png", "e.png"]
    assert [i.rel for i in ledger.items(status="done", dest=DEST)] == ["a.png", "c.png"]
    assert [i.rel for i in ledger.items(dest=OTHER)] == ["e.png"]
    assert list(ledger.items(status="running")) == []


def test_counts_overall_and_per_destination(ledger: Ledger) -> None:
    assert ledger.counts() == {}
    for rel, status, dest in [("a.png", "done", DEST), ("b.png", "done", DEST),
                              ("c.png", "failed", DEST), ("d.png", "done", OTHER),
                              ("e.png", "pending", OTHER)]:
        ledger.put(item(rel, status, dest))
    assert ledger.counts(DEST) == {"done": 2, "failed": 1}
    assert ledger.counts(OTHER) == {"done": 1, "pending": 1}
    assert ledger.counts() == {"done": 3, "failed": 1, "pending": 1}


def test_runs_start_and_finish(ledger: Ledger) -> None:
    before = time.time()
    first = ledger.start_run("memory://in", DEST, ["cutout"])
    second = ledger.start_run("memory://in", OTHER, ["cutout", "cutout"])
    assert second == first + 1
    ledger.finish_run(first, "finished")
    runs = ledger.runs()
    assert [r["id"] for r in runs] == [first, second]
    assert runs[0]["outcome"] == "finished"
    assert before <= runs[0]["started"] <= runs[0]["finished"] <= time.time()
    assert (runs[1]["finished"], runs[1]["outcome"]) == (None, None)
    assert runs[1]["dest"] == OTHER
    assert runs[1]["steps"] == '["cutout", "cutout"]'


def test_everything_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "run.ledger.db"
    record = item("a.png", timings={"read": 0.5}, details={"width": 10})
    with Ledger(path) as ledger:
        run = ledger.start_run("memory://in", DEST, ["cutout"])
        ledger.put(record)
        ledger.finish_run(run, "interrupted")
    with Ledger(path) as ledger:
        assert ledger.get(record.input_url, DEST) == record
        assert [(r["id"], r["outcome"]) for r in ledger.runs()] == [(run, "interrupted")]
        assert ledger.start_run("memory://in", DEST, ["cutout"]) == run + 1
        assert ledger.counts() == {"done": 1}


def test_state_is_kept_per_source_and_destination(tmp_path: Path) -> None:
    path = tmp_path / "run.ledger.db"
    with Ledger(path) as ledger:
        assert ledger.get_state("memory://in", DEST, "look") is None
        ledger.put_state("memory://in", DEST, "look", {"key": 0.5, "cast": [0.0, 0.1]})
        ledger.put_state("memory://in", OTHER, "look", {"key": 0.4})
        ledger.put_state("memory://in", DEST, "look", {"key": 0.6, "cast": [0.0, 0.1]})
    with Ledger(path) as reopened:
        assert reopened.get_state("memory://in", DEST, "look") == {"key": 0.6, "cast": [0.0, 0.1]}
        assert reopened.get_state("memory://in", OTHER, "look") == {"key": 0.4}
        assert reopened.get_state("memory://in", DEST, "other") is None
