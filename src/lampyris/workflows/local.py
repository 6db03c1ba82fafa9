"""Run a batch on this machine: a pool of worker processes, each holding its own model session.

At most two tasks per worker are in flight, so memory stays flat however many files the
batch has: the parent holds paths, the workers hold one image each. A worker that dies (killed
for memory, a crash in native code) fails only the files it held; the pool is restarted.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from lampyris.models import ModelStore, get_session, resolve_spec
from lampyris.workflows.filejob import FileJob, FileResult, run_file
from lampyris.workflows.files import FileTask


def available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _warm(model: str | None, threads: int) -> None:
    """Runs first in each worker: fix ONNX Runtime's thread count (through the models
    settings, read when the session is built) and load the model before the first file."""
    if threads:
        os.environ["LAMPYRIS_MODELS_INTRA_OP_THREADS"] = str(threads)
    if model is not None:
        get_session(resolve_spec(model))


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
        _warm(model, 0)
        for task in tasks:
            yield run_file(task, job)
        return
    threads = max(1, available_cores() // jobs)
    context = multiprocessing.get_context("spawn")
    queue = iter(tasks)
    pending: dict[Future[FileResult], FileTask] = {}
    while True:
        with ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_warm, initargs=(model, threads)
        ) as pool:
            broken = False
            while True:
                while not broken and len(pending) < 2 * jobs:
                    task = next(queue, None)
                    if task is None:
                        break
                    try:
                        pending[pool.submit(run_file, task, job)] = task
                    except BrokenProcessPool:
                        yield FileResult(task, "failed", "a worker process died")
                        broken = True
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = pending.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        broken = True
                        yield FileResult(task, "failed", "a worker process died (out of memory?)")
            if not broken:
                return
