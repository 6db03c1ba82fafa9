"""The local backend: steps run in a pool of worker processes on this machine.

Workers fork from a forkserver with the model already imported, each capped to its share of
the cores; at most two items per worker are in flight, so memory stays flat whatever the size
of the batch. A worker that dies fails only the items it held (retryable) and the pool
(``ops.pool.WorkerPool``) starts fresh workers.
"""

from __future__ import annotations

from concurrent.futures import Future

from lampyris.ops.pool import RestartPolicy, WorkerDied, WorkerPool, WorkerStart, died_message
from lampyris.workflows.item import ItemOutcome, WorkItem, process

DIED = died_message("file")


class LocalBackend:
    name = "local"

    def __init__(self, workers: int = 0, model: str | None = "u2netp") -> None:
        # No limit on restarts: a died item is retryable, and the runner's per-item retries
        # bound how often one bad input can kill a worker.
        self._pool = WorkerPool(workers, preload=("lampyris.workflows.item",),
                                start=WorkerStart(model=model),
                                restarts=RestartPolicy("file", None))
        self.workers = self._pool.workers
        self.capacity = 2 * self.workers

    def submit(self, item: WorkItem) -> Future[ItemOutcome]:
        outcome: Future[ItemOutcome] = Future()
        inner = self._pool.submit(process, item)

        def relay(done: Future[ItemOutcome]) -> None:
            if done.cancelled():
                outcome.set_result(ItemOutcome(False, error="cancelled", retryable=True))
                return
            try:
                outcome.set_result(done.result())
            except WorkerDied:
                outcome.set_result(ItemOutcome(False, error=DIED, retryable=True))
            except Exception as exc:  # a bug, or an item that cannot be pickled: never hang
                outcome.set_result(ItemOutcome(False, error=f"internal error: {exc!r}"))

        outcome.set_running_or_notify_cancel()
        inner.add_done_callback(relay)
        return outcome

    def close(self, *, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel=cancel)
