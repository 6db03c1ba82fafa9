"""The delivery log and the dispatcher (``jobs.webhook_log``, ``jobs.webhooks``) against a
real receiving HTTP server on 127.0.0.1 and a SQLite job store on disk: rows written with the
job, armed once it has finished, retried on 5xx/408/429, given up on other 4xx and refused
URLs, each attempt logged."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from lampyris.client import verify_webhook
from lampyris.jobs import JobRecord, SqlJobStore
from lampyris.jobs.database import sqlite_url
from lampyris.jobs.store import JOBS
from lampyris.jobs.webhook_log import WebhookLog
from lampyris.jobs.webhooks import WebhookDispatcher, WebhookSettings, deliver, retry_delay
from lampyris.storage import StorageSettings
from support.http_server import Reply, ScriptedServer, fast_settings, serve

SECRET = "whsec_unit"


@pytest.fixture
def receiver() -> Iterator[ScriptedServer]:
    yield from serve(ScriptedServer(), None)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlJobStore]:
    jobs = SqlJobStore(sqlite_url(tmp_path))
    yield jobs
    jobs.engine.dispose()


def _event(job: Any, base_url: str, event_id: str) -> tuple[str, str]:
    return f"job.{job.state}", json.dumps({"id": event_id, "job": {"id": job.id,
                                                                   "base": base_url}})


def _dispatcher(store: SqlJobStore, storage: StorageSettings | None = None,
                secret: str | None = SECRET, **settings: Any) -> WebhookDispatcher:
    values: dict[str, Any] = {"backoff": 0, "timeout": 2, **settings}
    return WebhookDispatcher(WebhookLog(store.engine), WebhookSettings(**values),
                             storage or fast_settings(), _event, lambda owner: secret)


def _finished_job(store: SqlJobStore, urls: list[str], state: str = "succeeded") -> JobRecord:
    job = store.add(JobRecord(owner="client-1", kind="v2", op="cutout", task={}), urls,
                    "http://lampyris.test")
    [claimed] = store.claim("w", 1)
    assert store.finish(claimed.id, "w", state) == state  # type: ignore[arg-type]
    return job


def test_rows_wait_for_the_job_then_carry_its_signed_event(store: SqlJobStore,
                                                           receiver: ScriptedServer):
    job = store.add(JobRecord(owner="client-1", kind="v2", op="cutout", task={}),
                    [receiver.url("/a"), receiver.url("/a"), receiver.url("/b")], "http://x")
    dispatcher = _dispatcher(store)
    assert dispatcher.step() == 0  # pending job: nothing to send
    log = WebhookLog(store.engine)
    assert sorted(d.state for d in log.list(job_id=job.id)) == ["waiting", "waiting"]
    [claimed] = store.claim("w", 1)
    store.finish(claimed.id, "w", "succeeded")
    assert dispatcher.step() == 2
    deliveries = log.list(job_id=job.id)
    assert {d.state for d in deliveries} == {"delivered"}
    assert len({d.event_id for d in deliveries}) == 1  # one event, two destinations
    for path in ("/a", "/b"):
        [hit] = [r for r in receiver.requests if r.path == path]
        event = verify_webhook(SECRET, hit.body, hit.headers["x-lampyris-signature"])
        assert event == {"id": deliveries[0].event_id,
                         "job": {"id": job.id, "base": "http://x"}}
        assert hit.headers["x-lampyris-event-id"] == deliveries[0].event_id
        assert hit.headers["x-lampyris-event-type"] == "job.succeeded"
        assert hit.headers["content-type"] == "application/json"


@pytest.mark.parametrize(("replies", "states", "statuses"), [
    ([500, 500, 200], ["pending", "pending", "delivered"], [500, 500, None]),
    ([408, 429, 201], ["pending", "pending", "delivered"], [408, 429, None]),
    ([503, 404], ["pending", "failed"], [503, 404]),
    ([410], ["failed"], [410]),
    ([502], ["pending", "pending", "failed"], [502, 502, 502]),  # max_attempts 3
])
def test_what_is_retried_and_what_is_not(store: SqlJobStore, receiver: ScriptedServer,
                                         replies: list[int], states: list[str],
                                         statuses: list[int | None]):
    receiver.script("/hook", *(Reply(code) for code in replies))
    job = _finished_job(store, [receiver.url("/hook")])
    dispatcher = _dispatcher(store, max_attempts=3)
    log = WebhookLog(store.engine)
    seen = []
    for _ in range(len(states) + 2):
        dispatcher.step()
        [delivery] = log.list(job_id=job.id)
        if delivery.attempts > len(seen):
            seen.append(delivery.state)
    assert seen == states
    assert [a["status"] for a in delivery.attempts_log] == statuses
    assert delivery.attempts == len(states) == receiver.hits("/hook")


def test_a_private_address_is_refused_without_a_request(store: SqlJobStore,
                                                        receiver: ScriptedServer):
    job = _finished_job(store, [receiver.url("/hook")])
    _dispatcher(store, storage=StorageSettings(allow_private_urls=[])).step()
    [delivery] = WebhookLog(store.engine).list(job_id=job.id)
    assert delivery.state == "failed" and receiver.hits("/hook") == 0
    assert "LAMPYRIS_ALLOW_PRIVATE_URLS" in (delivery.last_error or "")


def test_a_client_without_a_secret_fails_its_delivery(store: SqlJobStore,
                                                      receiver: ScriptedServer):
    job = _finished_job(store, [receiver.url("/hook")], "failed")
    _dispatcher(store, secret=None).step()
    [delivery] = WebhookLog(store.engine).list(job_id=job.id)
    assert (delivery.state, receiver.hits("/hook")) == ("failed", 0)
    assert delivery.event_type == "job.failed"


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_ends(store: SqlJobStore):
    log = WebhookLog(store.engine)
    log.add("client-1", "http://127.0.0.1:9/x", "batch.finished", "{}")
    assert len(log.claim(5, lease=60)) == 1
    assert log.claim(5, lease=60) == []


def test_the_thread_delivers_on_its_own(store: SqlJobStore, receiver: ScriptedServer):
    dispatcher = _dispatcher(store, poll_interval=0.05)
    dispatcher.start()
    try:
        job = _finished_job(store, [receiver.url("/hook")])
        dispatcher.wake()
        deadline = time.monotonic() + 10
        while WebhookLog(store.engine).list(job_id=job.id)[0].state != "delivered":
            assert time.monotonic() < deadline, "not delivered"
            time.sleep(0.05)
    finally:
        dispatcher.stop()
    assert receiver.hits("/hook") == 1


def test_deliver_waits_between_attempts(receiver: ScriptedServer):
    receiver.script("/hook", Reply(503), Reply(503), Reply(204))
    waits: list[float] = []
    settings = WebhookSettings(backoff=1, max_attempts=5)
    attempts = deliver(receiver.url("/hook"), "{}", SECRET, "evt_x", "batch.finished",
                       fast_settings(), settings, sleep=waits.append)
    assert [a.delivered for a in attempts] == [False, False, True]
    assert [a.status for a in attempts] == [503, 503, None]
    assert len(waits) == 2 and 0.5 <= waits[0] <= 1.5 and 1.0 <= waits[1] <= 3.0


def test_backoff_doubles_up_to_its_cap():
    settings = WebhookSettings(backoff=5, backoff_max=7200)
    for attempt, base in ((1, 5), (2, 10), (5, 80), (20, 7200)):
        assert 0.5 * base <= retry_delay(attempt, settings) <= 1.5 * base
    total = sum(min(5 * 2 ** (n - 1), 7200) for n in range(1, settings.max_attempts))
    assert 20 * 3600 <= total <= 28 * 3600  # "about a day" of retries by default


def test_a_2xx_is_delivered_whatever_its_body_does(store: SqlJobStore, receiver: ScriptedServer):
    receiver.script("/hook", Reply(200, content_length=10**9))  # past the 1 MiB cap
    job = _finished_job(store, [receiver.url("/hook")])
    _dispatcher(store).step()
    [delivery] = WebhookLog(store.engine).list(job_id=job.id)
    assert (delivery.state, delivery.last_status, receiver.hits("/hook")) == ("delivered", 200, 1)


def test_one_job_whose_event_cannot_be_built_holds_up_no_other(store: SqlJobStore,
                                                              receiver: ScriptedServer):
    bad = _finished_job(store, [receiver.url("/bad")])
    good = _finished_job(store, [receiver.url("/good")])

    def event(job: Any, base_url: str, event_id: str) -> tuple[str, str]:
        if job.id == bad.id:
            raise ValueError("broken outcome")
        return _event(job, base_url, event_id)

    log = WebhookLog(store.engine)
    assert log.arm(event) == 1
    [failed] = log.list(job_id=bad.id)
    assert failed.state == "failed" and "broken outcome" in (failed.last_error or "")
    assert failed.attempts_log[0]["error"] == failed.last_error
    assert [d.state for d in log.list(job_id=good.id)] == ["pending"]


def test_due_deliveries_go_out_even_when_arming_fails(store: SqlJobStore,
                                                      receiver: ScriptedServer):
    dispatcher = _dispatcher(store)
    WebhookLog(store.engine).add("client-1", receiver.url("/hook"), "batch.finished", "{}")

    def broken(event_for: Any, limit: int = 100) -> int:
        raise RuntimeError("database hiccup")

    dispatcher.log.arm = broken  # type: ignore[method-assign]
    assert dispatcher.step() == 1 and receiver.hits("/hook") == 1


def test_a_waiting_row_whose_job_is_gone_fails_and_says_so(store: SqlJobStore,
                                                           receiver: ScriptedServer):
    job = store.add(JobRecord(owner="client-1", kind="v2", op="cutout", task={}),
                    [receiver.url("/hook")], "http://x")
    with store.engine.begin() as conn:
        conn.execute(delete(JOBS).where(JOBS.c.id == job.id))
    log = WebhookLog(store.engine)
    assert log.arm(_event) == 0
    [delivery] = log.list(job_id=job.id)
    assert (delivery.state, delivery.last_error) == ("failed", "the job no longer exists")


def test_a_stale_sender_never_overwrites_a_delivered_row(store: SqlJobStore):
    log = WebhookLog(store.engine)
    log.add("client-1", "http://127.0.0.1:9/x", "batch.finished", "{}")
    [claimed] = log.claim(5, lease=0)
    [again] = log.claim(5, lease=60)  # the first claim ran out: another sender took it
    assert log.attempted(again, {"status": 204}, "delivered", None)
    assert not log.attempted(claimed, {"status": None, "error": "timeout"}, "pending", None)
    stored = log.get(claimed.id)
    assert stored is not None and (stored.state, stored.attempts) == ("delivered", 1)
