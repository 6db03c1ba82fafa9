"""``lampyris.callback`` on every submit route and the client's own webhook, on the in-process
server: the callback is read on every route (a private address is refused there with a 400
naming the field), and a finished job's signed event reaches both URLs with the links the
status route gives. The same over a real process, with retries and a SIGKILL:
tests/integration/server/test_webhooks.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lampyris.api.client_webhooks import CLIENT_WEBHOOKS, ClientWebhooks
from lampyris.client import verify_webhook
from lampyris.jobs.webhook_log import WebhookLog
from lampyris.storage import Blob
from support.http_server import Recorded, Reply, ScriptedServer, serve
from support.images import product_photo
from support.inprocess import URL, InProcessServer, inprocess_server

PRIVATE = "http://10.9.9.9/hook"  # loopback is allowed on the in-process server; 10/8 is not


@pytest.fixture(scope="module")
def files() -> Iterator[ScriptedServer]:
    state = ScriptedServer()
    state.objects["/photo.jpg"] = Blob(product_photo(), "image/jpeg")
    state.objects["/photo.png"] = Blob(product_photo(fmt="PNG"), "image/png")
    yield from serve(state, None)


@pytest.fixture(scope="module")
def routes_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Routes without the executor: submitted jobs stay pending, nothing is fetched."""
    with inprocess_server(tmp_path_factory.mktemp("routes"), jobs=False) as live:
        yield live


def _bodies(files: ScriptedServer) -> dict[str, dict[str, Any]]:
    """A valid body for every submit route."""
    jpg, png = files.url("/photo.jpg"), files.url("/photo.png")
    sensei = {"input": {"href": jpg, "storage": "external"},
              "output": {"href": files.url("/out/x.png"), "storage": "external"}}
    pie = {"inputs": [{"href": jpg, "storage": "external"}],
           "outputs": [{"href": files.url("/out/x.jpg"), "storage": "external",
                        "type": "image/jpeg"}]}
    lightroom = {"inputs": {"href": jpg, "storage": "external"},
                 "outputs": [{"href": files.url("/out/x.jpg"), "storage": "external",
                              "type": "image/jpeg"}]}
    return {
        "/sensei/cutout": sensei,
        "/sensei/mask": sensei,
        "/v2/remove-background": {"image": {"source": {"url": jpg}}},
        "/v2/edit": {"image": {"source": {"url": jpg}}, "edits": {"autoTone": True},
                     "outputs": [{"destination": {"url": files.url("/out/e.jpg")},
                                  "mediaType": "image/jpeg"}]},
        "/v1/refine-mask": {"image": {"source": {"url": jpg}}, "mask": {"source": {"url": png}}},
        "/v1/fill-masked-areas": {"image": {"source": {"url": jpg}},
                                  "masks": [{"source": {"url": png}}]},
        "/v1/auto-crop": {"image": {"source": {"url": jpg}}, "mode": "smartCrop"},
        "/pie/psdService/productCrop": pie,
        "/pie/psdService/renditionCreate": pie,
        "/pie/psdService/depthBlur": pie,
        "/lrService/autoTone": lightroom,
        "/lrService/autoStraighten": lightroom,
        "/lrService/edit": {**lightroom, "inputs": {"source": lightroom["inputs"]},
                            "options": {"Exposure": 0.5}},
        "/lrService/presets": {**lightroom, "inputs": {
            "source": lightroom["inputs"], "presets": [{"href": files.url("/p.xmp"),
                                                        "storage": "external"}]}},
        "/v3/images/expand-async": {"image": {"source": {"url": jpg}},
                                    "size": {"width": 800, "height": 600}},
        "/v3/images/generate-object-composite-async": {
            "prompt": "oak table", "image": {"source": {"url": png}}},
        "/v3/images/fill-async": {"prompt": "marble", "image": {
            "source": {"url": jpg}, "mask": {"url": png}}},
    }


