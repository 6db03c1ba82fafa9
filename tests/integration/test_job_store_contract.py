"""One contract every job store backend passes: SQLite in memory, SQLite on disk, PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from lampyris.errors import JobError
from lampyris.failure import Failure
from lampyris.jobs import JobRecord, SqlJobStore
from lampyris.jobs.record import now


@pytest.fixture(params=["sqlite-memory", "sqlite-file", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlJobStore]:
    if request.param == "sqlite-memory":
        url = "sqlite://"
    elif request.param == "sqlite-file":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    backend = SqlJobStore(url)
    with backend.engine.begin() as conn:
        conn.execute(text("DELETE FROM jobs"))
    yield backend
    backend.engine.dispose()


def _needs_threads(store: SqlJobStore) -> None:
    if store.engine.url.database in (None, "", ":memory:"):
        pytest.skip("the in-memory store is one shared connection: single-threaded use only")


def _together(*calls: Callable[[], object]) -> list[object]:
    """Run ``calls`` on one thread each, released at the same instant; their results in order."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


ROUNDS = 50


def job(owner: str = "alice", **kw: object) -> JobRecord:
    return JobRecord(owner=owner, kind="v2", op="cutout", task={"op": "cutout", "n": 1},
                     request={"image": "x"}, **kw)  # type: ignore[arg-type]


