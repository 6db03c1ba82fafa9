"""The executor's bookkeeping when a worker's result comes back, without starting a pool: a
result dropped because the job was cancelled while it ran takes its hosted files with it."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from lampyris.jobs import JobRecord, JobSettings, LocalExecutor, Outcome, SqlJobStore, WorkerEnv
from lampyris.storage import StorageSettings


@pytest.fixture
def executor(tmp_path: Path) -> LocalExecutor:
    env = WorkerEnv(storage=StorageSettings(), objects_dir=tmp_path / "objects",
                    objects_secret=b"k" * 32)
    return LocalExecutor(SqlJobStore("sqlite://"), JobSettings(workers=1), env, model=None)


def _run(executor: LocalExecutor, cancel: bool) -> tuple[JobRecord, str, list[Outcome]]:
    """A hosted job claimed by ``executor`` whose worker wrote its output and returned."""
    store, files = executor.store, executor.env.objects()
    job = store.add(JobRecord(owner="alice", kind="firefly", op="fill", task={}))
    store.claim(executor.name, 1)
    key = f"results/{job.id}/output-1.png"
    files.put(key, b"png", "image/png")
    if cancel:
        assert store.cancel(job.id, "alice") == "running"
    done: Future[tuple[bool, dict[str, Any]]] = Future()
    done.set_result((True, {"outputs": [{"key": key, "mediaType": "image/png"}]}))
    executor._inflight[done] = (job, 0.0)
    outcomes: list[Outcome] = []
    executor._on_finish = outcomes.append
    executor._collect(block=0)
    return job, key, outcomes


def test_a_job_cancelled_while_running_leaves_no_output(executor: LocalExecutor):
    job, key, outcomes = _run(executor, cancel=True)
    assert executor.store.get(job.id).state == "cancelled"  # type: ignore[union-attr]
    assert not executor.env.objects().exists(key)
    assert [o.state for o in outcomes] == ["cancelled"]


def test_a_finished_job_keeps_its_output(executor: LocalExecutor):
    job, key, outcomes = _run(executor, cancel=False)
    assert executor.store.get(job.id).state == "succeeded"  # type: ignore[union-attr]
    assert executor.env.objects().exists(key)
    assert [o.state for o in outcomes] == ["succeeded"]