ROUTES = list(_bodies(ScriptedServer()))


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_reads_the_callback_and_guards_it(routes_only: InProcessServer,
                                                      files: ScriptedServer, route: str):
    body = _bodies(files)[route]
    fine = routes_only.post(route, {**body, "lampyris": {"callback": {
        "url": files.url("/hook")}}})
    assert fine.status_code == 202, fine.text
    refused = routes_only.post(route, {**body, "lampyris": {"callback": {"url": PRIVATE}}})
    assert refused.status_code == 400, refused.text
    assert "lampyris.callback.url" in refused.text, refused.text
    assert "LAMPYRIS_ALLOW_PRIVATE_URLS" in refused.text, refused.text
    assert "\\n" not in refused.text


def test_a_callback_is_logged_with_its_job(routes_only: InProcessServer, files: ScriptedServer):
    accepted = routes_only.post("/v2/remove-background", {
        "image": {"source": {"url": files.url("/photo.jpg")}},
        "lampyris": {"callback": {"url": files.url("/hook")}}})
    job_id = accepted.json()["jobId"]
    [delivery] = WebhookLog(routes_only.svc.store.engine).list(job_id=job_id)
    assert (delivery.state, delivery.url, delivery.base_url) == ("waiting", files.url("/hook"),
                                                                 URL)


def test_a_client_without_a_signing_secret_cannot_ask_for_a_callback(
        routes_only: InProcessServer, files: ScriptedServer):
    old = routes_only.add_client("before-webhooks")
    with routes_only.svc.store.engine.begin() as conn:  # as a client made before webhooks
        conn.execute(CLIENT_WEBHOOKS.delete().where(CLIENT_WEBHOOKS.c.client_id == old.client_id))
    body = {"image": {"source": {"url": files.url("/photo.jpg")}}}
    assert routes_only.post("/v2/remove-background", body, old).status_code == 202
    refused = routes_only.post("/v2/remove-background", {
        **body, "lampyris": {"callback": {"url": files.url("/hook")}}}, old)
    assert refused.status_code == 400 and "--rotate" in refused.text, refused.text


def _hooks(files: ScriptedServer, path: str) -> list[Recorded]:
    return [r for r in files.requests if r.path == path]


def test_the_event_reaches_the_callback_and_the_clients_webhook(tmp_path: Path,
                                                                files: ScriptedServer):
    files.script("/cb", Reply(204))
    files.script("/client-hook", Reply(200))
    with inprocess_server(tmp_path) as live:
        hooks = ClientWebhooks(live.svc.store.engine)
        hook = hooks.set(live.client.client_id, url=files.url("/client-hook"))
        accepted = live.post("/v2/remove-background", {
            "image": {"source": {"url": files.url("/photo.jpg")}},
            "lampyris": {"callback": {"url": files.url("/cb")}}})
        assert accepted.status_code == 202, accepted.text
        status = live.wait(accepted.json()["statusUrl"])
        assert status["status"] == "succeeded", status
        deadline = time.monotonic() + 20
        while not (_hooks(files, "/cb") and _hooks(files, "/client-hook")):
            assert time.monotonic() < deadline, "events not delivered"
            time.sleep(0.05)
        events = [verify_webhook(hook.secret, r.body, r.headers["x-lampyris-signature"])
                  for r in (_hooks(files, "/cb")[0], _hooks(files, "/client-hook")[0])]
        assert events[0] == events[1]
        job = events[0]["job"]
        assert events[0]["type"] == "job.succeeded"
        assert job["statusUrl"] == accepted.json()["statusUrl"]
        assert (job["id"], job["op"], job["state"]) == (accepted.json()["jobId"], "cutout",
                                                        "succeeded")
        (output,) = job["outputs"]
        assert output["mediaType"] == status["result"]["outputs"][0]["mediaType"]
        data = live.download(output["url"])  # the event's own signed link to the result
        assert len(data) == output["bytes"] and data[:2] in (b"\x89P", b"\xff\xd8")