class TestJobStoreContract:
    def test_add_then_get_round_trips_and_hides_other_owners(self, store: SqlJobStore):
        added = store.add(job())
        got = store.get(added.id, owner="alice")
        assert got is not None
        assert (got.task, got.request, got.state, got.attempts) == (added.task, added.request,
                                                                     "pending", 0)
        assert got.created.tzinfo is not None
        assert abs((got.created - added.created).total_seconds()) < 0.001
        assert store.get(added.id, owner="bob") is None
        assert store.get("no-such-id") is None

    def test_claim_takes_the_oldest_pending_first(self, store: SqlJobStore):
        first, second, third = (store.add(job(created=now() + timedelta(seconds=i)))
                                for i in range(3))
        claimed = store.claim("w1", 2)
        assert [j.id for j in claimed] == [first.id, second.id]
        assert all(j.state == "running" and j.attempts == 1 for j in claimed)
        assert [j.id for j in store.claim("w2", 5)] == [third.id]
        assert store.claim("w3", 5) == []

    def test_concurrent_claims_never_share_a_job(self, store: SqlJobStore):
        _needs_threads(store)
        ids = {store.add(job()).id for _ in range(40)}
        taken: list[str] = []
        lock = threading.Lock()

        def worker(name: str) -> None:
            while batch := store.claim(name, 3):
                with lock:
                    taken.extend(j.id for j in batch)

        threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(taken) == sorted(ids)

    def test_finish_only_by_the_claiming_worker(self, store: SqlJobStore):
        added = store.add(job())
        store.claim("w1", 1)
        assert not store.finish(added.id, "w2", "succeeded", result={"x": 1})
        assert store.finish(added.id, "w1", "succeeded", result={"outputs": [1]})
        done = store.get(added.id)
        assert done is not None and done.state == "succeeded" and done.result == {"outputs": [1]}
        assert not store.finish(added.id, "w1", "failed", error={"type": "X"})

    def test_cancel_pending_running_and_finished_jobs(self, store: SqlJobStore):
        pending, running, done = (store.add(job()) for _ in range(3))
        for claimed in store.claim("w", 3):
            if claimed.id == pending.id:  # give this one back: it stays pending
                store.release(claimed.id, "w", 9, "not yet")
        assert store.finish(done.id, "w", "succeeded", result={"outputs": []}) == "succeeded"

        assert store.cancel(pending.id, "someone else") is None
        assert store.cancel(pending.id, "alice") == "pending"
        assert store.get(pending.id).state == "cancelled"  # type: ignore[union-attr]
        assert store.claim("w", 5) == [], "a cancelled job is never claimed"
        assert store.cancel(running.id, "alice") == "running"
        assert store.get(running.id).state == "cancel_pending"  # type: ignore[union-attr]
        store.heartbeat("w", [running.id])  # the worker keeps its lease meanwhile
        assert store.finish(running.id, "w", "succeeded", result={"outputs": [1]}) == "cancelled"
        ended = store.get(running.id)
        assert ended is not None and ended.result is None and ended.error is not None
        assert store.cancel(running.id, "alice") == "cancelled"
        assert store.cancel(done.id, "alice") == "succeeded"
        assert store.get(done.id).state == "succeeded"  # type: ignore[union-attr]

    def test_recover_requeues_stale_running_jobs_and_fails_exhausted_ones(
        self, store: SqlJobStore
    ):
        fresh, stale, exhausted = store.add(job()), store.add(job()), store.add(job())
        store.claim("dead", 3)
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE jobs SET attempts = 3 WHERE id = :id"),
                         {"id": exhausted.id})
        store.heartbeat("dead", [fresh.id])
        with store.engine.begin() as conn:  # the other two last beat long ago
            conn.execute(text("UPDATE jobs SET heartbeat = :t WHERE id != :id"),
                         {"t": (now() - timedelta(hours=1)).replace(tzinfo=None),
                          "id": fresh.id})
        assert store.recover(now() - timedelta(minutes=5), max_attempts=3) == 2
        states = {j: store.get(j).state for j in (fresh.id, stale.id, exhausted.id)}  # type: ignore[union-attr]
        assert states == {fresh.id: "running", stale.id: "pending", exhausted.id: "failed"}
        failed = store.get(exhausted.id)
        assert failed is not None and "interrupted" in failed.error["message"]  # type: ignore[index]

    def test_release_requeues_until_attempts_run_out(self, store: SqlJobStore):
        added = store.add(job())
        for attempt in (1, 2):
            (claimed,) = store.claim("w", 1)
            assert claimed.attempts == attempt
            assert store.release(added.id, "w", 3, "worker died") == "pending"
        store.claim("w", 1)
        assert store.release(added.id, "w", 3, "worker died") == "failed"
        gone = store.get(added.id)
        assert gone is not None and gone.error is not None
        failure = Failure.read(gone.error)
        assert (failure.error_class(), failure.message) == (JobError, "worker died")

    def test_a_job_given_back_forgets_the_progress_of_its_last_run(self, store: SqlJobStore):
        released, recovered = store.add(job()), store.add(job())
        store.claim("w", 2)
        store.set_progress(released.id, 60)
        store.set_progress(recovered.id, 80)
        assert store.release(released.id, "w", 3, "worker died") == "pending"
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE jobs SET heartbeat = NULL WHERE id = :id"),
                         {"id": recovered.id})
        assert store.recover(now() - timedelta(minutes=5), max_attempts=3) == 1
        for added in (released, recovered):
            again = store.get(added.id)
            assert again is not None and (again.state, again.progress) == ("pending", None)

    def test_counts_and_purge(self, store: SqlJobStore):
        old = store.add(job())
        store.add(job())
        store.claim("w", 1)
        store.finish(old.id, "w", "failed", error={"type": "X", "message": "m"})
        assert store.counts() == {("cutout", "failed"): 1, ("cutout", "pending"): 1}
        assert store.purge(now() - timedelta(hours=1)) == []
        assert store.purge(now() + timedelta(seconds=1)) == [old.id]
        assert store.counts() == {("cutout", "pending"): 1}

    def test_list_jobs_pages_an_owners_history_newest_first(self, store: SqlJobStore):
        """The console's history: by (created, id) descending, ties included, a page after
        ``before`` unmoved by jobs added since, another owner's jobs never listed."""
        base = now() - timedelta(minutes=5)
        stamps = [base + timedelta(seconds=i // 2) for i in range(9)]  # pairs share a time
        mine = [store.add(job(created=stamp, modified=stamp)) for stamp in stamps]
        store.add(job(owner="bob"))
        expected = [j.id for j in sorted(mine, key=lambda j: (j.created, j.id), reverse=True)]
        seen, before = [], None
        while True:
            page = store.list_jobs("alice", limit=4, before=before)
            if not page:
                break
            seen += [j.id for j in page]
            before = (page[-1].created, page[-1].id)
            store.add(job())  # newer than everything listed: never on a later page
        assert seen == expected
        assert [j.owner for j in store.list_jobs("bob")] == ["bob"]

    def test_list_jobs_filters_by_op_and_state(self, store: SqlJobStore):
        fill = store.add(JobRecord(owner="alice", kind="firefly", op="fill",
                                   task={"op": "fill"}))
        cutout = store.add(job())
        store.claim("w", 2)
        store.finish(cutout.id, "w", "failed", error={"code": "corrupt_image"})
        assert [j.id for j in store.list_jobs("alice", op="fill")] == [fill.id]
        assert [j.id for j in store.list_jobs("alice", state="failed")] == [cutout.id]
        assert store.list_jobs("alice", op="fill", state="failed") == []

    def test_finished_since_counts_what_ended_lately_by_op_and_state(
        self, store: SqlJobStore
    ):
        done, failed, waiting = store.add(job()), store.add(job()), store.add(job())
        store.claim("w", 2)
        store.finish(done.id, "w", "succeeded", result={"outputs": []})
        store.finish(failed.id, "w", "failed", error={"code": "corrupt_image"})
        assert store.get(waiting.id).state == "pending"  # type: ignore[union-attr]
        hour_ago = now() - timedelta(hours=1)
        assert store.finished_since(hour_ago) == {("cutout", "succeeded"): 1,
                                                  ("cutout", "failed"): 1}
        assert store.finished_since(now() + timedelta(seconds=1)) == {}

    def test_the_history_index_exists_even_on_an_older_database(self, store: SqlJobStore):
        with store.engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_jobs_owner_created_id"))
        reopened = SqlJobStore(store.engine)
        names = {i["name"] for i in inspect(reopened.engine).get_indexes("jobs")}
        assert "ix_jobs_owner_created_id" in names
        if store.engine.dialect.name == "sqlite":
            query = ("EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE owner = 'a' "
                     "ORDER BY created DESC, id DESC LIMIT 21")
            with store.engine.connect() as conn:
                plan = " ".join(str(row[-1]) for row in conn.execute(text(query)))
            assert "ix_jobs_owner_created_id" in plan and "TEMP B-TREE" not in plan, plan

    def test_ids_are_unguessable_single_path_segments(self, store: SqlJobStore):
        ids = {store.add(job()).id for _ in range(20)}
        assert len(ids) == 20
        for job_id in ids:
            assert "/" not in job_id and len(job_id) >= 36
            uuid.UUID(job_id[:36])

    def test_of_concurrent_cancels_exactly_one_wins(self, store: SqlJobStore):
        """Eight clients cancel one job at once: one is told it worked, the others 409."""
        _needs_threads(store)
        for claimed in (False, True) * (ROUNDS // 2):
            added = store.add(job())
            if claimed:
                store.claim("w", 1)
            answers = _together(*[partial(store.cancel, added.id, "alice")] * 8)
            won, lost = ("running", "cancel_pending") if claimed else ("pending", "cancelled")
            assert sorted(map(str, answers)) == sorted([won] + [lost] * 7), answers
            assert store.get(added.id).state == lost  # type: ignore[union-attr]

    @pytest.mark.parametrize("outcome", ["finish", "release"])
    def test_a_job_answered_cancel_pending_never_ends_succeeded(
        self, store: SqlJobStore, outcome: str
    ):
        """The worker's finish (or a dead worker's release) races a cancel, round after
        round: whichever comes first, the answer the client got is the truth."""
        _needs_threads(store)
        for _ in range(ROUNDS):
            added = store.add(job())
            store.claim("w", 1)
            end = (partial(store.finish, added.id, "w", "succeeded", result={"outputs": [1]})
                   if outcome == "finish" else
                   partial(store.release, added.id, "w", 1, "worker died"))
            told, recorded = _together(partial(store.cancel, added.id, "alice"), end)
            final = store.get(added.id)
            assert final is not None
            assert recorded == final.state, (told, recorded, final.state)
            if told == "running":  # the client was answered cancel_pending
                assert final.state == "cancelled" and final.result is None
            else:
                assert told == final.state and final.state in ("succeeded", "failed")
