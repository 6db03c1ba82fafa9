"""The job executor: a pool of workers fed from the job store.

One dispatcher thread claims as many pending jobs as there are idle workers, hands them to
the pool, and records each outcome. The store is the only queue: a job is claimed (and its
lease renewed by heartbeats) while a worker runs it, so a server that dies mid-job leaves
rows that the next start — or another replica, once the lease has run out — runs again.
Workers hold a ``Lifeline`` to the server: a server killed with ``kill -9`` takes its workers
with it instead of leaving them (and their models' memory) to init. The workers are an
``ops.pool.WorkerPool`` (restarts after a death are its business), or with the ``ray``
executor the actors of a Ray cluster (``ops.ray_pool.RayPool``: the owner of non-detached
actors, a server killed takes them with it too); ``inline=True`` runs jobs on an
``InlinePool`` thread instead, so tests drive the bookkeeping without processes.

Workers report how far each job is (``jobs.task.Progress``) straight into its row: each opens
the job database itself (``ProgressWriter``), so progress reaches the status routes without
passing through the dispatcher. Where the database cannot be reached (an in-memory store, a
Ray node without the SQLite file) jobs run the same, without progress.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from lampyris.errors import ImageTooLargeError, LampyrisError
from lampyris.failure import Failure
from lampyris.jobs.payloads import TaskResult
from lampyris.jobs.record import JobRecord, State, now
from lampyris.jobs.settings import JobSettings
from lampyris.jobs.store import SqlJobStore, lease_cutoff
from lampyris.jobs.task import Progress, Task, TaskFailure, WorkerEnv, execute
from lampyris.ops.pool import (
    InlinePool,
    Pool,
    RestartPolicy,
    WorkerDied,
    WorkerPool,
    WorkerStart,
    available_cores,
    release_worker_context,
)
from lampyris.storage import PresignedStorage

log = logging.getLogger(__name__)

_ENV: WorkerEnv | None = None
_STORAGE: PresignedStorage | None = None  # built once per worker: its TLS setup costs ~20 ms
_PROGRESS: ProgressWriter | None = None

DIED = "a worker process died running this job (out of memory?)"


class ProgressWriter:
    """A worker's own connection to the job database, for ``SqlJobStore.set_progress``.

    A report that cannot be written is dropped (logged once per job): progress is a hint,
    never a reason for a job to fail or wait. SQLite gets a short busy timeout for the same
    reason (the server's writers hold the lock for milliseconds)."""

    def __init__(self, store: SqlJobStore) -> None:
        self.store = store

    @classmethod
    def open(cls, target: str | SqlJobStore | None) -> ProgressWriter | None:
        """From the database URL (a worker process), or the server's own store (inline);
        None where there is nothing to write to."""
        if target is None or isinstance(target, SqlJobStore):
            return None if target is None else cls(target)
        engine = None
        try:
            url = make_url(target)
            if url.get_backend_name() == "sqlite":
                if not url.database or url.database == ":memory:" or not Path(
                        url.database).is_file():
                    return None  # another process's memory, or a node without the file
                engine = create_engine(url, connect_args={"timeout": 2,
                                                          "check_same_thread": False})
            else:
                engine = create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=1)
            return cls(SqlJobStore(engine))
        except Exception as exc:  # no driver here, no jobs table there: run without progress
            log.warning("job progress not reported from this worker: %s", exc)
            if engine is not None:
                engine.dispose()
            return None

    def reporter(self, job_id: str) -> Progress:
        failed = False

        def report(percent: int) -> None:
            nonlocal failed
            if failed:
                return
            try:
                self.store.set_progress(job_id, percent)
            except Exception as exc:
                failed = True
                log.warning("job %s: progress not recorded: %s", job_id, exc)

        return report


def progress_target(store: SqlJobStore, inline: bool) -> str | SqlJobStore | None:
    """What a worker opens to report progress: the store itself in this process, else its
    database URL (password included: the workers are the server's own processes)."""
    if inline:
        return store
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


def _init_worker(env: WorkerEnv, progress: str | SqlJobStore | None = None) -> None:
    """The pool's per-worker setup: what every job in this worker shares."""
    global _ENV, _STORAGE, _PROGRESS
    _ENV = env
    _STORAGE = PresignedStorage(env.storage)
    _PROGRESS = ProgressWriter.open(progress)


