"""PhotoshopClient's psdService calls on a scripted server: the exact bodies of
``/pie/psdService/productCrop``, ``renditionCreate`` and ``depthBlur`` (Adobe's ``{href,
storage}`` input or a lampyris server's ``{uploadId}``; pre-signed or hosted outputs), the
status route they poll, and the renditions read back. Against a live lampyris server, pixels
checked: tests/integration/batch/test_remote_catalog_steps.py."""

from __future__ import annotations

import pytest

from lampyris.client import JobFailedError, PhotoshopClient
from lampyris.client.photoshop import pie_output, rendition_urls

from .scripted import BASE, ScriptedServer, json_body

JOB = "5e0c2d3e-0000-4000-8000-00000000beef"
ACCEPTED = (202, {"_links": {"self": {"href": f"{BASE}/pie/psdService/status/{JOB}"}}})
PUT = "https://out.test/crop.png?sig=1"


def test_product_crop_sends_adobes_body_or_an_upload_and_a_hosted_output(
        server: ScriptedServer, client: PhotoshopClient) -> None:
    server.add("POST", "/pie/psdService/productCrop", ACCEPTED)
    ref = client.product_crop("https://in.test/photo.jpg", [pie_output("image/png", PUT)],
                              unit="percent", width=10, height=4)
    client.product_crop(upload_id="up-1", outputs=[pie_output()],
                        extensions={"callback": {"url": "https://hook.test/"}})
    adobe, ours = (json_body(r) for r in server.calls("POST", "/pie/psdService/productCrop"))
    assert adobe == {"inputs": [{"href": "https://in.test/photo.jpg", "storage": "external"}],
                     "outputs": [{"type": "image/png", "href": PUT, "storage": "external"}],
                     "options": {"unit": "Percent", "width": 10, "height": 4}}
    assert ours == {"inputs": [{"uploadId": "up-1"}], "outputs": [{"type": "image/png"}],
                    "options": {"unit": "Pixels", "width": 0, "height": 0},
                    "lampyris": {"callback": {"url": "https://hook.test/"}}}
    assert (ref.job_id, ref.status_url) == (JOB, f"{BASE}/pie/psdService/status/{JOB}")


def test_renditions_and_depth_blur_bodies(server: ScriptedServer,
                                          client: PhotoshopClient) -> None:
    server.add("POST", "/pie/psdService/renditionCreate", ACCEPTED)
    server.add("POST", "/pie/psdService/depthBlur", ACCEPTED)
    client.create_renditions(
        "https://in.test/p.png", [pie_output("image/jpeg", PUT, storage="azure", quality=6,
                                             width=300, max_width=200),
                                  pie_output("image/png", compression="small", width=64)],
        input_storage="dropbox")
    client.depth_blur(upload_id="up-2", outputs=[pie_output()],
                      options={"blurStrength": 70, "focalRange": 20, "temp": -10})
    (renditions,) = server.calls("POST", "/pie/psdService/renditionCreate")
    assert json_body(renditions) == {
        "inputs": [{"href": "https://in.test/p.png", "storage": "dropbox"}],
        "outputs": [{"type": "image/jpeg", "href": PUT, "storage": "azure", "quality": 6,
                     "width": 300, "maxWidth": 200},
                    {"type": "image/png", "compression": "small", "width": 64}]}
    (blur,) = server.calls("POST", "/pie/psdService/depthBlur")
    assert json_body(blur) == {"inputs": [{"uploadId": "up-2"}],
                               "outputs": [{"type": "image/png"}],
                               "options": {"blurStrength": 70, "focalRange": 20, "temp": -10}}


def test_a_body_needs_one_input_and_an_output(client: PhotoshopClient) -> None:
    with pytest.raises(ValueError, match="input_href and upload_id"):
        client.product_crop(outputs=[pie_output()])
    with pytest.raises(ValueError, match="input_href and upload_id"):
        client.depth_blur("https://in.test/p.png", [pie_output()], upload_id="up")
    with pytest.raises(ValueError, match="at least one output"):
        client.create_renditions("https://in.test/p.png")


def test_the_job_is_polled_at_pie_status_and_its_renditions_read(
        server: ScriptedServer, client: PhotoshopClient) -> None:
    server.add("POST", "/pie/psdService/depthBlur", ACCEPTED)
    entry = {"input": "up-2", "_links": {"renditions": [
        {"href": "https://srv.test/files/results/a.png?sig=2", "storage": "external",
         "type": "image/png"}]}}
    server.add("GET", f"/pie/psdService/status/{JOB}",
               (200, {"jobId": JOB, "outputs": [{**entry, "status": "pending"}]}),
               (200, {"jobId": JOB, "outputs": [{**entry, "status": "succeeded"}]}))
    job = client.wait(client.depth_blur(upload_id="up-2", outputs=[pie_output()]))
    assert job.succeeded and rendition_urls(job) == [
        "https://srv.test/files/results/a.png?sig=2"]
    assert len(server.calls("GET", f"/pie/psdService/status/{JOB}")) == 2


def test_pie_status_once_and_a_failed_job(server: ScriptedServer,
                                          client: PhotoshopClient) -> None:
    failed = {"jobId": JOB, "outputs": [{
        "input": "https://in.test/p.png", "status": "failed", "_links": {"renditions": []},
        "errors": {"type": "InputValidationError", "code": "400",
                   "title": "the input is not a readable image",
                   "details": [{"name": "job", "reason": "the input is not a readable image"}]},
        "lampyris": {"error": {"code": "unsupported_image"}},
    }]}
    server.add("GET", f"/pie/psdService/status/{JOB}", (200, failed))
    job = client.pie_status(JOB)
    assert job.failed  # returned, not raised
    # lampyris' precise code, not the HTTP status psdService puts in its own ``code``
    assert job.error()[:2] == ("unsupported_image", "the input is not a readable image")
    server.add("POST", "/pie/psdService/productCrop", ACCEPTED)
    with pytest.raises(JobFailedError, match="not a readable image"):
        client.wait(client.product_crop("https://in.test/p.png", [pie_output()]))
