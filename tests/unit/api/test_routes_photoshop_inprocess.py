"""Photoshop's remove-background routes (``/sensei/*`` v1, ``/v2/remove-background``), their
status routes, ``/files`` signed URLs and the error shapes, on the in-process server: each job
really runs (fetch, cutout, delivery) on the executor's thread, and the pixels are checked.

The same behaviour over a real process: tests/integration/server/test_seed_workflow.py
(pre-signed S3 and Azure SAS URLs, the Python client), test_bad_input.py (hostile URLs with
the default SSRF guard, a pixel bomb, a forged S3 signature), test_openapi_shapes.py."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image
from psd_tools import PSDImage

from lampyris.imaging.decode import decode
from support.http_server import Reply, ScriptedServer
from support.images import assert_sane_cutout
from support.inprocess import URL, InProcessServer
from support.procs import free_port
from support.wire_cases import check_catalog_canvas


def _sensei(source: ScriptedServer, name: str, input_path: str = "/photo.jpg",
            **extra: Any) -> dict[str, Any]:
    return {"input": {"href": source.url(input_path), "storage": "external"},
            "output": {"href": source.url(f"/out/{name}"), "storage": "external"}, **extra}


def _assert_failed(status: dict[str, Any], http: int, code: str, field: str,
                   words: str) -> str:
    """A failed v1 job: ``errors`` in the Sensei shape, naming the field at fault."""
    assert status["status"] == "failed", status
    errors = status["errors"]
    assert errors["type"] == ("InputValidationError" if http < 500 else "JobError")
    assert (errors["code"], errors["error_code"]) == (str(http), code), errors
    assert words in errors["title"], errors
    assert errors["details"] == [{"name": field, "reason": errors["title"]}]
    return str(errors["title"])


# --- jobs that succeed ----------------------------------------------------------------------


def test_sensei_cutout_to_a_put_url(inproc: InProcessServer, source: ScriptedServer):
    body = _sensei(source, "cutout.png")
    accepted = inproc.post("/sensei/cutout", body)
    assert accepted.status_code == 202, accepted.text
    href = accepted.json()["_links"]["self"]["href"]
    assert accepted.json() == {"_links": {"self": {"href": href}}}
    assert href.startswith(f"{URL}/sensei/status/")
    status = inproc.wait(href)
    assert status["status"] == "succeeded", status
    assert status["jobID"] == status["jobId"] == href.rsplit("/", 1)[-1]
    assert status["input"] == body["input"]["href"]
    assert status["output"] == {**body["output"], "overwrite": True}
    assert status["_links"] == {"self": {"href": href}}
    assert status["metadata"]["model"] == "u2netp"
    assert_sane_cutout(source.objects["/out/cutout.png"].data)
    assert source.objects["/out/cutout.png"].content_type == "image/png"


def test_sensei_binary_mask(inproc: InProcessServer, source: ScriptedServer):
    body = _sensei(source, "mask.png")
    body["output"]["mask"] = {"format": "binary"}
    status = inproc.run("/sensei/mask", body)
    assert status["status"] == "succeeded", status
    image = Image.open(io.BytesIO(source.objects["/out/mask.png"].data))
    assert image.mode == "L" and image.size == (640, 480)
    values = np.asarray(image)
    assert set(np.unique(values)) <= {0, 255}, "a binary mask has only 0 and 255"
    assert values[240, 320] == 255 and values[0, 0] == 0


def test_sensei_lampyris_extensions_on_an_rgb_canvas(inproc: InProcessServer,
                                                      source: ScriptedServer):
    body = _sensei(source, "catalog.png", lampyris={"canvas": "800x800", "padding": "10%",
                                                    "shadow": True})
    body["output"]["color"] = {"space": "rgb"}
    status = inproc.run("/sensei/cutout", body)
    check_catalog_canvas(status, source.objects["/out/catalog.png"].data)


def test_v2_trim_background_and_the_input_format_kept(inproc: InProcessServer,
                                                       source: ScriptedServer):
    accepted = inproc.post("/v2/remove-background", {
        "image": {"source": {"url": source.url("/photo.jpg")}}, "trim": True,
        "backgroundColor": {"red": 20, "green": 200, "blue": 20, "alpha": 1},
        "colorDecontamination": 0.5})
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    assert job == {"jobId": job["jobId"], "statusUrl": f"{URL}/v2/status/{job['jobId']}"}
    status = inproc.wait(job["statusUrl"])
    assert status["status"] == "succeeded", status
    (output,) = status["result"]["outputs"]
    assert output["url"] == output["destination"]["url"]
    assert output["url"].startswith(f"{URL}/files/results/{job['jobId']}/output.jpg?expires=")
    assert output["mediaType"] == "image/jpeg", "the output keeps the input's format"
    assert set(output["lampyris"]) >= {"subject_box", "decontaminate"}
    answer = inproc.http.get(output["url"])  # the signature is the credential: no token
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(answer.content))
    w, h = image.size
    assert (output["width"], output["height"]) == (w, h)
    assert abs(w - 321) <= 6 and abs(h - 321) <= 6, "trimmed to the disc"
    pixels = np.asarray(image).astype(int)
    assert np.abs(pixels[2, 2] - (20, 200, 20)).max() < 12, "corners show the background"
    assert np.abs(pixels[h // 2, w // 2] - (200, 30, 30)).max() < 12, "the subject is kept"


def test_v2_mask_as_webp_from_an_upload(inproc: InProcessServer, photo: bytes):
    upload = inproc.upload(photo, "image/jpeg")
    status = inproc.run("/v2/remove-background", {
        "image": {"source": {"uploadId": upload}}, "mode": "mask",
        "output": {"mediaType": "image/webp"}})
    assert status["status"] == "succeeded", status
    (output,) = status["result"]["outputs"]
    assert output["mediaType"] == "image/webp"
    data = inproc.download(output["url"])
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    mask = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    assert mask[240, 320] > 200 and mask[5, 5] < 50


def _psd_layers(data: bytes) -> tuple[PSDImage, dict[str, np.ndarray]]:
    """The document read back with psd-tools, and each layer's RGB as uint8 by name."""
    doc = PSDImage.open(io.BytesIO(data))
    return doc, {layer.name: np.rint(layer.numpy()[..., :3] * 255).astype(np.uint8)
                 for layer in doc}


