"""Run a batch on this machine: a pool of worker processes, each holding its own model session.

At most two tasks per worker are in flight, so memory stays flat however many files the
batch has: the parent holds paths, the workers hold one image each. A worker that dies (killed
for memory, a crash in native code) fails only the files it held; the pool is restarted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from lampyris.errors import JobError
from lampyris.models import ModelStore, resolve_spec
from lampyris.ops.pool import available_cores, warm, worker_context
from lampyris.workflows.filejob import FileJob, FileResult, run_file
from lampyris.workflows.files import FileTask

__all__ = ["available_cores", "run_batch"]


def _model_of(job: FileJob) -> str | None:
    return str(job.params.get("model", "u2netp")) if job.op == "cutout" else None


def run_batch(tasks: Iterable[FileTask], job: FileJob, *, jobs: int = 1) -> Iterator[FileResult]:
    """Yield one result per task as they finish (not in input order).

    The model is located and verified here first, so a missing or damaged model is one clear
    error rather than every worker failing to start.
    """
    model = _model_of(job)
    if model is not None:
        ModelStore().path(resolve_spec(model))
    if jobs <= 1:
        warm(model, 0)
        for task in tasks:
            yield run_file(task, job)
        return
    threads = max(1, available_cores() // jobs)
    yield from _run_pool(iter(tasks), job, jobs, model, threads)


def _run_pool(
    queue: Iterator[FileTask], job: FileJob, jobs: int, model: str | None, threads: int
) -> Iterator[FileResult]:
    """Feed ``queue`` through a worker pool, restarting the pool when a worker dies.

    The files in flight when a worker dies are reported failed (which of them killed it is
    unknowable); the rest of the batch goes on in a fresh pool. A pool that breaks again and
    again without finishing any file means workers cannot run at all: that stops the batch.
    """
    barren = 0
    while True:
        broken = progressed = False
        pending: dict[Future[FileResult], FileTask] = {}
        with ProcessPoolExecutor(
            jobs,
            mp_context=worker_context("lampyris.workflows.filejob"),
            initializer=warm,
            initargs=(model, threads),
        ) as pool:
            while True:
                while not broken and len(pending) < 2 * jobs:
                    task = next(queue, None)
                    if task is None:
                        break
                    try:
                        pending[pool.submit(run_file, task, job)] = task
                    except (BrokenProcessPool, RuntimeError):
                        broken = True
                        yield FileResult(task, "failed", "a worker process died")
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = pending.pop(future)
                    try:
                        result = future.result()
                        progressed = True
                    except BrokenProcessPool:
                        broken = True
                        result = FileResult(task, "failed", DIED)
                    yield result
        if not broken:
            return
        barren = 0 if progressed else barren + 1
        if barren >= MAX_BARREN_RESTARTS:
            raise JobError("worker processes keep dying before finishing any file")


DIED = "a worker process died while this file was in progress (out of memory?)"
MAX_BARREN_RESTARTS = 3
