"""Webhooks over a real ``lampyris serve``: a receiving HTTP server on 127.0.0.1 gets each
finished job's event, signed with the client's webhook secret and verifiable with
``lampyris.client.verify_webhook``; 5xx answers are retried and every attempt is logged; a
server killed with SIGKILL after the job finished, before its event got through, delivers it
after the restart; a callback to a private address is refused at submit unless allowed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lampyris.api.client_webhooks import ClientWebhooks
from lampyris.client import WebhookSignatureError, verify_webhook
from lampyris.jobs.database import make_engine
from lampyris.jobs.webhook_log import Delivery, WebhookLog
from lampyris.storage import Blob
from support.http_server import Recorded, Reply, ScriptedServer, serve
from support.images import assert_sane_cutout
from support.lampyris_server import LampyrisServer, running_server
from support.procs import wait_until

FAST = {"LAMPYRIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8", "LAMPYRIS_WEBHOOK_BACKOFF": "0.2",
        "LAMPYRIS_WEBHOOK_TIMEOUT": "2", "LAMPYRIS_WEBHOOK_POLL_INTERVAL": "0.2"}


@pytest.fixture
def files(photo: bytes) -> Iterator[ScriptedServer]:
    """The job's input and output store, and the webhook receiver (``/hook``)."""
    state = ScriptedServer()
    state.objects["/in.jpg"] = Blob(photo, "image/jpeg")
    yield from serve(state, None)


@pytest.fixture(scope="module")
def live() -> Iterator[LampyrisServer]:
    with running_server(env=FAST) as server:
        yield server


def _job(files: ScriptedServer, name: str, callback: str) -> dict[str, Any]:
    return {"input": {"href": files.url("/in.jpg"), "storage": "external"},
            "output": {"href": files.url(f"/out/{name}"), "storage": "external"},
            "lampyris": {"callback": {"url": callback}}}


def _secret(server: LampyrisServer) -> str:
    assert server.client is not None
    engine = make_engine(server.database)
    try:
        secret = ClientWebhooks(engine).secret(server.client.client_id)
    finally:
        engine.dispose()
    assert secret is not None
    return secret


def _deliveries(server: LampyrisServer, job_id: str) -> list[Delivery]:
    engine = make_engine(server.database)
    try:
        return WebhookLog(engine).list(job_id=job_id)
    finally:
        engine.dispose()


def _hooks(files: ScriptedServer) -> list[Recorded]:
    return [r for r in files.requests if r.path == "/hook"]


def test_events_arrive_signed_and_retried_until_delivered(live: LampyrisServer,
                                                           files: ScriptedServer):
    files.script("/hook", Reply(500), Reply(500), Reply(200))
    accepted = live.post("/sensei/cutout", _job(files, "a.png", files.url("/hook")))
    assert accepted.status_code == 202, accepted.text
    status_url = accepted.json()["_links"]["self"]["href"]
    job_id = status_url.rsplit("/", 1)[-1]
    assert live.wait(status_url)["status"] == "succeeded"
    assert_sane_cutout(files.objects["/out/a.png"].data)

    wait_until(lambda: len(_hooks(files)) >= 3, timeout=30, what="three deliveries")
    wait_until(lambda: _deliveries(live, job_id)[0].state == "delivered", timeout=10,
               what="the log to say delivered")
    hooks = _hooks(files)
    assert len(hooks) == 3
    secret = _secret(live)
    events = [verify_webhook(secret, r.body, r.headers["x-lampyris-signature"]) for r in hooks]
    assert {r.headers["x-lampyris-event-id"] for r in hooks} == {events[0]["id"]}
    assert all(e == events[0] for e in events)  # the same event; each signed afresh
    event = events[0]
    assert event["type"] == "job.succeeded" and hooks[0].headers["x-lampyris-event-type"] == \
        "job.succeeded"
    job = event["job"]
    assert (job["id"], job["op"], job["state"], job["statusUrl"]) == (
        job_id, "cutout", "succeeded", status_url)
    assert job["error"] is None
    assert job["outputs"][0]["mediaType"] == "image/png"
    assert job["outputs"][0]["bytes"] == len(files.objects["/out/a.png"].data)
    with pytest.raises(WebhookSignatureError):
        verify_webhook("not-the-secret", hooks[0].body, hooks[0].headers["x-lampyris-signature"])
    with pytest.raises(WebhookSignatureError):
        verify_webhook(secret, hooks[0].body.replace(b"succeeded", b"failed"),
                       hooks[0].headers["x-lampyris-signature"])

    [delivery] = _deliveries(live, job_id)
    assert (delivery.state, delivery.attempts) == ("delivered", 3)
    assert [a["status"] for a in delivery.attempts_log] == [500, 500, None]
    assert [a["outcome"] for a in delivery.attempts_log] == ["retry", "retry", "delivered"]


