"""Job progress as ``GET /v3/status`` shows it, and the ``Link`` header it sends: a two-seed
fill held between its renders reports what its worker wrote into the job row (fetched 10,
decoded 15, each render its share up to 95); and the store's side: reports only move forward,
only while a worker holds the job, from a worker's own connection (``ProgressWriter``) as
from the server's, and a database made before the column existed gains it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text

from lampyris.jobs import JobRecord, SqlJobStore
from lampyris.jobs import task as task_module
from lampyris.jobs.executor import ProgressWriter, progress_target
from support import fill_scenes
from support.adobe_schemas import schema_validator
from support.fill_scenes import png
from support.inprocess import InProcessServer
from support.procs import wait_until


class HeldRenders:
    """Stands in for the pipeline's ``render_outputs``: counts the renders and holds the
    second one until ``release`` is set, so a test can look at a job between its seeds."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, 0
        self.second, self.release = threading.Event(), threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 2:
            self.second.set()
            assert self.release.wait(30)
        return self.real(*args, **kwargs)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldRenders]:
    """The in-process executor runs jobs on a thread of this process: it sees the patch."""
    renders = HeldRenders(task_module.render_outputs)
    monkeypatch.setattr(task_module, "render_outputs", renders)
    yield renders
    renders.release.set()


def test_status_shows_the_workers_progress_and_links(inproc: InProcessServer,
                                                     held: HeldRenders):
    scene, mask = fill_scenes.scene(1), fill_scenes.hole_mask(1)
    status_url = inproc.submit("/v3/images/fill-async", {
        "seeds": [1, 2], "size": {"width": 320, "height": 240},
        "image": {"source": {"uploadId": inproc.upload(png(scene))}},
        "mask": {"source": {"uploadId": inproc.upload(png(mask))}}})
    assert held.second.wait(30), "the first seed rendered"
    # The first render is done and reported (15 + 80 / 2); the second is held.
    wait_until(lambda: inproc.get(status_url).json().get("progress") == 55.0, timeout=10,
               what="the first seed's progress")
    running = inproc.get(status_url)
    schema_validator("ffs-firefly-api-firefly-api.json")("JobPollPayload", running.json())
    schema_validator("ffs-firefly-api-firefly-api@eb9bd0f-older-status-schema.json")(
        "AsyncTaskResponseV3", running.json())  # the schema that has ``progress``
    assert running.json() == {"jobId": status_url.rsplit("/", 1)[-1], "status": "running",
                              "progress": 55.0}
    cancel_url = status_url.replace("/v3/status/", "/v3/cancel/")
    link = f'<{status_url}>; rel="status", <{cancel_url}>; rel="cancel"'
    assert running.headers["link"] == link

    held.release.set()
    done = inproc.wait(status_url)
    assert done["status"] == "succeeded" and "progress" not in done
    schema_validator("ffs-firefly-api-firefly-api.json")("JobSucceededPayload", done)
    assert len(done["result"]["outputs"]) == 2
    assert inproc.get(status_url).headers["link"] == link


def _job(store: SqlJobStore) -> JobRecord:
    return store.add(JobRecord(owner="alice", kind="firefly", op="fill", task={}))


def test_progress_moves_forward_while_a_worker_holds_the_job(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    store = SqlJobStore(url)
    job = _job(store)
    assert not store.set_progress(job.id, 10), "pending: nobody works on it"
    assert store.get(job.id).progress is None  # type: ignore[union-attr]
    (claimed,) = store.claim("me", 1)
    assert claimed.progress == 0

    # A worker process opens the database by its URL, as the executor hands it over.
    target = progress_target(store, inline=False)
    assert target == url
    worker = ProgressWriter.open(target)
    assert worker is not None
    report = worker.reporter(job.id)
    report(40)
    report(30)  # late and lower: ignored
    assert store.get(job.id).progress == 40  # type: ignore[union-attr]
    store.finish(job.id, "me", "succeeded", result={"outputs": [], "metadata": {}})
    report(95)
    assert store.get(job.id).progress == 40  # type: ignore[union-attr]
    worker.store.engine.dispose()
    store.engine.dispose()


def test_progress_writers_where_there_is_no_database(tmp_path: Path):
    memory = SqlJobStore("sqlite://")
    assert progress_target(memory, inline=False) is None, "another process has no such memory"
    assert ProgressWriter.open(progress_target(memory, inline=True)) is not None
    assert ProgressWriter.open(None) is None
    # a Ray node without the server's SQLite file: no progress, and no stray database made
    missing = tmp_path / "elsewhere" / "lampyris.db"
    assert ProgressWriter.open(f"sqlite:///{missing}") is None
    assert not missing.exists()


def test_a_database_made_before_progress_gains_its_column(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = SqlJobStore(url)
    job = _job(store)
    with store.engine.begin() as conn:  # as a server of the last release left it
        conn.execute(text("ALTER TABLE jobs DROP COLUMN progress"))
    store.engine.dispose()

    reopened = SqlJobStore(url)
    assert reopened.get(job.id).progress is None  # type: ignore[union-attr]
    reopened.claim("me", 1)
    assert reopened.set_progress(job.id, 15)
    assert reopened.get(job.id).progress == 15  # type: ignore[union-attr]
    SqlJobStore(reopened.engine)  # a second replica opening it: nothing to add, no error
    reopened.engine.dispose()


def test_a_single_output_job_reports_each_stage(inproc: InProcessServer,
                                                monkeypatch: pytest.MonkeyPatch):
    """What ``execute`` reports, in order, for a one-seed expand: fetched, decoded, rendered."""
    seen: list[int] = []
    real = task_module.execute

    def recording(task: Any, env: Any, storage: Any = None, progress: Any = None) -> Any:
        def both(percent: int) -> None:
            seen.append(percent)
            if progress is not None:
                progress(percent)

        return real(task, env, storage, both)

    from lampyris.jobs import executor as executor_module

    monkeypatch.setattr(executor_module, "execute", recording)
    photo = inproc.upload(png(np.full((60, 80, 3), 200, np.uint8)))
    status = inproc.run("/v3/images/expand-async", {
        "image": {"source": {"uploadId": photo}}, "size": {"width": 100, "height": 80}})
    assert status["status"] == "succeeded", status
    assert seen == [10, 15, 95]
