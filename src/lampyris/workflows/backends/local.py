"""The local backend: steps run in a pool of worker processes on this machine.

Workers fork from a forkserver with the model already imported, each capped to its share of
the cores; at most two items per worker are in flight, so memory stays flat whatever the size
of the batch. A worker that dies fails only the items it held (retryable) and the pool
(``ops.pool.WorkerPool``) starts fresh workers. ``PoolBackend`` is what it shares with the
``ray`` backend (``backends.cluster``): items go to any ``ops.pool.Pool``.
"""

from __future__ import annotations

from concurrent.futures import Future

from lampyris.errors import JobError
from lampyris.ops.pool import Pool, RestartPolicy, WorkerDied, WorkerPool, WorkerStart, died_message
from lampyris.workflows.item import ItemOutcome, WorkItem, process

DIED = died_message("file")


class PoolBackend:
    """Items through ``pool``: a worker's death is a retryable outcome, never an exception."""

    name = "pool"

    def __init__(self, pool: Pool, died: str = DIED) -> None:
        self._pool = pool
        self._died = died
        self.workers = pool.workers
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
                outcome.set_result(ItemOutcome(False, error=self._died, retryable=True))
            except JobError as exc:  # the pool gave up: every other item would fail the same
                outcome.set_result(ItemOutcome(False, error=str(exc), fatal=True))
            except Exception as exc:  # a bug, or an item that cannot be pickled: never hang
                outcome.set_result(ItemOutcome(False, error=f"internal error: {exc!r}"))

        outcome.set_running_or_notify_cancel()
        inner.add_done_callback(relay)
        return outcome

    def close(self, *, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel=cancel)


class LocalBackend(PoolBackend):
    name = "local"

    def __init__(self, workers: int = 0, model: str | None = "u2netp") -> None:
        # No limit on restarts: a died item is retryable, and the runner's per-item retries
        # bound how often one bad input can kill a worker.
        super().__init__(WorkerPool(workers, preload=("lampyris.workflows.item",),
                                    start=WorkerStart(model=model),
                                    restarts=RestartPolicy("file", None)))
        # Workers fork and load their model while the runner lists the inputs, so the first
        # items do not wait for a cold start.
        self._pool.start_all()