def test_v2_psd_mode_is_the_photo_with_the_mask_as_its_layer_mask(
    inproc: InProcessServer, source: ScriptedServer, photo: bytes
):
    """Read back with psd-tools: one layer, its pixels the photo's, its layer mask the very
    mask ``mode: mask`` answers; the merged image (what Pillow shows) the subject on white."""
    image = {"source": {"url": source.url("/photo.jpg")}}
    status = inproc.run("/v2/remove-background", {"image": image, "mode": "psd"})
    assert status["status"] == "succeeded", status
    (output,) = status["result"]["outputs"]
    assert output["mediaType"] == "image/vnd.adobe.photoshop"
    assert output["url"].split("?")[0].endswith("/output.psd")
    answer = inproc.http.get(output["url"])
    assert answer.headers["content-type"] == "image/vnd.adobe.photoshop"
    assert answer.content[:4] == b"8BPS"
    doc, layers = _psd_layers(answer.content)
    assert doc.size == (640, 480) and list(layers) == ["Subject"]
    pixels = decode(photo).pixels
    assert np.array_equal(layers["Subject"], pixels), "the layer keeps the photo's pixels"
    masked = inproc.run("/v2/remove-background", {"image": image, "mode": "mask",
                                                   "output": {"mediaType": "image/png"}})
    mask = np.asarray(Image.open(io.BytesIO(
        inproc.download(masked["result"]["outputs"][0]["url"]))))
    layer_mask = doc[0].mask
    assert layer_mask is not None and layer_mask.bbox == (0, 0, 640, 480)
    assert np.array_equal(np.asarray(layer_mask.topil()), mask), "the mask is the cutout's"
    merged = np.asarray(Image.open(io.BytesIO(answer.content)).convert("RGB")).astype(float)
    weight = mask[..., None] / 255
    expected = pixels * weight + 255 * (1 - weight)
    assert np.abs(merged - expected).max() <= 1, "merged: the subject over white"


