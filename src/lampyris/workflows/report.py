"""What a batch run leaves behind for people and machines: a JSON summary and an HTML report.

The JSON is for scripts and CI (counts, failures, what ran); the HTML is one self-contained
file (inline CSS, thumbnails as data: URIs) that can be mailed or moved on its own. Both are
written atomically, so a reader never sees half a report, and both stream from the ledger, so
a run of 100,000 items costs no more memory than a run of ten.

A result's review reads the same wherever it is shown (``review_parts``, ``review_line``):
the CLI summaries, ``batch status`` and the HTML report. This module imports no runner,
so ``batch status`` loads none.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from lampyris.workflows.ledger import Ledger, LedgerItem

if TYPE_CHECKING:
    from lampyris.workflows.batch import RunSummary

MAX_JSON_FAILURES = 1000
MAX_JSON_ITEMS = 1000
STATUSES = ("done", "failed", "pending", "running")


def summary_json(summary: RunSummary, ledger: Ledger, dest: str, *,
                 max_failures: int = MAX_JSON_FAILURES,
                 max_items: int = MAX_JSON_ITEMS) -> dict[str, Any]:
    """The run as plain JSON data: this run's counts, the ledger's totals for ``dest``, this
    run's failures and notices (at most ``max_failures`` of each; ``failures_left_out`` and
    ``notices_left_out`` say how many more), and the destination's items worst first (failed,
    then flagged for review by score ascending, then the rest; at most ``max_items``, with
    ``items_left_out``), each with its ``review``.

    Usage:
        write_json(Path("run.json"), summary_json(summary, ledger, sink.url))
    """
    run = find_run(ledger, summary.run_id)
    totals = ledger.counts(dest)
    failures = [{"input": f.input_url, "reason": f.reason, "since": _iso(f.since),
                 "standing": f.standing}
                for f in islice(summary.failures, max(0, max_failures))]
    notices = [{"input": n.input_url, "notice": n.text}
               for n in islice(summary.notices, max(0, max_failures))]
    items = [_item_json(item)
             for item in islice(ledger.items(dest=dest, worst_first=True), max(0, max_items))]
    return {
        "run": {
            "id": summary.run_id,
            "source": run.get("source"),
            "dest": run.get("dest", dest),
            "steps": _steps(run),
            "started": run.get("started"),
            "finished": run.get("finished"),
            "outcome": run.get("outcome"),
        },
        "this_run": {
            "listed": summary.listed,
            "done": summary.done,
            "unchanged": summary.unchanged,
            "skipped": summary.skipped,
            "failed": summary.failed,
            "standing_failures": summary.standing,
            "with_notices": len({n.input_url for n in summary.notices}),
            "still_being_written": summary.settling,
            "retries": summary.retries,
            "interrupted": summary.interrupted,
            "seconds": round(summary.seconds, 3),
            "images_per_second": round(summary.rate, 3),
        },
        "ledger": {
            **{status: totals.get(status, 0) for status in STATUSES},
            "total": sum(totals.values()),
        },
        "review": {  # results a person should check: this run's, and the ledger's for dest
            "threshold": summary.review_threshold,
            "this_run": summary.flagged,
            "moved": summary.routed,
            "ledger": ledger.flagged(dest),
        },
        "failures": failures,
        "failures_left_out": len(summary.failures) - len(failures),
        "notices": notices,
        "notices_left_out": len(summary.notices) - len(notices),
        "items": items,
        "items_left_out": max(0, sum(totals.values()) - len(items)),
    }


def _item_json(item: LedgerItem) -> dict[str, Any]:
    """One input as the summary lists it: where it went, its state and its review."""
    return {
        "input": item.input_url,
        "output": item.details.get("routed_to") or item.output_url,
        "status": item.status,
        "review": item.review,
        "error": item.error,
    }


def review_parts(review: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    """A review as it is shown: its score to two places (``"?"`` when it has none) and its
    reasons, worst first, empty ones left out."""
    review = review or {}
    score = review.get("score")
    shown = f"{float(score):.2f}" if isinstance(score, int | float) else "?"
    return shown, [str(reason) for reason in review.get("reasons", ()) if reason]


def review_line(item: LedgerItem, source: str | None = None) -> str:
    """A flagged result on one line, as the CLI lists it: ``photos/a.png: score 0.31:
    undecided edge 12 %, subject touches 3 borders → s3://check/a.png`` (``source`` names
    the input, by default its URL; the arrow only when it was written to the review
    location)."""
    score, reasons = review_parts(item.review)
    line = f"{source or item.input_url}: score {score}"
    if reasons:
        line += ": " + ", ".join(reasons)
    where = item.details.get("routed_to")
    return f"{line} → {where}" if where else line


def _iso(seconds: float | None) -> str | None:
    """A ledger time as ISO 8601 UTC, for people and scripts alike."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically (a temp file renamed over ``path``)."""
    with _replacing(path) as out:
        json.dump(data, out, indent=2, sort_keys=False)
        out.write("\n")
    return path


def write_html_report(path: Path, ledger: Ledger, dest: str, thumbs_dir: Path,
                      summary: RunSummary | None = None,
                      title: str = "lampyris batch report", *,
                      max_pairs: int = 200, max_failures: int = 2000) -> Path:
    """Write the self-contained HTML report for ``dest``: counts, a contact sheet of up to
    ``max_pairs`` before/after thumbnails read from ``thumbs_dir``, and the failures (up to
    ``max_failures`` rows). Without ``summary`` the header describes the last run to ``dest``.

    Usage:
        write_html_report(Path("report.html"), ledger, sink.url, Path("thumbs"), summary)
    """
    from lampyris.workflows.report_html import render_report  # it reads review_parts here

    run = find_run(ledger, summary.run_id) if summary is not None else last_run(ledger, dest)
    with _replacing(path) as out:
        render_report(out, ledger, dest, thumbs_dir, summary=summary, run=run, title=title,
                      steps=_steps(run), max_pairs=max_pairs, max_failures=max_failures)
    return path


def find_run(ledger: Ledger, run_id: int) -> dict[str, Any]:
    """The ``runs`` row of ``run_id``, or an empty dict when the ledger does not know it."""
    return next((run for run in ledger.runs() if run["id"] == run_id), {})


def last_run(ledger: Ledger, dest: str) -> dict[str, Any]:
    """The most recent run that wrote to ``dest`` (empty when there was none)."""
    runs = [run for run in ledger.runs() if run["dest"] == dest]
    return runs[-1] if runs else {}


def _steps(run: dict[str, Any]) -> list[str]:
    try:
        steps = json.loads(run.get("steps") or "[]")
    except ValueError:
        return []
    return [str(step) for step in steps] if isinstance(steps, list) else []


@contextmanager
def _replacing(path: Path) -> Iterator[IO[str]]:
    """A text file that replaces ``path`` only once it is completely written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as out:
            yield out
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
