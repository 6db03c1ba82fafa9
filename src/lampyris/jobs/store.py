"""The durable job store: SQLAlchemy Core over SQLite (default) or PostgreSQL.

Every state change is one committed statement, so a job the API has acknowledged survives a
``kill -9``. Claiming is a single ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``:
several executors (threads, processes, server replicas) never take the same job.

Every transition is a conditional ``UPDATE … WHERE state = <expected>`` whose row count says
whether it happened, never a read followed by a write: ``SELECT … FOR UPDATE`` locks nothing on
SQLite, where eight concurrent cancels of one job used to get up to five 200s and a job
answered ``cancel_pending`` could still end ``succeeded``. States only move forward (running →
cancel_pending → cancelled), so trying ``running`` before ``cancel_pending`` never misses one.

``progress`` (0..100) is what the worker running a job last reported (``set_progress``); a
store opened on a database made before it existed gains the column on first use, and the
``(owner, created, id)`` index a client's job history pages along (``list_jobs``) likewise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Index,
    Integer,
    String,
    Table,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError

from lampyris.errors import JobCancelledError, JobError
from lampyris.failure import Failure
from lampyris.jobs.database import METADATA, UtcDateTime, make_engine
from lampyris.jobs.record import TERMINAL, JobRecord, State, now
from lampyris.jobs.webhook_log import enqueue_waiting

JOBS = Table(
    "jobs",
    METADATA,
    Column("id", String(100), primary_key=True),
    Column("owner", String(100), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("op", String(64), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("task", JSON, nullable=False),
    Column("request", JSON, nullable=False),
    Column("result", JSON),
    Column("error", JSON),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created", UtcDateTime, nullable=False, index=True),
    Column("modified", UtcDateTime, nullable=False),
    Column("claimed_by", String(100)),
    Column("heartbeat", UtcDateTime),
    Column("progress", Integer),
)
# A client's history, newest first, paged by (created, id): one range scan of this index.
OWNER_HISTORY = Index("ix_jobs_owner_created_id", JOBS.c.owner, JOBS.c.created, JOBS.c.id)


_CLAIMED = ("running", "cancel_pending")  # states in which a worker holds the job
_CANCELLED = Failure.of(JobCancelledError("The job was cancelled.")).record()


def _record(row: Row[Any]) -> JobRecord:
    return JobRecord(
        id=row.id, owner=row.owner, kind=row.kind, op=row.op, state=row.state,
        task=row.task, request=row.request, result=row.result, error=row.error,
        attempts=row.attempts, created=row.created, modified=row.modified,
        progress=row.progress,
    )


def add_history_index(engine: Engine) -> None:
    """Databases made before the console's job history gain its index (replicas may race to
    add it: the loser's error is ignored)."""
    try:
        OWNER_HISTORY.create(engine, checkfirst=True)
    except DBAPIError:
        names = {i["name"] for i in inspect(engine).get_indexes("jobs")}
        if OWNER_HISTORY.name not in names:
            raise


def add_progress_column(engine: Engine) -> None:
    """Databases made before job progress existed gain its column (nullable: old rows read
    as "no progress reported"). Replicas may race to add it: the loser's error is ignored."""
    if "progress" in {c["name"] for c in inspect(engine).get_columns("jobs")}:
        return
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE jobs ADD COLUMN progress INTEGER"))
    except DBAPIError:
        if "progress" not in {c["name"] for c in inspect(engine).get_columns("jobs")}:
            raise