def test_v2_psd_trimmed_over_a_background_layer(inproc: InProcessServer,
                                                 source: ScriptedServer, photo: bytes):
    status = inproc.run("/v2/remove-background", {
        "image": {"source": {"url": source.url("/photo.jpg")}}, "mode": "psd", "trim": True,
        "output": {"mediaType": "image/vnd.adobe.photoshop"},
        "backgroundColor": {"red": 20, "green": 200, "blue": 20, "alpha": 0.5}})
    assert status["status"] == "succeeded", status
    (output,) = status["result"]["outputs"]
    x0, y0, x1, y1 = output["lampyris"]["subject_box"]
    assert (output["width"], output["height"]) == (x1 - x0, y1 - y0)
    assert abs((x1 - x0) - 321) <= 6, "trimmed to the disc"
    doc, layers = _psd_layers(inproc.download(output["url"]))
    assert doc.size == (x1 - x0, y1 - y0) and list(layers) == ["Background", "Subject"]
    assert np.array_equal(layers["Subject"], decode(photo).pixels[y0:y1, x0:x1])
    assert (layers["Background"] == (20, 200, 20)).all() and doc[0].opacity == 128
    assert doc[1].mask is not None and doc[0].mask is None


def test_v2_cutout_as_a_one_layer_psd(inproc: InProcessServer, source: ScriptedServer):
    status = inproc.run("/v2/remove-background", {
        "image": {"source": {"url": source.url("/photo.jpg")}},
        "output": {"mediaType": "image/vnd.adobe.photoshop"}})
    assert status["status"] == "succeeded", status
    doc = PSDImage.open(io.BytesIO(inproc.download(status["result"]["outputs"][0]["url"])))
    (layer,) = doc
    rgba = np.rint(layer.numpy() * 255).astype(np.uint8)
    assert rgba.shape == (480, 640, 4)
    assert rgba[240, 320, 3] == 255 and rgba[5, 5, 3] == 0, "the cutout's transparency"


# --- /files -------------------------------------------------------------------------------


def test_signed_file_urls_expire_and_cannot_be_forged(inproc: InProcessServer,
                                                       source: ScriptedServer):
    status = inproc.run("/v2/remove-background", {
        "image": {"source": {"url": source.url("/photo.jpg")}},
        "output": {"mediaType": "image/png"}})
    url = status["result"]["outputs"][0]["url"]
    key = f"results/{status['jobId']}/output.png"
    assert inproc.http.get(url).status_code == 200
    refused = {"error_code": "access_error", "message": "The link is invalid or has expired."}
    forged = url[:-6] + ("000000" if not url.endswith("000000") else "111111")
    expired = inproc.svc.objects.url(key, -10, URL)
    for bad in (forged, url.replace("output.png", "other.png"), expired,
                url.replace("expires=", "expires=1")):
        answer = inproc.http.get(bad)
        assert (answer.status_code, answer.json()) == (403, refused), bad
    missing = inproc.http.get(url.split("?")[0])
    assert missing.status_code == 400, "expires and signature are required"
    inproc.svc.objects.delete(key)
    gone = inproc.http.get(url)
    assert (gone.status_code, gone.json()["error_code"]) == (404, "not_found")


# --- status routes --------------------------------------------------------------------------


