"""The file commands' runner (``workflows.local``) on the in-process pool: a worker's death
fails the files it held and the batch goes on; deaths in a row with nothing finished stop it
once the files held are reported; one job runs in this process. The worker processes
themselves are ``unit/ops/test_pool.py``'s and ``e2e/test_cli_develop.py``'s."""

from __future__ import annotations

from pathlib import Path

import pytest

from lampyris.errors import JobError
from lampyris.ops.pool import InlinePool, RestartPolicy, WorkerDied
from lampyris.workflows import local
from lampyris.workflows.filejob import FileJob, FileResult
from lampyris.workflows.files import FileTask

JOB = FileJob("auto_tone")


def _tasks(n: int) -> list[FileTask]:
    return [FileTask(Path(f"in/{i}.jpg"), Path(f"out/{i}.jpg")) for i in range(n)]


def _scripted(monkeypatch: pytest.MonkeyPatch, pool: InlinePool, script: str) -> None:
    """``run_file`` as the pool runs it: ``d`` is a worker dying on that file, ``.`` a file done."""
    acts = iter(script)

    def run_file(task: FileTask, job: FileJob) -> FileResult:
        if next(acts) == "d":
            pool.die()
        return FileResult(task, "done")

    monkeypatch.setattr(local, "run_file", run_file)


def _outcomes(pool: InlinePool, tasks: list[FileTask], in_flight: int) -> list[str]:
    return [r.outcome if r.outcome == "done" else r.reason
            for r in local._run_pool(iter(tasks), JOB, pool, in_flight)]


def test_a_death_fails_the_file_it_held_and_the_batch_goes_on(monkeypatch: pytest.MonkeyPatch):
    pool = InlinePool(restarts=RestartPolicy("file"))
    _scripted(monkeypatch, pool, ".d.dd.")
    assert _outcomes(pool, _tasks(6), 1) == [
        "done", local.DIED, "done", local.DIED, local.DIED, "done"]
    assert pool.restarts == 3


def test_workers_that_keep_dying_stop_the_batch_after_reporting_the_files_they_held(
    monkeypatch: pytest.MonkeyPatch,
):
    pool = InlinePool(restarts=RestartPolicy("file", local.MAX_BARREN_RESTARTS))
    _scripted(monkeypatch, pool, "d" * 10)
    results = local._run_pool(iter(_tasks(10)), JOB, pool, 1)
    seen = [next(results).outcome for _ in range(local.MAX_BARREN_RESTARTS)]
    assert seen == ["failed"] * local.MAX_BARREN_RESTARTS
    with pytest.raises(JobError, match="worker processes keep dying before finishing any file"):
        next(results)


def test_one_job_runs_in_this_process(monkeypatch: pytest.MonkeyPatch):
    calls: list[FileTask] = []

    def run_file(task: FileTask, job: FileJob) -> FileResult:
        calls.append(task)
        return FileResult(task, "done")

    monkeypatch.setattr(local, "run_file", run_file)  # a worker process would not see this
    results = local.run_batch(_tasks(3), JOB, jobs=1)
    assert next(results).task == _tasks(1)[0] and len(calls) == 1  # one at a time, lazily
    assert [r.outcome for r in results] == ["done", "done"]


def test_the_died_message_is_the_pools():
    assert str(WorkerDied(InlinePool(restarts=RestartPolicy("file")).died)) == local.DIED
