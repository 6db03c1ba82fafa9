"""Run a batch on this machine: a pool of worker processes, each holding its own model session.

At most two tasks per worker are in flight, so memory stays flat however many files the
batch has: the parent holds paths, the workers hold one image each. A worker that dies (killed
for memory, a crash in native code) fails only the files it held; the pool
(``ops.pool.WorkerPool``) restarts, and stops the batch when its workers keep dying.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait

from lampyris.errors import JobError
from lampyris.models import ModelStore, resolve_spec
from lampyris.ops.pool import (
    MAX_BARREN_RESTARTS,
    InlinePool,
    Pool,
    RestartPolicy,
    WorkerDied,
    WorkerPool,
    WorkerStart,
    available_cores,
)
from lampyris.workflows.filejob import FileJob, FileResult, run_file
from lampyris.workflows.files import FileTask

__all__ = ["DIED", "MAX_BARREN_RESTARTS", "available_cores", "run_batch"]

DIED = "a worker process died while this file was in progress (out of memory?)"


def _model_of(job: FileJob) -> str | None:
    return str(job.params.get("model", "u2netp")) if job.op == "cutout" else None


def run_batch(tasks: Iterable[FileTask], job: FileJob, *, jobs: int = 1) -> Iterator[FileResult]:
    """Yield one result per task as they finish (not in input order).

    The model is located and verified here first, so a missing or damaged model is one clear
    error rather than every worker failing to start. One job runs in this process (no
    process to start, the libraries' own threads); more run in worker processes.
    """
    model = _model_of(job)
    if model is not None:
        ModelStore().path(resolve_spec(model))
    pool: Pool
    if jobs <= 1:
        pool, in_flight = InlinePool(start=WorkerStart(model=model),
                                       restarts=RestartPolicy("file")), 1
    else:
        pool = WorkerPool(jobs, preload=("lampyris.workflows.filejob",),
                          start=WorkerStart(model=model), restarts=RestartPolicy("file"))
        in_flight = 2 * jobs
    try:
        yield from _run_pool(iter(tasks), job, pool, in_flight)
    finally:
        pool.shutdown(wait=True)


def _run_pool(
    queue: Iterator[FileTask], job: FileJob, pool: Pool, in_flight: int
) -> Iterator[FileResult]:
    """Feed ``queue`` through ``pool``, at most ``in_flight`` tasks at a time.

    The files in flight when a worker dies are reported failed (which of them killed it is
    unknowable); the rest of the batch goes on in the restarted pool. A pool that breaks again
    and again without finishing any file means workers cannot run at all: once the files it
    held are reported, that stops the batch (``JobError``).
    """
    pending: dict[Future[FileResult], FileTask] = {}
    stopped = False
    while True:
        while not stopped and len(pending) < in_flight:
            task = next(queue, None)
            if task is None:
                break
            try:
                pending[pool.submit(run_file, task, job)] = task
            except JobError:  # the pool gave up: report what it still holds, then stop
                stopped = True
        if not pending:
            break
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            task = pending.pop(future)
            try:
                result = future.result()
            except WorkerDied:
                result = FileResult(task, "failed", DIED)
            yield result
    pool.check()