def test_unknown_job_ids_get_each_familys_404(inproc: InProcessServer):
    v1 = inproc.get("/sensei/status/unknown")
    assert v1.status_code == 404
    assert v1.json() == {"type": "ResourceNotFound", "code": "404",
                         "title": "The job id is unknown.", "error_code": "unknown_job_id",
                         "details": []}
    v2 = inproc.get("/v2/status/unknown")
    assert (v2.status_code, v2.json()) == (404, {"error_code": "unknown_job_id",
                                                 "message": "The job id is unknown."})
    slashes = inproc.get(f"{URL}//v2/status/unknown")  # Lightroom's SDK sends //
    assert (slashes.status_code, slashes.json()) == (404, v2.json())


def test_another_clients_job_is_not_found(inproc: InProcessServer, source: ScriptedServer):
    v1 = inproc.submit("/sensei/cutout", _sensei(source, "mine.png"))
    v2 = inproc.submit("/v2/remove-background",
                       {"image": {"source": {"url": source.url("/photo.jpg")}}})
    other = inproc.add_client("other")
    seen = inproc.get(v1, other)
    assert (seen.status_code, seen.json()["error_code"]) == (404, "unknown_job_id")
    seen = inproc.get(v2, other)
    assert (seen.status_code, seen.json()["error_code"]) == (404, "unknown_job_id")
    # A job is found only under its own family's status route.
    crossed = inproc.get(v2.replace("/v2/status/", "/sensei/status/"))
    assert crossed.status_code == 404
    assert inproc.wait(v1)["status"] == "succeeded"  # the owner still sees them
    assert inproc.wait(v2)["status"] == "succeeded"


# --- refused requests ---------------------------------------------------------------------


@pytest.mark.parametrize(("content", "body"), [
    ("application/json", b'{"input": {"href": '),
    ("application/json", b"[1, 2, 3]"),
    ("text/plain", b"cutout please"),
])
def test_malformed_json_gets_the_sensei_error_shape(inproc: InProcessServer, content: str,
                                                    body: bytes):
    answer = inproc.http.post("/sensei/cutout", content=body,
                              headers={**inproc.headers(), "Content-Type": content})
    assert answer.status_code == 400
    error = answer.json()
    assert error["type"] == "InputValidationError" and error["code"] == "400"
    assert error["title"] and isinstance(error["details"], list)


