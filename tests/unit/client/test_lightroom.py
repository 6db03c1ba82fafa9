"""LightroomClient: the bodies it sends, and Lightroom's per-output status read as one job."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lampyris.client import JobFailedError, LightroomClient

from .scripted import BASE, IMS, FakeTime, ScriptedServer, json_body

JOB = "9a1c-lr"
LINKED = (202, {"_links": {"self": {"href": f"{BASE}/lrService/status/{JOB}"}}})
OUT = "https://dst.test/out.jpg"


def _status(state: str, **extra: object) -> tuple[int, dict[str, object]]:
    entry = {"input": "https://src.test/in.jpg", "status": state,
             "_links": {"self": {"href": OUT, "storage": "external"}}, **extra}
    return 202, {"jobId": JOB, "outputs": [entry], "_links": {"self": {"href": "x"}}}


@pytest.fixture
def lr(server: ScriptedServer, fake_time: FakeTime) -> Iterator[LightroomClient]:
    client = LightroomClient("cid", "secret", base_url=BASE, ims_url=IMS,
                             transport=server.transport, sleep=fake_time.sleep,
                             clock=fake_time.clock)
    yield client
    client.close()


def test_submits_send_lightrooms_bodies(server: ScriptedServer, lr: LightroomClient) -> None:
    for route in ("autoTone", "autoStraighten", "edit", "presets", "xmp"):
        server.add("POST", f"/lrService/{route}", LINKED)
    lr.auto_tone("https://src.test/in.jpg", OUT, output_storage="azure", quality=10)
    lr.auto_straighten("https://src.test/in.jpg", OUT, upright_mode="level")
    lr.edit("https://src.test/in.jpg", OUT, {"Exposure": 1}, output_type="image/png")
    lr.presets("https://src.test/in.jpg", ["https://src.test/p.xmp"], OUT)
    ref = lr.xmp("https://src.test/in.jpg", OUT, "<x/>", orientation=6)
    src = {"href": "https://src.test/in.jpg", "storage": "external"}
    jpeg = [{"href": OUT, "storage": "external", "type": "image/jpeg"}]
    bodies = [json_body(r) for r in server.service_calls()]
    assert bodies == [
        {"inputs": src, "outputs": [{**jpeg[0], "storage": "azure", "quality": 10}]},
        {"inputs": src, "outputs": jpeg, "options": {"uprightMode": "level"}},
        {"inputs": {"source": src}, "options": {"Exposure": 1},
         "outputs": [{**jpeg[0], "type": "image/png"}]},
        {"inputs": {"source": src, "presets": [{"href": "https://src.test/p.xmp",
                                               "storage": "external"}]}, "outputs": jpeg},
        {"inputs": {"source": src}, "options": {"xmp": "<x/>", "orientation": 6},
         "outputs": jpeg},
    ]
    assert (ref.job_id, ref.status_url) == (JOB, f"{BASE}/lrService/status/{JOB}")


def test_wait_reads_the_outputs_state(server: ScriptedServer, lr: LightroomClient) -> None:
    server.add("POST", "/lrService/autoTone", LINKED)
    server.add("GET", f"/lrService/status/{JOB}", _status("pending"), _status("running"),
               _status("succeeded", lampyris={"settings": {"exposure": 1.2}}))
    job = lr.wait(lr.auto_tone("https://src.test/in.jpg", OUT))
    assert (job.status, job.outputs) == ("succeeded", (OUT,))
    assert len(server.calls("GET", f"/lrService/status/{JOB}")) == 3


def test_a_failed_output_fails_the_job(server: ScriptedServer, lr: LightroomClient) -> None:
    server.add("GET", f"/lrService/status/{JOB}", _status(
        "failed", details="preset: not well-formed XML", errorDetails="preset: not well-formed",
        lampyris={"error": {"code": "invalid_input", "status": 400}}))
    assert lr.status(JOB).failed
    server.add("POST", "/lrService/presets", LINKED)
    with pytest.raises(JobFailedError) as caught:
        lr.wait(lr.presets("https://src.test/in.jpg", ["https://src.test/p.xmp"], OUT))
    assert caught.value.code == "invalid_input"
    assert "not well-formed" in str(caught.value)
