"""The Firefly client (uploads, fill, expand, object composite, generate, generate-similar,
cancel) and result downloads, against the scripted server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lampyris.client import (
    FireflyClient,
    NotFoundError,
    PhotoshopClient,
    RateLimitedError,
    ServerError,
    ServiceConnectionError,
    ServiceError,
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


def _accepts(server: ScriptedServer, path: str, job_id: str = "urn:ff:jobs:2") -> None:
    server.add("POST", path, (202, {"jobId": job_id, "statusUrl": f"{BASE}/v3/status/{job_id}",
                                    "cancelUrl": f"{BASE}/v3/cancel/{job_id}"}))


def test_expand_and_object_composite_send_adobes_async_bodies(
    server: ScriptedServer, firefly: FireflyClient
) -> None:
    _accepts(server, "/v3/images/expand-async")
    _accepts(server, "/v3/images/generate-object-composite-async")
    placement = {"inset": {"left": 40}, "alignment": {"vertical": "top"}}
    ref = firefly.expand(source(upload_id="img"), placement=placement, prompt="sea",
                         size=(2048, 1024), seeds=[5])
    assert ref.status_url == f"{BASE}/v3/status/urn:ff:jobs:2"
    firefly.object_composite(source(upload_id="bottle"), "on a beach",
                             mask=source(upload_id="bottle-mask"), content_class="photo",
                             size=(1024, 1024), extensions={"format": "png"})
    (expand,) = server.calls("POST", "/v3/images/expand-async")
    assert json_body(expand) == {
        "image": {"source": {"uploadId": "img"}}, "placement": placement, "prompt": "sea",
        "seeds": [5], "size": {"width": 2048, "height": 1024}}
    (composite,) = server.calls("POST", "/v3/images/generate-object-composite-async")
    assert json_body(composite) == {
        "image": {"source": {"uploadId": "bottle"}}, "prompt": "on a beach",
        "mask": {"source": {"uploadId": "bottle-mask"}}, "contentClass": "photo",
        "size": {"width": 1024, "height": 1024}, "lampyris": {"format": "png"}}
    with pytest.raises(ValueError, match="placement or mask"):
        firefly.expand(source(upload_id="img"), mask=source(upload_id="m"),
                       placement=placement)


def test_generate_and_generate_similar_send_only_what_was_given(
    server: ScriptedServer, firefly: FireflyClient
) -> None:
    _accepts(server, "/v3/images/generate-async")
    _accepts(server, "/v3/images/generate-similar-async")
    firefly.generate("a red bicycle", negative_prompt="people", content_class="art",
                     num_variations=2, size=(1024, 1024))
    firefly.generate_similar(source(url="https://a.test/ref.jpg"), seeds=[1, 2])
    (generate,) = server.calls("POST", "/v3/images/generate-async")
    assert json_body(generate) == {
        "prompt": "a red bicycle", "negativePrompt": "people", "contentClass": "art",
        "numVariations": 2, "size": {"width": 1024, "height": 1024}}
    (similar,) = server.calls("POST", "/v3/images/generate-similar-async")
    assert json_body(similar) == {"image": {"source": {"url": "https://a.test/ref.jpg"}},
                                  "seeds": [1, 2]}


def test_generate_on_a_server_without_a_model_raises_its_501(
    server: ScriptedServer, firefly: FireflyClient, fake_time: FakeTime
) -> None:
    message = "image generation needs a text-to-image model: set LAMPYRIS_DIFFUSION_..."
    server.add("POST", "/v3/images/generate-async",
               (501, {"error_code": "not_implemented", "message": message}))
    with pytest.raises(ServerError) as refused:
        firefly.generate("a cat")
    assert refused.value.status == 501 and refused.value.code == "not_implemented"
    assert refused.value.message == message
    assert fake_time.sleeps == [], "a 501 is not retried"


def test_cancel_uses_the_cancel_url_or_the_route_and_reports_a_finished_job(
    server: ScriptedServer, firefly: FireflyClient
) -> None:
    _accepts(server, "/v3/images/generate-async", "urn:ff:jobs:9")
    server.add("PUT", "/v3/cancel/urn:ff:jobs:9",
               (200, {"jobId": "urn:ff:jobs:9", "status": "cancel_pending"}),
               (409, {"error_code": "job_completed", "message": "The job was already completed."}))
    ref = firefly.generate("a cat", seeds=[1])
    assert firefly.cancel(ref) == {"jobId": "urn:ff:jobs:9", "status": "cancel_pending"}
    with pytest.raises(ServiceError) as finished:
        firefly.cancel("urn:ff:jobs:9")
    assert finished.value.status == 409 and finished.value.code == "job_completed"
    assert len(server.calls("PUT", "/v3/cancel/urn:ff:jobs:9")) == 2
    server.add("PUT", "/v3/cancel/plain", lambda request: httpx.Response(200))
    assert firefly.cancel("plain") == {}, "Adobe documents no body"