def test_malformed_json_gets_the_v2_error_shape(inproc: InProcessServer):
    answer = inproc.http.post("/v2/remove-background", content=b"{nope",
                              headers={**inproc.headers(), "Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "invalid_json" and "JSON" in answer.json()["message"]


def test_missing_fields_are_named(inproc: InProcessServer):
    answer = inproc.post("/sensei/cutout", {"input": {"storage": "external"}})
    assert answer.status_code == 400
    assert {d["name"] for d in answer.json()["details"]} == {"input.href", "output"}
    v2 = inproc.post("/v2/remove-background", {"mode": "cutout"})
    assert v2.status_code == 400 and v2.json()["error_code"] == "validation_error"
    assert "image" in v2.json()["message"]


def test_unknown_storage_lists_the_allowed_values(inproc: InProcessServer):
    answer = inproc.post("/sensei/cutout", {
        "input": {"href": "https://example.com/a.jpg", "storage": "s3"},
        "output": {"href": "https://example.com/a.png", "storage": "adobe"},
    })
    assert answer.status_code == 400
    details = answer.json()["details"]
    assert {d["name"] for d in details} == {"input.storage", "output.storage"}
    assert all(d["allowedValues"] == "external, azure, dropbox" for d in details)


def test_out_of_range_options_are_refused_before_a_job_exists(inproc: InProcessServer):
    before = inproc.svc.store.counts()
    image = {"source": {"url": "https://example.com/a.jpg"}}
    answer = inproc.post("/v2/remove-background", {"image": image, "colorDecontamination": 3})
    assert answer.status_code == 400 and "colorDecontamination" in answer.json()["message"]
    psd = inproc.post("/v2/remove-background", {"image": image, "mode": "psd",
                                                "output": {"mediaType": "image/png"}})
    assert psd.status_code == 400 and "mode psd writes" in psd.json()["message"]
    padded = inproc.post("/v2/remove-background", {"image": image, "mode": "psd",
                                                   "lampyris": {"padding": "5%"}})
    assert padded.status_code == 400 and "lampyris.padding" in padded.json()["message"]
    model = inproc.post("/v2/remove-background", {"image": image, "lampyris": {"model": "nope"}})
    assert model.status_code == 400 and "unknown model 'nope'" in model.json()["message"]
    canvas = inproc.post("/sensei/cutout", {
        "input": {"href": "https://example.com/a.jpg", "storage": "external"},
        "output": {"href": "https://example.com/a.png", "storage": "external"},
        "lampyris": {"canvas": "big"},
    })
    assert canvas.status_code == 400 and "canvas" in canvas.json()["title"]
    assert inproc.svc.store.counts() == before, "no job row for a refused request"


# --- jobs that fail -----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "http", "code", "words"), [
    ("notes.jpg", 415, "unsupported_media_type", "not a supported image"),
    ("truncated.jpg", 400, "invalid_input", "truncated"),
])
def test_a_corrupt_input_image_fails_the_job(
    inproc: InProcessServer, source: ScriptedServer, photo: bytes, name: str, http: int,
    code: str, words: str,
):
    data = (b"these are shipping notes, not an image\n" * 50 if name == "notes.jpg"
            else photo[: len(photo) // 2])
    source.script(f"/{name}", Reply(body=data, headers={"Content-Type": "image/jpeg"}))
    status = inproc.run("/sensei/cutout", _sensei(source, f"{name}.png", f"/{name}"))
    title = _assert_failed(status, http, code, "input", words)
    assert f"/out/{name}.png" not in source.objects, "nothing delivered"
    v2 = inproc.run("/v2/remove-background", {"image": {"source": {"url": source.url(f"/{name}")}}})
    assert v2["status"] == "failed" and "result" not in v2
    assert (v2["error_code"], v2["message"]) == (code, title)
    assert v2["errorDetails"] == [{"errorCode": "400401", "message": title}]  # Adobe's code
    assert v2["lampyris"]["error"]["code"] == code


def test_an_unreachable_input_fails_the_job(inproc: InProcessServer, source: ScriptedServer):
    dead = f"http://127.0.0.1:{free_port()}/nothing.jpg"
    body = _sensei(source, "never.png")
    body["input"]["href"] = dead
    status = inproc.run("/sensei/cutout", body)
    _assert_failed(status, 410, "invalid_asset_link", "input.href", "127.0.0.1")
    assert "/out/never.png" not in source.objects


def test_an_input_answering_404_fails_the_job(inproc: InProcessServer, source: ScriptedServer):
    status = inproc.run("/v2/remove-background",
                        {"image": {"source": {"url": source.url("/missing.jpg")}}})
    assert status["status"] == "failed" and status["error_code"] == "invalid_asset_link"
    assert "404" in status["message"]


def test_an_output_put_refused_fails_the_job(inproc: InProcessServer, source: ScriptedServer):
    source.script("/out/refused.png", Reply(403, b"<Error><Code>SignatureDoesNotMatch</Code>"))
    body = _sensei(source, "refused.png")
    body["output"]["href"] += "?X-Amz-Signature=SECRET"
    status = inproc.run("/sensei/cutout", body)
    title = _assert_failed(status, 409, "upload_failed", "output.href", "403")
    assert "SECRET" not in title, "credentials must not leak"


@pytest.mark.parametrize("href", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://10.0.0.1/input.jpg",
])
def test_private_urls_outside_the_allow_list_are_refused(inproc: InProcessServer,
                                                          source: ScriptedServer, href: str):
    body = _sensei(source, "private.png")
    body["input"]["href"] = href
    status = inproc.run("/sensei/cutout", body)
    _assert_failed(status, 400, "forbidden_url", "input.href", "LAMPYRIS_ALLOW_PRIVATE_URLS")
