"""``lampyris batch status [DST | LEDGER] [--json]``: what a destination's ledger says, on
stdout (``--json`` for scripts: ``lampyris batch status out/ --json | jq .``): its counts,
failures, the results flagged for review (lowest score first) and the last runs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.markup import escape

from lampyris.cli.console import fail, out
from lampyris.workflows.ledger import LEGACY_BATCH_LEDGER, Ledger, LedgerItem, default_path
from lampyris.workflows.report import review_line, review_parts

MAX_FAILURES = 20  # in the text form; --json lists them all
MAX_REVIEW = 10  # the worst results to review in the text form; --json lists them all


def status_ledger(target: str | None, given: Path | None) -> Path:
    """The ledger to show: a ledger file named as such, else the destination's own; with no
    argument ``--ledger``, else the working directory's own (run inside a destination), else
    an older ledger left in the working directory."""
    if target is None:
        if given is not None:
            return given
        here = default_path(".")
        if here.exists():
            return here
        if LEGACY_BATCH_LEDGER.exists():
            return LEGACY_BATCH_LEDGER
        raise fail("which batch? lampyris batch status DST (its destination folder or URL), "
                   "or --ledger FILE")
    path = Path(target)
    if path.is_file():
        return path
    return default_path(target if "://" in target else str(path.resolve()))


def status_data(ledger: Ledger) -> dict[str, Any]:
    """Per destination: counts, every failed input with its reason, how many results were
    scored and every one flagged for review (worst first, with its score and reasons), and
    the last runs."""
    runs = ledger.runs()
    destinations = []
    for dest in ledger.destinations():
        counts = ledger.counts(dest)
        failures = [{"input": item.input_url, "rel": item.rel, "reason": item.error,
                     "attempts": item.attempts,
                     "since": item.details.get("failed_since") or item.finished}
                    for item in ledger.items(status="failed", dest=dest)]
        destinations.append({
            "dest": dest,
            "done": counts.get("done", 0), "failed": counts.get("failed", 0),
            "pending": counts.get("pending", 0) + counts.get("running", 0),
            "failures": failures,
            "scored": ledger.scored(dest), "to_review": ledger.flagged(dest),
            "review": [_flagged(item) for item in _to_review(ledger, dest)],
            "runs": [{k: r[k] for k in ("id", "source", "started", "finished", "outcome")}
                     for r in runs if r["dest"] == dest][-5:],
        })
    return {"ledger": str(ledger.path), "destinations": destinations}


def show_status(path: Path, *, as_json: bool = False) -> None:
    if not path.exists():
        raise fail(f"no ledger at {path}: nothing has run into that destination yet (or give "
                   "the ledger file, or --ledger FILE)")
    with Ledger(path) as ledger:
        data = status_data(ledger)
    if as_json:
        out.print_json(json.dumps(data), highlight=False) if out.is_terminal else (
            print(json.dumps(data, indent=2)))
        return
    out.print(escape(f"ledger: {data['ledger']}"), highlight=False)
    for dest in data["destinations"]:
        scored = (f" · scored {dest['scored']} · {dest['to_review']} to review"
                  if dest["scored"] else "")
        out.print(escape(f"{dest['dest']}: done {dest['done']} · failed {dest['failed']} · "
                         f"pending {dest['pending']}{scored}"), highlight=False)
        for failure in dest["failures"][:MAX_FAILURES]:
            out.print(escape(f"  ✗ {failure['rel']}: {failure['reason']} "
                             f"({failure['attempts']} attempt(s), since "
                             f"{_when(failure['since'])})"), highlight=False)
        if len(dest["failures"]) > MAX_FAILURES:
            out.print(f"  … and {len(dest['failures']) - MAX_FAILURES} more (--json lists all)")
        for flagged in dest["review"][:MAX_REVIEW]:
            out.print(f"  ? {escape(flagged['line'])}", highlight=False)
        if len(dest["review"]) > MAX_REVIEW:
            out.print(f"  … and {len(dest['review']) - MAX_REVIEW} more to review "
                      "(--json lists all)")
        for run in dest["runs"]:
            out.print(escape(f"  run {run['id']} {_when(run['started'])}: {run['source']} "
                             f"{run['outcome'] or 'running or killed'}"), highlight=False)


def _to_review(ledger: Ledger, dest: str) -> Iterator[LedgerItem]:
    """The results flagged for review in ``dest``, lowest score first (the review order)."""
    for item in ledger.items(status="done", dest=dest, worst_first=True):
        if not item.flagged:
            return  # the flagged come first
        yield item


def _flagged(item: LedgerItem) -> dict[str, Any]:
    """One result to review, for ``--json`` and (its ``line``) the text form."""
    _, reasons = review_parts(item.review)
    return {"input": item.input_url, "rel": item.rel,
            "output": item.details.get("routed_to") or item.output_url,
            "score": (item.review or {}).get("score"), "reasons": reasons,
            "line": review_line(item, item.rel or None)}


def _when(seconds: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds)) if seconds else "?"
