"""Where a batch's steps run: the interface every backend implements.

The runner hands a backend one ``WorkItem`` at a time, never more than ``capacity`` at once,
and gets an ``ItemOutcome`` back through a future. Backends never raise for a file: a worker
that dies becomes a retryable outcome.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Protocol

from lampyris.workflows.item import ItemOutcome, WorkItem


class Backend(Protocol):
    """``local`` (ops in worker processes), ``remote`` (a lampyris server or Adobe's cloud)."""

    name: str
    capacity: int  # how many items may be in flight at once

    def submit(self, item: WorkItem) -> Future[ItemOutcome]: ...

    def close(self, *, cancel: bool = False) -> None: ...
