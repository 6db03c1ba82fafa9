"""The local backend: steps run in a pool of worker processes on this machine.

Workers fork from a forkserver with the model already imported, each capped to its share of
the cores; at most two items per worker are in flight, so memory stays flat whatever the size
of the batch. A worker that dies fails only the item it held (retryable) and the pool is
started again.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from lampyris.ops.pool import available_cores, warm, worker_context
from lampyris.workflows.item import ItemOutcome, WorkItem, process

DIED = "a worker process died while this file was in progress (out of memory?)"


class LocalBackend:
    name = "local"

    def __init__(self, workers: int = 0, model: str | None = "u2netp") -> None:
        self.workers = workers or available_cores()
        self.capacity = 2 * self.workers
        self._model = model
        self._lock = threading.Lock()
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        threads = max(1, available_cores() // self.workers)
        return ProcessPoolExecutor(
            self.workers, mp_context=worker_context("lampyris.workflows.item"),
            initializer=warm, initargs=(self._model, threads),
        )

    def submit(self, item: WorkItem) -> Future[ItemOutcome]:
        outcome: Future[ItemOutcome] = Future()
        with self._lock:
            try:
                inner = self._pool.submit(process, item)
            except (BrokenProcessPool, RuntimeError):
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._start()
                inner = self._pool.submit(process, item)

        def relay(done: Future[ItemOutcome]) -> None:
            if done.cancelled():
                outcome.set_result(ItemOutcome(False, error="cancelled", retryable=True))
                return
            try:
                outcome.set_result(done.result())
            except BrokenProcessPool:
                outcome.set_result(ItemOutcome(False, error=DIED, retryable=True))
            except Exception as exc:  # a bug, or an item that cannot be pickled: never hang
                outcome.set_result(ItemOutcome(False, error=f"internal error: {exc!r}"))

        outcome.set_running_or_notify_cancel()
        inner.add_done_callback(relay)
        return outcome

    def close(self, *, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)
