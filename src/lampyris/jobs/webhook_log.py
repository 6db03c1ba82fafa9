"""The webhook delivery log: one row per (event, destination), in the job store's database.

A row is written in the same transaction as the job it watches (``SqlJobStore.add``), in state
``waiting``; once the job has finished, the dispatcher writes the event's body into it
(``pending``) and sends it until it is ``delivered`` or ``failed`` for good. Every attempt
(time, HTTP status, error, seconds) is appended to the row's ``attempts_log``, so the log says
what happened and survives restarts: a server killed between a job finishing and its delivery
finds the row pending on its next start and sends it then. Claiming a due row pushes its
``next_attempt`` past the send's deadline in one conditional UPDATE, so two replicas never send
one attempt twice.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Row

from lampyris.jobs.database import METADATA, UtcDateTime
from lampyris.jobs.record import TERMINAL, now

log = logging.getLogger(__name__)

DeliveryState = Literal["waiting", "pending", "delivered", "failed"]

DELIVERIES = Table(
    "webhook_deliveries",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("event_id", String(64), nullable=False, index=True),
    Column("job_id", String(100), index=True),
    Column("owner", String(100), nullable=False),
    Column("url", String(8192), nullable=False),
    Column("base_url", String(2048), nullable=False, default=""),
    Column("state", String(16), nullable=False, index=True),
    Column("event_type", String(64)),
    Column("body", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("attempts_log", JSON, nullable=False),
    Column("next_attempt", UtcDateTime, index=True),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created", UtcDateTime, nullable=False),
    Column("modified", UtcDateTime, nullable=False),
)


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(12)}"


@dataclass(frozen=True)
class Delivery:
    """One event on its way to one URL, as the log holds it."""

    id: str
    event_id: str
    job_id: str | None
    owner: str
    url: str
    base_url: str
    state: DeliveryState
    event_type: str | None
    body: str | None
    attempts: int
    attempts_log: list[dict[str, Any]]
    next_attempt: datetime | None
    last_status: int | None
    last_error: str | None
    created: datetime
    modified: datetime


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(**{c.name: getattr(row, c.name) for c in DELIVERIES.c})


def enqueue_waiting(conn: Connection, job_id: str, owner: str, urls: Iterable[str],
                    base_url: str = "") -> None:
    """Rows for a job's callbacks, in the caller's transaction (the job's own insert)."""
    stamp = now()
    for url in dict.fromkeys(urls):  # the same URL twice gets the event once
        conn.execute(insert(DELIVERIES).values(
            id=secrets.token_hex(16), event_id="", job_id=job_id, owner=owner, url=url,
            base_url=base_url, state="waiting", attempts=0, attempts_log=[], created=stamp,
            modified=stamp))


Event = tuple[str, str]  # (event type, JSON body)
EventBuilder = Callable[[Any, str, str], Event]  # (job record, base URL, event id) -> Event


class WebhookLog:
    """The deliveries table. ``sqlite://`` engines work as for the job store.

    Usage:
        log = WebhookLog(store.engine)
        log.arm(event_for)                            # events of jobs that have ended
        for d in log.claim(8, lease=30): ...; log.attempted(d.id, …)
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, owner: str, url: str, event_type: str, body: str, *,
            event_id: str | None = None, job_id: str | None = None) -> str:
        """Queue an event that is ready now; returns its delivery id."""
        stamp = now()
        delivery_id = secrets.token_hex(16)
        with self.engine.begin() as conn:
            conn.execute(insert(DELIVERIES).values(
                id=delivery_id, event_id=event_id or new_event_id(), job_id=job_id,
                owner=owner, url=url, base_url="", state="pending", event_type=event_type,
                body=body, attempts=0, attempts_log=[], next_attempt=stamp, created=stamp,
                modified=stamp))
        return delivery_id

    def arm(self, event_for: EventBuilder, limit: int = 100) -> int:
        """Write the event of every finished job whose rows still wait, and make them due.
        ``event_for(job, base_url, event_id)`` builds it (the API's shapes); one event id per
        job, so its destinations get the same id. A row whose job no longer exists, or whose
        event cannot be built, is marked ``failed`` with the reason (one bad job never holds
        up the others). Returns how many rows it armed."""
        from lampyris.jobs.store import JOBS, _record  # the store imports this module

        query = (select(DELIVERIES.c.id.label("delivery_id"),
                        DELIVERIES.c.base_url.label("delivery_base"), *JOBS.c)
                 .join(JOBS, JOBS.c.id == DELIVERIES.c.job_id, isouter=True)
                 .where(DELIVERIES.c.state == "waiting", DELIVERIES.c.job_id.is_not(None),
                        or_(JOBS.c.id.is_(None), JOBS.c.state.in_(sorted(TERMINAL))))
                 .order_by(DELIVERIES.c.created, DELIVERIES.c.id)
                 .limit(limit))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        armed = 0
        events: dict[tuple[str, str], tuple[str, Event] | str] = {}
        for row in rows:
            if row.id is None:
                self._fail_waiting(row.delivery_id, "the job no longer exists")
                continue
            key = (row.id, row.delivery_base)
            if key not in events:
                event_id = new_event_id()
                try:
                    events[key] = (event_id, event_for(_record(row), row.delivery_base, event_id))
                except Exception as exc:
                    log.exception("webhook event of job %s could not be built", row.id)
                    events[key] = f"the event could not be built: {type(exc).__name__}: {exc}"
            built = events[key]
            if isinstance(built, str):
                self._fail_waiting(row.delivery_id, built)
                continue
            event_id, (event_type, body) = built
            with self.engine.begin() as conn:
                armed += conn.execute(
                    update(DELIVERIES).where(DELIVERIES.c.id == row.delivery_id,
                                             DELIVERIES.c.state == "waiting")
                    .values(state="pending", event_id=event_id, event_type=event_type,
                            body=body, next_attempt=now(), modified=now())
                ).rowcount
        return armed

    def _fail_waiting(self, delivery_id: str, error: str) -> None:
        """A waiting row that will never be sent: ``failed``, the reason in its log."""
        stamp = now()
        entry = {"at": stamp.isoformat(), "status": None, "error": error, "seconds": 0.0,
                 "outcome": "refused"}
        with self.engine.begin() as conn:
            conn.execute(
                update(DELIVERIES).where(DELIVERIES.c.id == delivery_id,
                                         DELIVERIES.c.state == "waiting")
                .values(state="failed", attempts_log=[entry], next_attempt=None,
                        last_error=error, modified=stamp))
        log.warning("webhook delivery %s failed for good: %s", delivery_id, error)

    def claim(self, limit: int, lease: float) -> list[Delivery]:
        """Up to ``limit`` due deliveries, their next attempt pushed ``lease`` seconds away
        so that nobody else sends them meanwhile."""
        if limit <= 0:
            return []
        stamp = now()
        due = (select(DELIVERIES.c.id)
               .where(DELIVERIES.c.state == "pending", DELIVERIES.c.next_attempt <= stamp)
               .order_by(DELIVERIES.c.next_attempt).limit(limit)
               .with_for_update(skip_locked=True))
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(DELIVERIES).where(DELIVERIES.c.id.in_(due.scalar_subquery()),
                                         DELIVERIES.c.state == "pending")
                .values(next_attempt=stamp + timedelta(seconds=lease))
                .returning(*DELIVERIES.c)
            ).all()
        return [_delivery(r) for r in rows]

    def attempted(self, delivery: Delivery, entry: dict[str, Any],
                  state: DeliveryState, retry_at: datetime | None) -> bool:
        """Append one attempt to the row and move it on: ``delivered``, ``failed`` for good,
        or ``pending`` again at ``retry_at``. Only while the row is still as it was claimed
        (pending, the same number of attempts): a sender whose claim ran out and was sent
        again by another never overwrites what that one recorded. Returns whether it did."""
        with self.engine.begin() as conn:
            return bool(conn.execute(
                update(DELIVERIES).where(DELIVERIES.c.id == delivery.id,
                                         DELIVERIES.c.attempts == delivery.attempts,
                                         DELIVERIES.c.state == "pending")
                .values(state=state, attempts=delivery.attempts + 1,
                        attempts_log=[*delivery.attempts_log, entry],
                        next_attempt=retry_at, last_status=entry.get("status"),
                        last_error=entry.get("error"), modified=now())).rowcount)

    def get(self, delivery_id: str) -> Delivery | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(DELIVERIES).where(DELIVERIES.c.id == delivery_id)).first()
        return None if row is None else _delivery(row)

    def list(self, *, job_id: str | None = None, job_ids: Sequence[str] = (),
             owner: str | None = None, states: Sequence[DeliveryState] = (),
             limit: int = 100) -> list[Delivery]:
        """The newest deliveries first, filtered by job (one, or any of ``job_ids``: a page
        of jobs in one query), client or state."""
        query = select(DELIVERIES).order_by(DELIVERIES.c.created.desc()).limit(limit)
        if job_id is not None:
            query = query.where(DELIVERIES.c.job_id == job_id)
        if job_ids:
            query = query.where(DELIVERIES.c.job_id.in_(list(job_ids)))
        if owner is not None:
            query = query.where(DELIVERIES.c.owner == owner)
        if states:
            query = query.where(DELIVERIES.c.state.in_(list(states)))
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(query).all()]

    def purge(self, before: datetime) -> int:
        """Forget finished deliveries last changed before ``before``."""
        with self.engine.begin() as conn:
            return conn.execute(delete(DELIVERIES).where(
                DELIVERIES.c.state.in_(["delivered", "failed"]),
                DELIVERIES.c.modified < before)).rowcount
