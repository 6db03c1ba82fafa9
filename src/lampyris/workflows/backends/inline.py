"""The inline backend: each item runs in the caller's thread, one at a time.

For a file command with one job (no process to start; the libraries use their own threads),
for tests (``memory://`` filesystems are per process, so worker processes cannot see them) and
for debugging a step with a plain traceback-free loop; the local backend is the fast one.
"""

from __future__ import annotations

from concurrent.futures import Future

from lampyris.workflows.item import ItemOutcome, WorkItem, process


class InlineBackend:
    name = "inline"
    capacity = 1

    def submit(self, item: WorkItem) -> Future[ItemOutcome]:
        future: Future[ItemOutcome] = Future()
        future.set_running_or_notify_cancel()
        future.set_result(process(item))
        return future

    def close(self, *, cancel: bool = False) -> None:
        pass