def test_the_console_shows_each_jobs_deliveries_and_review(live: LampyrisServer,
                                                           files: ScriptedServer):
    """The console's job view: the job's callback took the event, the client's webhook keeps
    answering 503 (still pending, its next try named); a URL's query (a receiver's token) is
    shown nowhere."""
    files.script("/ok", Reply(200))
    files.script("/down", *[Reply(503)] * 50)
    assert live.client is not None
    engine = make_engine(live.database)
    hooks_of_clients = ClientWebhooks(engine)
    hooks_of_clients.set(live.client.client_id, url=files.url("/down"))
    try:
        accepted = live.post("/sensei/cutout",
                             _job(files, "c.png", files.url("/ok") + "?token=s3cret"))
    finally:  # later tests' jobs must not go to this receiver
        hooks_of_clients.set(live.client.client_id, clear_url=True)
        engine.dispose()
    assert accepted.status_code == 202, accepted.text
    status_url = accepted.json()["_links"]["self"]["href"]
    job_id = status_url.rsplit("/", 1)[-1]
    assert live.wait(status_url)["status"] == "succeeded"
    wait_until(lambda: {d.state for d in _deliveries(live, job_id)} == {"delivered", "pending"}
               and all(d.attempts for d in _deliveries(live, job_id)),
               timeout=30, what="one delivered, one retried")

    answer = httpx.get(f"{live.url}/lampyris/v1/jobs/{job_id}", headers=live.headers(),
                       timeout=30)
    assert answer.status_code == 200, answer.text
    job = answer.json()
    hooks = {h["url"]: h for h in job["webhooks"]}
    assert set(hooks) == {files.url("/ok") + "?…", files.url("/down")}
    assert "s3cret" not in answer.text  # nor in the request as the console shows it
    assert job["settings"]["lampyris"]["callback"]["url"] == files.url("/ok") + "?…"
    ok, down = hooks[files.url("/ok") + "?…"], hooks[files.url("/down")]
    assert (ok["state"], ok["event"], ok["attempts"], ok["nextAttempt"]) == (
        "delivered", "job.succeeded", 1, None)
    assert (down["state"], down["lastStatus"]) == ("pending", 503)
    assert down["attempts"] >= 1 and down["nextAttempt"] is not None
    # The result's confidence, as the job status has it under lampyris.review.
    review = job["review"]
    assert set(review) == {"score", "flag", "threshold", "reasons", "features"}
    assert review["flag"] is False and review["score"] > 0.5  # a red disc on grey
    listed = httpx.get(f"{live.url}/lampyris/v1/jobs?op=cutout", headers=live.headers(),
                       timeout=30).json()["jobs"]
    in_list = next(j for j in listed if j["id"] == job_id)["webhooks"]  # (retries go on)
    assert [(h["url"], h["event"]) for h in in_list] == [(h["url"], h["event"])
                                                         for h in job["webhooks"]]


def test_a_failed_job_is_an_event_too(live: LampyrisServer, files: ScriptedServer):
    body = _job(files, "b.png", files.url("/hook"))
    body["input"]["href"] = files.url("/missing.jpg")
    accepted = live.post("/sensei/cutout", body)
    assert accepted.status_code == 202, accepted.text
    status = live.wait(accepted.json()["_links"]["self"]["href"])
    assert status["status"] == "failed"
    wait_until(lambda: len(_hooks(files)) >= 1, timeout=30, what="the failure's event")
    event = verify_webhook(_secret(live), _hooks(files)[0].body,
                           _hooks(files)[0].headers["x-lampyris-signature"])
    assert event["type"] == "job.failed" and event["job"]["outputs"] == []
    error = event["job"]["error"]  # what the status route says, in the event's words
    assert (str(error["status"]), error["code"], error["message"]) == (
        status["errors"]["code"], status["errors"]["error_code"], status["errors"]["title"])