class SqlJobStore:
    """Jobs in a SQL database. ``sqlite://`` gives the in-memory store the unit tests use
    (one shared connection: single-threaded use only).

    Usage:
        store = SqlJobStore("sqlite:///data/lampyris.db")
        store.add(JobRecord(owner="client", kind="v2", op="cutout", task={...}))
    """

    def __init__(self, url_or_engine: str | Engine) -> None:
        self.engine = (
            make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        )
        add_progress_column(self.engine)
        add_history_index(self.engine)

    def add(self, job: JobRecord, webhooks: Sequence[str] = (), base_url: str = "") -> JobRecord:
        """Commit a new job; it is durable when this returns. ``webhooks``: URLs told when it
        finishes (``jobs.webhooks``), logged in the same transaction, so an accepted job's
        callback is never lost either; ``base_url`` is the root of the links its event gives."""
        with self.engine.begin() as conn:
            conn.execute(insert(JOBS).values(
                id=job.id, owner=job.owner, kind=job.kind, op=job.op, state=job.state,
                task=job.task, request=job.request, result=job.result, error=job.error,
                attempts=job.attempts, created=job.created, modified=job.modified,
            ))
            if webhooks:
                enqueue_waiting(conn, job.id, job.owner, webhooks, base_url)
        return job

    def get(self, job_id: str, owner: str | None = None) -> JobRecord | None:
        """The job, or None if it does not exist or belongs to another owner."""
        query = select(JOBS).where(JOBS.c.id == job_id)
        if owner is not None:
            query = query.where(JOBS.c.owner == owner)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _record(row)

    def claim(self, worker: str, limit: int) -> list[JobRecord]:
        """Move up to ``limit`` of the oldest pending jobs to running, owned by ``worker``."""
        if limit <= 0:
            return []
        oldest = (
            select(JOBS.c.id).where(JOBS.c.state == "pending").order_by(JOBS.c.created)
            .limit(limit).with_for_update(skip_locked=True)
        )
        stamp = now()
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(JOBS).where(JOBS.c.id.in_(oldest.scalar_subquery()))
                .values(state="running", attempts=JOBS.c.attempts + 1, claimed_by=worker,
                        heartbeat=stamp, modified=stamp, progress=0)
                .returning(*JOBS.c)
            ).all()
        return sorted((_record(r) for r in rows), key=lambda j: j.created)

    def set_progress(self, job_id: str, percent: int) -> bool:
        """Record how far a running job is (0..100); only a job still held by a worker, and
        only forward, so a late report never moves a finished or re-run job. Not a lease
        renewal: heartbeats stay the executor's."""
        held = (JOBS.c.id == job_id) & JOBS.c.state.in_(_CLAIMED) & (
            JOBS.c.progress.is_(None) | (JOBS.c.progress < percent))
        with self.engine.begin() as conn:
            done = conn.execute(update(JOBS).where(held).values(progress=percent)).rowcount
        return bool(done)

    def heartbeat(self, worker: str, job_ids: list[str]) -> None:
        """Renew the lease on jobs ``worker`` is still running."""
        if job_ids:
            with self.engine.begin() as conn:
                conn.execute(
                    update(JOBS).where(JOBS.c.id.in_(job_ids), JOBS.c.claimed_by == worker,
                                       JOBS.c.state.in_(_CLAIMED))
                    .values(heartbeat=now())
                )

    def finish(
        self,
        job_id: str,
        worker: str,
        state: State,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> State | None:
        """Record the outcome and return the state recorded: ``state``, or ``cancelled`` for a
        job whose cancel was asked for while it ran (its result dropped); None if the job was
        meanwhile taken from ``worker``."""
        mine = (JOBS.c.id == job_id) & (JOBS.c.claimed_by == worker)
        with self.engine.begin() as conn:
            if conn.execute(
                update(JOBS).where(mine, JOBS.c.state == "running")
                .values(state=state, result=result, error=error, modified=now(),
                        claimed_by=None, heartbeat=None)
            ).rowcount:
                return state
            if conn.execute(
                update(JOBS).where(mine, JOBS.c.state == "cancel_pending")
                .values(state="cancelled", error=_CANCELLED, modified=now(), claimed_by=None,
                        heartbeat=None)
            ).rowcount:
                return "cancelled"
        return None

    def cancel(self, job_id: str, owner: str) -> State | None:
        """Cancel ``owner``'s job: a pending one ends ``cancelled`` at once, a running one
        becomes ``cancel_pending`` (its worker finishes, the result is dropped); others are
        left as they are. Returns the state the job was in when *this* call changed it
        (``pending`` or ``running``: of concurrent calls, exactly one sees that), else the
        state it is in (``cancel_pending``, ``cancelled``, ``succeeded``…), or None if there is
        no such job."""
        mine = (JOBS.c.id == job_id) & (JOBS.c.owner == owner)
        for _ in range(5):  # a worker dying in between may move running back to pending
            with self.engine.begin() as conn:
                if conn.execute(
                    update(JOBS).where(mine, JOBS.c.state == "pending")
                    .values(state="cancelled", error=_CANCELLED, modified=now())
                ).rowcount:
                    return "pending"
                if conn.execute(
                    update(JOBS).where(mine, JOBS.c.state == "running")
                    .values(state="cancel_pending", modified=now())
                ).rowcount:
                    return "running"
                row = conn.execute(select(JOBS.c.state).where(mine)).first()
            if row is None:
                return None
            if row.state not in ("pending", "running"):
                current: State = row.state
                return current
        raise RuntimeError(f"job {job_id} keeps changing state; cancel not applied")

    def release(self, job_id: str, worker: str, max_attempts: int, reason: str) -> State | None:
        """Give a job back after its worker died: pending again, or failed for good once it
        has had ``max_attempts`` (it may be what kills workers); a job being cancelled ends
        ``cancelled``. Returns the state it is left in, or None if ``worker`` no longer held
        it."""
        mine = (JOBS.c.id == job_id) & (JOBS.c.claimed_by == worker)
        freed = {"modified": now(), "claimed_by": None, "heartbeat": None}
        with self.engine.begin() as conn:
            if conn.execute(
                update(JOBS).where(mine, JOBS.c.state == "running",
                                   JOBS.c.attempts < max_attempts)
                .values(state="pending", error=None, progress=None, **freed)
            ).rowcount:
                return "pending"
            if conn.execute(
                update(JOBS).where(mine, JOBS.c.state == "running")
                .values(state="failed", error=Failure.of(JobError(reason)).record(), **freed)
            ).rowcount:
                return "failed"
            if conn.execute(
                update(JOBS).where(mine, JOBS.c.state == "cancel_pending")
                .values(state="cancelled", error=_CANCELLED, **freed)
            ).rowcount:
                return "cancelled"
        return None

    def recover(self, stale_before: datetime, max_attempts: int) -> int:
        """Jobs left running by a dead server (no heartbeat since ``stale_before``) go back
        to pending, or fail once they have used up their attempts. Returns how many."""
        stale = (JOBS.c.state == "running") & (
            JOBS.c.heartbeat.is_(None) | (JOBS.c.heartbeat < stale_before)
        )
        reason = f"the job was interrupted {max_attempts} times (server or worker stopped)"
        with self.engine.begin() as conn:
            conn.execute(
                update(JOBS).where(JOBS.c.state == "cancel_pending", JOBS.c.heartbeat.is_(None)
                                   | (JOBS.c.heartbeat < stale_before))
                .values(state="cancelled", error=_CANCELLED, claimed_by=None, heartbeat=None,
                        modified=now())
            )
            retried = conn.execute(
                update(JOBS).where(stale, JOBS.c.attempts < max_attempts)
                .values(state="pending", claimed_by=None, heartbeat=None, progress=None,
                        modified=now())
            ).rowcount
            failed = conn.execute(
                update(JOBS).where(stale, JOBS.c.attempts >= max_attempts)
                .values(state="failed", error=Failure.of(JobError(reason)).record(),
                        claimed_by=None, heartbeat=None, modified=now())
            ).rowcount
        return retried + failed

    def counts(self) -> dict[tuple[str, str], int]:
        """Number of jobs per (op, state), for metrics."""
        query = select(JOBS.c.op, JOBS.c.state, func.count()).group_by(JOBS.c.op, JOBS.c.state)
        with self.engine.connect() as conn:
            return {(op, state): n for op, state, n in conn.execute(query).all()}

    def list_jobs(self, owner: str, op: str | None = None, state: str | None = None,
                  limit: int = 20, before: tuple[datetime, str] | None = None
                  ) -> list[JobRecord]:
        """``owner``'s jobs, newest first, at most ``limit``, optionally of one op and state;
        ``before`` is the (created, id) of the last job of the previous page, so a page never
        shifts when jobs are added meanwhile. One range scan of ``OWNER_HISTORY``."""
        query = select(JOBS).where(JOBS.c.owner == owner)
        if op is not None:
            query = query.where(JOBS.c.op == op)
        if state is not None:
            query = query.where(JOBS.c.state == state)
        if before is not None:
            created, job_id = before
            query = query.where((JOBS.c.created < created)
                                | ((JOBS.c.created == created) & (JOBS.c.id < job_id)))
        query = query.order_by(JOBS.c.created.desc(), JOBS.c.id.desc()).limit(max(0, limit))
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query).all()]

    def finished_since(self, since: datetime) -> dict[tuple[str, str], int]:
        """Jobs per (op, state) that ended (a terminal state) at or after ``since``: the
        console's last hour, from the rows ``/metrics``' gauges count too."""
        query = (select(JOBS.c.op, JOBS.c.state, func.count())
                 .where(JOBS.c.state.in_(sorted(TERMINAL)), JOBS.c.modified >= since)
                 .group_by(JOBS.c.op, JOBS.c.state))
        with self.engine.connect() as conn:
            return {(op, state): n for op, state, n in conn.execute(query).all()}

    def purge(self, finished_before: datetime) -> list[str]:
        """Delete finished jobs last changed before ``finished_before``; returns their ids."""
        old = JOBS.c.state.in_(sorted(TERMINAL)) & (JOBS.c.modified < finished_before)
        with self.engine.begin() as conn:
            ids = [r.id for r in conn.execute(select(JOBS.c.id).where(old)).all()]
            if ids:
                conn.execute(delete(JOBS).where(JOBS.c.id.in_(ids)))
        return ids


def lease_cutoff(lease_seconds: float) -> datetime:
    return now() - timedelta(seconds=lease_seconds)
