"""The executor's bookkeeping without worker processes: a result dropped because the job was
cancelled while it ran takes its hosted files with it; and, with the jobs on an ``InlinePool``
thread, the leases: claimed, heartbeated, recovered when a dead server's lease runs out,
released (one attempt spent) when a worker dies, given back on stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, wait
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from lampyris.failure import Failure
from lampyris.jobs import (
    JobExecutor,
    JobRecord,
    JobSettings,
    Outcome,
    SqlJobStore,
    TaskOutput,
    TaskResult,
    WorkerEnv,
)
from lampyris.jobs import executor as executor_module
from lampyris.jobs.store import JOBS
from lampyris.ops.pool import InlinePool, WorkerDied
from lampyris.storage import StorageSettings


@pytest.fixture
def executor(tmp_path: Path) -> JobExecutor:
    env = WorkerEnv(storage=StorageSettings(), objects_dir=tmp_path / "objects",
                    objects_secret=b"k" * 32)
    return JobExecutor(SqlJobStore("sqlite://"), JobSettings(workers=1), env, model=None)


def _run(executor: JobExecutor, cancel: bool) -> tuple[JobRecord, str, list[Outcome]]:
    """A hosted job claimed by ``executor`` whose worker wrote its output and returned."""
    store, files = executor.store, executor.env.objects()
    job = store.add(JobRecord(owner="alice", kind="firefly", op="fill", task={}))
    store.claim(executor.name, 1)
    key = f"results/{job.id}/output-1.png"
    files.put(key, b"png", "image/png")
    if cancel:
        assert store.cancel(job.id, "alice") == "running"
    done: Future[tuple[bool, dict[str, Any]]] = Future()
    done.set_result((True, _result_at(key)))
    executor._inflight[done] = (job, 0.0)
    outcomes: list[Outcome] = []
    executor._on_finish = outcomes.append
    executor._collect(block=0)
    return job, key, outcomes


def test_a_job_cancelled_while_running_leaves_no_output(executor: JobExecutor):
    job, key, outcomes = _run(executor, cancel=True)
    assert executor.store.get(job.id).state == "cancelled"  # type: ignore[union-attr]
    assert not executor.env.objects().exists(key)
    assert [o.state for o in outcomes] == ["cancelled"]


def test_a_finished_job_keeps_its_output(executor: JobExecutor):
    job, key, outcomes = _run(executor, cancel=False)
    assert executor.store.get(job.id).state == "succeeded"  # type: ignore[union-attr]
    assert executor.env.objects().exists(key)
    assert [o.state for o in outcomes] == ["succeeded"]


# -- leases, with the jobs on an in-process pool ---------------------------------------------
class Worker:
    """Stands in for ``_run`` on the executor's inline pool: each call takes the next act of
    ``script`` (``ok``, ``die``: its worker dies, ``hold``: runs until ``gate`` is set)."""

    def __init__(self, executor: JobExecutor, *script: str) -> None:
        self.executor, self.script = executor, list(script)
        self.gate, self.started = threading.Event(), threading.Event()
        self.result: dict[str, Any] = {"outputs": [], "metadata": {}}

    def __call__(self, task: dict[str, Any], job_id: str | None = None
                 ) -> tuple[bool, dict[str, Any]]:
        act = self.script.pop(0)
        self.started.set()
        if act == "die":
            pool = self.executor._open_pool()
            assert isinstance(pool, InlinePool)
            pool.die()
        elif act == "hold":
            assert self.gate.wait(30)
        return True, self.result


@pytest.fixture
def inline(tmp_path: Path) -> Iterator[JobExecutor]:
    env = WorkerEnv(storage=StorageSettings(), objects_dir=tmp_path / "objects",
                    objects_secret=b"k" * 32)
    store = SqlJobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    settings = JobSettings(workers=1, lease_seconds=60, max_attempts=2)
    executor = JobExecutor(store, settings, env, model=None, inline=True)
    yield executor
    executor.stop(grace=0)
    store.engine.dispose()


def _worker(monkeypatch: pytest.MonkeyPatch, executor: JobExecutor, *script: str) -> Worker:
    worker = Worker(executor, *script)
    monkeypatch.setattr(executor_module, "_run", worker)
    return worker


def _settle(executor: JobExecutor) -> None:
    """Wait for every job in flight to come back from the pool."""
    wait(list(executor._inflight), timeout=30)


def _lease(store: SqlJobStore, job_id: str) -> tuple[str | None, datetime | None]:
    with store.engine.connect() as conn:
        row = conn.execute(select(JOBS.c.claimed_by, JOBS.c.heartbeat)
                           .where(JOBS.c.id == job_id)).one()
    return row.claimed_by, row.heartbeat


def _job(store: SqlJobStore) -> JobRecord:
    return store.add(JobRecord(owner="alice", kind="v2", op="cutout", task={}))


def test_a_claimed_job_is_heartbeated_while_it_runs_and_recorded_when_done(
    inline: JobExecutor, monkeypatch: pytest.MonkeyPatch
):
    worker = _worker(monkeypatch, inline, "hold")
    outcomes: list[Outcome] = []
    inline._on_finish = outcomes.append
    job, t0 = _job(inline.store), time.monotonic()
    inline._step(t0)
    assert worker.started.wait(10)
    running = inline.store.get(job.id)
    assert running is not None and (running.state, running.attempts) == ("running", 1)
    owner, claimed = _lease(inline.store, job.id)
    assert owner == inline.name and claimed is not None
    time.sleep(0.01)
    inline._step(t0 + 16)  # a quarter of the lease: time to renew it
    _, renewed = _lease(inline.store, job.id)
    assert renewed is not None and renewed > claimed
    inline._step(t0 + 31)  # half the lease: recovery runs, and leaves a live lease alone
    assert inline.store.get(job.id).state == "running"  # type: ignore[union-attr]
    worker.gate.set()
    _settle(inline)
    inline._step(t0 + 32)
    done = inline.store.get(job.id)
    assert done is not None and (done.state, done.attempts) == ("succeeded", 1)
    assert _lease(inline.store, job.id) == (None, None)
    assert [o.state for o in outcomes] == ["succeeded"]


def test_a_dead_servers_job_is_recovered_once_its_lease_runs_out(
    inline: JobExecutor, monkeypatch: pytest.MonkeyPatch
):
    _worker(monkeypatch, inline, "ok")
    store, t0 = inline.store, time.monotonic()
    stale, fresh = _job(store), _job(store)
    assert len(store.claim("dead-server:1", 2)) == 2
    with store.engine.begin() as conn:  # its last heartbeat was two leases ago
        conn.execute(update(JOBS).where(JOBS.c.id == stale.id)
                     .values(heartbeat=datetime.now(UTC) - timedelta(seconds=120)))
    inline._step(t0 + 31)
    assert store.get(stale.id).state == "pending"  # type: ignore[union-attr]
    assert _lease(store, fresh.id)[0] == "dead-server:1"  # its lease still runs: not ours
    inline._step(t0 + 32)
    _settle(inline)
    inline._step(t0 + 33)
    done = store.get(stale.id)
    assert done is not None and (done.state, done.attempts) == ("succeeded", 2)
    assert store.get(fresh.id).state == "running"  # type: ignore[union-attr]


def test_a_job_whose_worker_died_goes_back_to_the_queue_and_costs_one_attempt(
    inline: JobExecutor, monkeypatch: pytest.MonkeyPatch
):
    _worker(monkeypatch, inline, "die", "ok")
    outcomes: list[Outcome] = []
    inline._on_finish = outcomes.append
    job, t0 = _job(inline.store), time.monotonic()
    inline._step(t0)
    _settle(inline)
    inline._step(t0 + 1)  # released, and claimed again by the restarted pool
    _settle(inline)
    inline._step(t0 + 2)
    done = inline.store.get(job.id)
    assert done is not None and (done.state, done.attempts) == ("succeeded", 2)
    assert [o.state for o in outcomes] == ["succeeded"]  # the release was no outcome
    assert inline._open_pool().restarts == 1  # type: ignore[attr-defined]


def test_a_job_that_kills_every_worker_fails_after_its_attempts(
    inline: JobExecutor, monkeypatch: pytest.MonkeyPatch
):
    _worker(monkeypatch, inline, "die", "die")
    outcomes: list[Outcome] = []
    inline._on_finish = outcomes.append
    job, t0 = _job(inline.store), time.monotonic()
    for tick in range(3):
        inline._step(t0 + tick)
        _settle(inline)
    failed = inline.store.get(job.id)
    assert failed is not None and (failed.state, failed.attempts) == ("failed", 2)
    assert failed.error is not None and failed.error["message"] == executor_module.DIED
    assert [(o.state, Failure.read(o.error).error_class()) for o in outcomes] == [
        ("failed", WorkerDied)]


def test_a_job_cancelled_while_it_runs_has_its_hosted_output_dropped(
    inline: JobExecutor, monkeypatch: pytest.MonkeyPatch
):
    worker = _worker(monkeypatch, inline, "hold")
    job, t0 = _job(inline.store), time.monotonic()
    key = f"results/{job.id}/output-1.png"
    inline.env.objects().put(key, b"png", "image/png")
    worker.result = _result_at(key)
    inline._step(t0)
    assert worker.started.wait(10)
    assert inline.store.cancel(job.id, "alice") == "running"
    worker.gate.set()
    _settle(inline)
    inline._step(t0 + 1)
    assert inline.store.get(job.id).state == "cancelled"  # type: ignore[union-attr]
    assert not inline.env.objects().exists(key)


def test_stop_gives_a_running_job_back_without_spending_an_attempt(
    inline: JobExecutor, monkeypatch: pytest.MonkeyPatch
):
    worker = _worker(monkeypatch, inline, "hold")
    job = _job(inline.store)
    inline._step(time.monotonic())
    assert worker.started.wait(10)
    inline.stop(grace=0.1)
    worker.gate.set()
    back = inline.store.get(job.id)
    assert back is not None and (back.state, back.attempts) == ("pending", 1)
    assert _lease(inline.store, job.id) == (None, None)


def _result_at(key: str) -> dict[str, Any]:
    """A worker's result with one hosted output under ``key``."""
    output = TaskOutput(mediaType="image/png", width=1, height=1, bytes=3, key=key)
    return TaskResult(outputs=[output], metadata={}).dump()


def test_a_worker_without_the_databases_driver_runs_its_jobs_without_progress():
    assert executor_module.ProgressWriter.open("postgresql+nosuchdriver://u@db.invalid/x") is None