def test_callback_to_a_private_address_is_refused_at_submit(live: LampyrisServer,
                                                            files: ScriptedServer):
    # 127.0.0.0/8 is allowed on this server (LAMPYRIS_ALLOW_PRIVATE_URLS); 10/8 is not.
    for url in ("http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data/"):
        answer = live.post("/sensei/cutout", _job(files, "c.png", url))
        assert answer.status_code == 400, answer.text
        text = answer.text
        assert "lampyris.callback.url" in text and "LAMPYRIS_ALLOW_PRIVATE_URLS" in text, text
    answer = live.post("/v2/remove-background", {
        "image": {"source": {"url": files.url("/in.jpg")}},
        "lampyris": {"callback": {"url": "http://10.1.2.3/hook"}}})
    assert answer.status_code == 400 and "lampyris.callback.url" in answer.text, answer.text
    assert _hooks(files) == []


def test_sigkill_after_the_job_finished_delivers_after_restart(fresh_server_dir: Path,
                                                               files: ScriptedServer):
    files.script("/hook", Reply(503))  # the receiver is down while the job finishes
    server = LampyrisServer(fresh_server_dir, env={**FAST, "LAMPYRIS_WEBHOOK_BACKOFF": "1"})
    server.start()
    try:
        accepted = server.post("/sensei/cutout", _job(files, "d.png", files.url("/hook")))
        assert accepted.status_code == 202, accepted.text
        status_url = accepted.json()["_links"]["self"]["href"]
        job_id = status_url.rsplit("/", 1)[-1]
        assert server.wait(status_url)["status"] == "succeeded"
        wait_until(lambda: len(_hooks(files)) >= 1, timeout=30, what="a first attempt")
        server.kill()
        [pending] = _deliveries(server, job_id)
        assert pending.state == "pending" and pending.attempts >= 1, pending
        assert {a["status"] for a in pending.attempts_log} == {503}

        files.script("/hook", Reply(200))  # the receiver is back
        tried = len(_hooks(files))
        server.start()
        wait_until(lambda: _deliveries(server, job_id)[0].state == "delivered", timeout=60,
                   what="delivery after the restart")
    finally:
        server.stop()
    [delivered] = _deliveries(server, job_id)
    assert delivered.attempts == len(_hooks(files)) == tried + 1
    assert delivered.attempts_log[-1]["outcome"] == "delivered"
    last = _hooks(files)[-1]
    event = verify_webhook(_secret(server), last.body, last.headers["x-lampyris-signature"])
    assert event["id"] == pending.event_id and event["job"]["id"] == job_id


def test_the_delivery_log_on_postgresql(postgres_url: str, files: ScriptedServer):
    """The same log on a shared PostgreSQL store: rows with the job, armed, claimed once
    (SKIP LOCKED), retried and delivered."""
    from lampyris.jobs import JobRecord, SqlJobStore
    from lampyris.jobs.webhooks import WebhookDispatcher, WebhookSettings
    from support.http_server import fast_settings

    files.script("/pg-hook", Reply(500), Reply(200))
    store = SqlJobStore(postgres_url)
    try:
        job = store.add(JobRecord(owner="pg-client", kind="v2", op="cutout", task={}),
                        [files.url("/pg-hook")], "http://pg.test")
        [claimed] = store.claim("w", 1)
        store.finish(claimed.id, "w", "succeeded")
        log = WebhookLog(store.engine)
        dispatcher = WebhookDispatcher(
            log, WebhookSettings(backoff=0, timeout=2), fast_settings(),
            lambda j, base, event_id: ("job.succeeded", f'{{"id":"{event_id}"}}'),
            lambda owner: "pg-secret")
        assert dispatcher.step() == 1
        dispatcher.step()
        [delivery] = log.list(job_id=job.id)
        assert (delivery.state, delivery.attempts) == ("delivered", 2)
        hook = _hooks_at(files, "/pg-hook")[-1]
        assert verify_webhook("pg-secret", hook.body, hook.headers["x-lampyris-signature"]) == {
            "id": delivery.event_id}
    finally:
        store.engine.dispose()


def _hooks_at(files: ScriptedServer, path: str) -> list[Recorded]:
    return [r for r in files.requests if r.path == path]
