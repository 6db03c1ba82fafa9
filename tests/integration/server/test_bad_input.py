"""Bad input of every kind gets the service's error shape (or a failed job with a clear
``errors`` entry), loses nothing, and the server keeps serving afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from support import s3
from support.ceph import CephS3
from support.images import assert_sane_cutout, png_bomb
from support.lampyris_server import LampyrisServer, running_server
from support.procs import free_port


@pytest.fixture(scope="module")
def strict_server() -> Iterator[LampyrisServer]:
    """A server with the default SSRF guard: no private, loopback or link-local URLs."""
    with running_server("lampyris-strict-", workers=1) as live:
        yield live


@pytest.fixture
def bucket(ceph_s3: CephS3, s3_bucket: str, photo: bytes) -> dict[str, Any]:
    client = s3.client_for(ceph_s3)
    s3.put_object(client, s3_bucket, "good.jpg", photo)
    return {"client": client, "name": s3_bucket}


def _upload(bucket: dict[str, Any], key: str, data: bytes) -> str:
    s3.put_object(bucket["client"], bucket["name"], key, data)
    return s3.presign_get(bucket["client"], bucket["name"], key)


def _put_url(bucket: dict[str, Any], key: str) -> str:
    return s3.presign_put(bucket["client"], bucket["name"], key)


def _cutout(live: LampyrisServer, input_href: str, output_href: str) -> dict[str, Any]:
    answer = live.post("/sensei/cutout", {
        "input": {"href": input_href, "storage": "external"},
        "output": {"href": output_href, "storage": "external"},
    })
    assert answer.status_code == 202, answer.text
    return live.wait(answer.json()["_links"]["self"]["href"])


def _assert_failed(status: dict[str, Any], code: str, words: str) -> None:
    assert status["status"] == "failed", status
    errors = status["errors"]
    assert set(errors) >= {"type", "code", "title", "details"}
    assert errors["error_code"] == code, errors
    assert words in errors["title"].lower(), errors
    assert errors["details"][0]["reason"] == errors["title"]


def _still_serving(live: LampyrisServer, bucket: dict[str, Any]) -> None:
    assert httpx.get(f"{live.url}/health").json()["status"] == "ok"
    done = _cutout(live, s3.presign_get(bucket["client"], bucket["name"], "good.jpg"),
                   _put_url(bucket, "after.png"))
    assert done["status"] == "succeeded", done
    assert_sane_cutout(s3.get_object(bucket["client"], bucket["name"], "after.png"))


@pytest.mark.parametrize(("content", "body"), [
    ("application/json", b'{"input": {"href": '),
    ("application/json", b"[1, 2, 3]"),
    ("text/plain", b"cutout please"),
])
def test_malformed_json_gets_the_sensei_error_shape(server: LampyrisServer, content: str,
                                                    body: bytes):
    answer = httpx.post(f"{server.url}/sensei/cutout", content=body,
                        headers={**server.headers(), "Content-Type": content})
    assert answer.status_code == 400
    error = answer.json()
    assert error["type"] == "InputValidationError" and error["code"] == "400"
    assert error["title"] and isinstance(error["details"], list)


def test_malformed_json_gets_the_v2_error_shape(server: LampyrisServer):
    answer = httpx.post(f"{server.url}/v2/remove-background", content=b"{nope",
                        headers={**server.headers(), "Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "invalid_json" and "JSON" in answer.json()["message"]


def test_missing_fields_are_named(server: LampyrisServer):
    answer = server.post("/sensei/cutout", {"input": {"storage": "external"}})
    assert answer.status_code == 400
    names = {d["name"] for d in answer.json()["details"]}
    assert names == {"input.href", "output"}
    v2 = server.post("/v2/remove-background", {"mode": "cutout"})
    assert v2.status_code == 400 and v2.json()["error_code"] == "validation_error"
    assert "image" in v2.json()["message"]


def test_unknown_storage_lists_the_allowed_values(server: LampyrisServer):
    answer = server.post("/sensei/cutout", {
        "input": {"href": "https://example.com/a.jpg", "storage": "s3"},
        "output": {"href": "https://example.com/a.png", "storage": "adobe"},
    })
    assert answer.status_code == 400
    details = answer.json()["details"]
    assert {d["name"] for d in details} == {"input.storage", "output.storage"}
    assert all(d["allowedValues"] == "external, azure, dropbox" for d in details)


def test_out_of_range_options_are_refused_before_a_job_exists(server: LampyrisServer):
    answer = server.post("/v2/remove-background", {
        "image": {"source": {"url": "https://example.com/a.jpg"}}, "colorDecontamination": 3,
    })
    assert answer.status_code == 400 and "colorDecontamination" in answer.json()["message"]
    psd = server.post("/v2/remove-background", {
        "image": {"source": {"url": "https://example.com/a.jpg"}}, "mode": "psd",
    })
    assert psd.status_code == 400 and "PSD" in psd.json()["message"]
    model = server.post("/v2/remove-background", {
        "image": {"source": {"url": "https://example.com/a.jpg"}}, "lampyris": {"model": "nope"},
    })
    assert model.status_code == 400 and "unknown model 'nope'" in model.json()["message"]
    canvas = server.post("/sensei/cutout", {
        "input": {"href": "https://example.com/a.jpg", "storage": "external"},
        "output": {"href": "https://example.com/a.png", "storage": "external"},
        "lampyris": {"canvas": "big"},
    })
    assert canvas.status_code == 400 and "canvas" in canvas.json()["title"]


def test_unreachable_input_fails_the_job(server: LampyrisServer, bucket: dict[str, Any]):
    dead = f"http://127.0.0.1:{free_port()}/nothing.jpg"
    status = _cutout(server, dead, _put_url(bucket, "x.png"))
    _assert_failed(status, "invalid_asset_link", "127.0.0.1")
    assert status["errors"]["details"][0]["name"] == "input.href"
    _still_serving(server, bucket)


def test_403_on_the_output_put_fails_the_job(server: LampyrisServer, bucket: dict[str, Any]):
    good = s3.presign_get(bucket["client"], bucket["name"], "good.jpg")
    forged = _put_url(bucket, "out.png").replace("X-Amz-Signature=", "X-Amz-Signature=00")
    status = _cutout(server, good, forged)
    _assert_failed(status, "upload_failed", "403")
    assert status["errors"]["details"][0]["name"] == "output.href"
    assert "X-Amz-Signature" not in status["errors"]["title"], "credentials must not leak"
    _still_serving(server, bucket)


@pytest.mark.parametrize(("name", "data", "code", "words"), [
    ("notes.jpg", b"these are shipping notes, not an image\n" * 50, "unsupported_media_type",
     "not a supported image"),
    ("truncated.jpg", None, "invalid_input", "truncated"),
    ("bomb.png", None, "input_too_large", "pixel limit"),
])
def test_bad_image_bytes_fail_the_job(
    server: LampyrisServer, bucket: dict[str, Any], photo: bytes, name: str,
    data: bytes | None, code: str, words: str,
):
    if name == "truncated.jpg":
        data = photo[: len(photo) // 2]
    elif name == "bomb.png":
        data = png_bomb()
    assert data is not None
    status = _cutout(server, _upload(bucket, name, data), _put_url(bucket, f"{name}.png"))
    _assert_failed(status, code, words)
    _still_serving(server, bucket)


@pytest.mark.parametrize("href", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://localhost:9/input.jpg",
    "http://127.0.0.1:9/input.jpg",
    "http://[::1]:9/input.jpg",
    "http://10.0.0.1/input.jpg",
])
def test_private_and_metadata_urls_are_refused(
    strict_server: LampyrisServer, href: str, bucket: dict[str, Any]
):
    status = _cutout(strict_server, href, "https://example.com/out.png")
    _assert_failed(status, "forbidden_url", "lampyris_allow_private_urls")
    assert httpx.get(f"{strict_server.url}/health").status_code == 200


def test_another_clients_job_is_not_found(server: LampyrisServer, bucket: dict[str, Any]):
    answer = server.post("/sensei/cutout", {
        "input": {"href": s3.presign_get(bucket["client"], bucket["name"], "good.jpg"),
                  "storage": "external"},
        "output": {"href": _put_url(bucket, "mine.png"), "storage": "external"},
    })
    status_url = answer.json()["_links"]["self"]["href"]
    other = server.add_client("other")
    seen = httpx.get(status_url, headers=server.headers(other))
    assert seen.status_code == 404
    assert seen.json()["error_code"] == "unknown_job_id"
    assert server.wait(status_url)["status"] == "succeeded"  # the owner still sees it