def _run(task: dict[str, Any], job_id: str | None = None) -> tuple[bool, dict[str, Any]]:
    """In a worker: (True, result) or (False, error). Expected failures never raise."""
    assert _ENV is not None, "worker started without its environment"
    progress = None if _PROGRESS is None or job_id is None else _PROGRESS.reporter(job_id)
    try:
        return True, execute(Task.model_validate(task), _ENV, _STORAGE, progress)
    except TaskFailure as failure:
        return False, failure.describe()
    except LampyrisError as exc:
        return False, Failure.of(exc, "image").record()
    except MemoryError:
        return False, Failure.of(ImageTooLargeError("out of memory for this image"),
                                 "image").record()
    except Exception as exc:  # a bug: report it on the job, keep the worker
        log.exception("job crashed")
        return False, Failure.of(exc).record()


@dataclass(frozen=True)
class Outcome:
    """What the executor tells its listener (metrics) about each finished job."""

    job: JobRecord
    state: State
    seconds: float
    error: dict[str, Any] | None = None


class JobExecutor:
    """Runs the store's pending jobs on ``settings.workers`` local processes (or Ray actors).

    Usage:
        executor = JobExecutor(store, JobSettings(), env, recover_all=True)
        executor.start(); …; executor.wake()  # after each submit; …; executor.stop()

    ``inline=True`` runs the jobs on one thread of this process (an ``InlinePool``) instead of
    worker processes: for tests of the claims, leases and outcomes, which are the same.
    """

    def __init__(
        self,
        store: SqlJobStore,
        settings: JobSettings,
        env: WorkerEnv,
        *,
        recover_all: bool = False,
        model: str | None = "u2netp",
        on_finish: Callable[[Outcome], None] | None = None,
        inline: bool = False,
    ) -> None:
        self.store = store
        self.settings = settings
        self.env = env
        self.workers = settings.workers or available_cores()
        self.kind = "inline" if inline else settings.executor
        self.name = f"{socket.gethostname()}:{uuid.uuid4().hex[:12]}"
        self._recover_all = recover_all
        self._model = model
        self._on_finish = on_finish
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._inflight: dict[Future[tuple[bool, dict[str, Any]]], tuple[JobRecord, float]] = {}
        self._inline = inline
        self._pool: Pool | None = None
        self._thread: threading.Thread | None = None
        self._beat = self._recovered = time.monotonic()
        self._purged: float | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Re-queue jobs a dead server left running, start the workers and the dispatcher."""
        cutoff = now() + timedelta(seconds=1) if self._recover_all else lease_cutoff(
            self.settings.lease_seconds)
        recovered = self.store.recover(cutoff, self.settings.max_attempts)
        if recovered:
            log.warning("re-queued %d job(s) left running by a stopped server", recovered)
        pool = self._open_pool()
        if self.kind != "ray":  # every worker (and its model) now, not with a job
            pool.start_all()
        # (Ray actors start by themselves and take jobs once warm; the cluster may have no
        # room for them yet — another replica's — which must not stop this one serving.)
        self._beat = self._recovered = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="lampyris-dispatcher",
                                        daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job was submitted: claim it now rather than at the next poll."""
        self._wake.set()

    def stop(self, grace: float = 10.0) -> None:
        """Let running jobs finish for up to ``grace`` seconds; give the rest back as pending."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        deadline = time.monotonic() + grace
        while self._inflight and time.monotonic() < deadline:
            self._collect(block=0.2)
        for job, _ in list(self._inflight.values()):
            self.store.release(job.id, self.name, self.settings.max_attempts + 1, "stopped")
        self._inflight.clear()
        if self._pool is not None:
            # Workers still busy would outlive the server: their jobs are back in the queue,
            # so end them now rather than wait. The pool cuts its lifeline last: any worker a
            # broken pool left behind exits then.
            self._pool.shutdown(wait=True, cancel=True, terminate=True)
            self._pool = None
        release_worker_context()

    @property
    def busy(self) -> int:
        return len(self._inflight)

    @property
    def ready(self) -> int:
        """Workers able to take a job now (Ray actors still waiting for room are not)."""
        return 0 if self._pool is None else self._pool.ready

    # -- the dispatcher --------------------------------------------------------------------
    def _open_pool(self) -> Pool:
        """The workers, made on first use. No limit on restarts, unlike a batch: a server
        keeps serving, and a job that kills every worker fails after ``max_attempts``."""
        if self._pool is None:
            progress = progress_target(self.store, self._inline)
            start = WorkerStart(_init_worker, (self.env, progress), self._model)
            restarts = RestartPolicy("job", None, logging.ERROR)
            if self._inline:
                self._pool = InlinePool(start=start, background=True, restarts=restarts)
            elif self.settings.executor == "ray":
                from lampyris.ops.ray_pool import RayPool  # Ray is an extra

                self._pool = RayPool(self.settings.workers, address=self.settings.ray_address,
                                     start=start, restarts=restarts)
                self.workers = self._pool.workers
            else:
                self._pool = WorkerPool(
                    self.workers, preload=("lampyris.jobs.task",), start=start, lifeline=True,
                    restarts=restarts)
        return self._pool

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._step()
            except Exception:  # the database may be briefly unreachable: keep going
                log.exception("dispatcher step failed; retrying")
            self._wake.wait(self.settings.poll_interval)
            self._wake.clear()

    def _step(self, tick: float | None = None) -> None:
        """One round of the dispatcher: outcomes, claims, and whichever of heartbeat, lease
        recovery and retention is due at ``tick`` (monotonic seconds; tests pass their own)."""
        self._collect(block=0)
        self._dispatch()
        tick = time.monotonic() if tick is None else tick
        if tick - self._beat > self.settings.lease_seconds / 4:
            self._beat = tick
            self.store.heartbeat(self.name, [j.id for j, _ in self._inflight.values()])
        if tick - self._recovered > self.settings.lease_seconds / 2:
            self._recovered = tick
            self.store.recover(lease_cutoff(self.settings.lease_seconds),
                               self.settings.max_attempts)
        if self._purged is None or tick - self._purged > 3600:
            self._purged = tick
            self._purge()

    def _dispatch(self) -> None:
        pool = self._open_pool()
        # only as many jobs as workers can start now: a job claimed for a Ray actor still
        # waiting for room would sit here, its lease renewed, while other replicas idle
        free = min(self.workers, pool.ready) - len(self._inflight)
        for job in self.store.claim(self.name, free):
            future = pool.submit(_run, job.task, job.id)
            self._inflight[future] = (job, time.perf_counter())
            future.add_done_callback(lambda _f: self._wake.set())

    def _collect(self, block: float) -> None:
        if block:
            time.sleep(block)
        for future in [f for f in self._inflight if f.done()]:
            job, started = self._inflight.pop(future)
            seconds = time.perf_counter() - started
            try:
                ok, payload = future.result()
            except WorkerDied:  # the pool restarts itself; the job goes back or fails
                state = self.store.release(job.id, self.name, self.settings.max_attempts, DIED)
                if state is not None:  # None: another executor took the job over meanwhile
                    self._report(job, state, seconds, Failure.of(WorkerDied(DIED)).record())
                continue
            recorded = self.store.finish(job.id, self.name, "succeeded" if ok else "failed",
                                         result=payload if ok else None,
                                         error=None if ok else payload)
            if ok and recorded == "cancelled":
                # Cancelled while it ran: nobody will ever be shown these outputs, so they do
                # not wait for retention. (A job taken over by another executor keeps them:
                # its new run writes the same keys.)
                self._drop_outputs(job, payload)
            if recorded is not None:  # None: another executor took the job over meanwhile
                self._report(job, recorded, seconds, None if ok else payload)

    def _drop_outputs(self, job: JobRecord, result: dict[str, Any]) -> None:
        """Delete the hosted files of a result that was dropped. Outputs delivered to a
        client's own storage are theirs to keep: we hold no right to delete there."""
        keys = [o.key for o in TaskResult.model_validate(result).outputs if o.key]
        if not keys:
            return
        files = self.env.objects()
        for key in keys:
            try:
                files.delete(key)
            except LampyrisError as exc:
                log.warning("job %s: cannot delete dropped output %s: %s", job.id, key, exc)

    def _report(
        self, job: JobRecord, state: State, seconds: float, error: dict[str, Any] | None
    ) -> None:
        if self._on_finish is not None and state != "pending":
            self._on_finish(Outcome(job, state, seconds, error))

    def _purge(self) -> None:
        retention = self.settings.retention_hours * 3600
        gone = self.store.purge(now() - timedelta(seconds=retention))
        files = self.env.objects()
        removed = files.delete_older_than(retention)
        if gone or removed:
            log.info("retention: deleted %d job(s) and %d file(s)", len(gone), removed)
