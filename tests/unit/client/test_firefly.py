"""The Firefly client (uploads, fill) and result downloads, against the scripted server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lampyris.client import (
    FireflyClient,
    NotFoundError,
    PhotoshopClient,
    RateLimitedError,
    ServiceConnectionError,
    source,
)

from .scripted import BASE, IMS, FakeTime, ScriptedServer, json_body, raises


@pytest.fixture
def firefly(server: ScriptedServer, fake_time: FakeTime) -> Iterator[FireflyClient]:
    with FireflyClient("cid", "secret", base_url=BASE, ims_url=IMS, transport=server.transport,
                       sleep=fake_time.sleep, clock=fake_time.clock) as client:
        yield client


def test_an_upload_sends_the_bytes_with_their_type_and_refreshes_a_stale_token(
    server: ScriptedServer, firefly: FireflyClient
) -> None:
    server.add("POST", "/v2/storage/image", (401, {"error_code": "401013"}),
               (200, {"images": [{"id": "up-1"}]}))
    assert firefly.upload(b"\x89PNG data", "image/png") == "up-1"
    first, second = server.calls("POST", "/v2/storage/image")
    assert second.content == b"\x89PNG data"
    assert second.headers["content-type"] == "image/png"
    assert second.headers["x-api-key"] == "cid"
    assert first.headers["authorization"] != second.headers["authorization"]
    with pytest.raises(ValueError, match="uploads are"):
        firefly.upload(b"GIF89a", "image/gif")


def test_an_upload_retries_a_server_error(
    server: ScriptedServer, firefly: FireflyClient, fake_time: FakeTime
) -> None:
    server.add("POST", "/v2/storage/image", (503, {"error_code": "runtime_error"}),
               (200, {"images": [{"id": "up-2"}]}))
    assert firefly.upload(b"\xff\xd8\xff", "image/jpeg") == "up-2"
    assert len(fake_time.sleeps) == 1


def test_fill_sends_adobes_async_body_with_the_extension(
    server: ScriptedServer, firefly: FireflyClient
) -> None:
    server.add("POST", "/v3/images/fill-async",
               (202, {"jobId": "urn:ff:jobs:1", "statusUrl": f"{BASE}/v3/status/urn:ff:jobs:1",
                      "cancelUrl": f"{BASE}/v3/cancel/urn:ff:jobs:1"}))
    server.add("GET", "/v3/status/urn:ff:jobs:1", (200, {"jobId": "urn:ff:jobs:1",
                                                         "status": "running"}),
               (200, {"jobId": "urn:ff:jobs:1", "status": "succeeded", "result": {
                   "outputs": [{"seed": 3, "image": {"url": "https://files.test/o.png"}}]}}))
    ref = firefly.fill(source(upload_id="img"), source(url="https://a.test/m.png"),
                       prompt="marble", invert_mask=True, seeds=[3], size=(800, 600),
                       extensions={"engine": "studio"})
    (sent,) = server.calls("POST", "/v3/images/fill-async")
    assert json_body(sent) == {
        "image": {"source": {"uploadId": "img"}},
        "mask": {"source": {"url": "https://a.test/m.png"}, "invert": True},
        "prompt": "marble", "seeds": [3], "size": {"width": 800, "height": 600},
        "lampyris": {"engine": "studio"}}
    assert firefly.wait(ref).outputs == ("https://files.test/o.png",)
    with pytest.raises(ValueError, match="exactly one"):
        source()


def test_a_download_sends_no_token_and_follows_the_retry_policy(
    server: ScriptedServer, firefly: FireflyClient, fake_time: FakeTime
) -> None:
    server.add("GET", "/files/o.png", raises(httpx.ConnectError("refused")),
               (429, {"error_code": "rate_limited"}, {"retry-after": "2"}),
               lambda request: httpx.Response(200, content=b"png bytes"))
    assert firefly.download(f"{BASE}/files/o.png?signature=s") == b"png bytes"
    assert fake_time.sleeps[1] == 2.0
    assert all("authorization" not in r.headers for r in server.calls("GET", "/files/o.png"))

    server.add("GET", "/files/gone.png", (404, {"error_code": "not_found"}))
    with pytest.raises(NotFoundError):
        firefly.download(f"{BASE}/files/gone.png")
    server.add("GET", "/files/busy.png", (429, {"error_code": "rate_limited"},
                                          {"retry-after": "9999"}))
    with pytest.raises(RateLimitedError):
        firefly.download(f"{BASE}/files/busy.png")
    server.add("GET", "/files/down.png", raises(httpx.ConnectError("refused")))
    with pytest.raises(ServiceConnectionError) as failed:
        firefly.download(f"{BASE}/files/down.png?signature=secret")
    assert "secret" not in str(failed.value)


def test_v2_edit_and_an_uploaded_remove_background_input(
    server: ScriptedServer, client: PhotoshopClient
) -> None:
    accepted = (202, {"jobId": "j", "statusUrl": f"{BASE}/v2/status/j"})
    server.add("POST", "/v2/edit", accepted)
    server.add("POST", "/v2/remove-background", accepted)
    client.edit(upload_id="up-1", edits={"autoTone": True}, validity_period=600,
                extensions={"autoTone": {"strength": 0.5}})
    client.remove_background(upload_id="up-2", media_type="image/png")
    (edit,) = server.calls("POST", "/v2/edit")
    assert json_body(edit) == {
        "image": {"source": {"uploadId": "up-1"}}, "edits": {"autoTone": True},
        "outputs": [{"destination": {"validityPeriod": 600}, "mediaType": "image/png"}],
        "lampyris": {"autoTone": {"strength": 0.5}}}
    (cutout,) = server.calls("POST", "/v2/remove-background")
    assert json_body(cutout)["image"] == {"source": {"uploadId": "up-2"}}
    with pytest.raises(ValueError, match="exactly one"):
        client.remove_background("https://a.test/in.jpg", upload_id="up-3")
