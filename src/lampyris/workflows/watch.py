"""Watch mode: run the batch again every ``interval`` seconds, so new or changed files in the
source are processed as they arrive (the ledger makes each pass cheap: unchanged inputs are
skipped from their listing stamp alone)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from lampyris.workflows.batch import RunSummary


def watch(run_once: Callable[[], RunSummary], interval: float, stop: threading.Event,
          on_pass: Callable[[RunSummary], None] | None = None) -> int:
    """Call ``run_once`` until ``stop`` is set (or a pass is interrupted); returns passes."""
    passes = 0
    while not stop.is_set():
        summary = run_once()
        passes += 1
        if on_pass is not None:
            on_pass(summary)
        if summary.interrupted or stop.wait(interval):
            break
    return passes
