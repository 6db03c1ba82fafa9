"""Bad input against a live server, where only a real process shows it: a failed job with a
clear ``errors`` entry, and worker processes that keep serving afterwards: a 403 from real
S3 on the output, a pixel bomb, and private and metadata URLs refused by the default SSRF
guard with the real fetcher.

The rest of the bad input (malformed and invalid bodies, corrupt and unreachable inputs,
another client's job) is tested in process, faster:
tests/unit/api/test_routes_photoshop_inprocess.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from support import s3
from support.ceph import CephS3
from support.images import assert_sane_cutout, png_bomb
from support.lampyris_server import LampyrisServer, running_server


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


def test_403_on_the_output_put_fails_the_job(server: LampyrisServer, bucket: dict[str, Any]):
    good = s3.presign_get(bucket["client"], bucket["name"], "good.jpg")
    forged = _put_url(bucket, "out.png").replace("X-Amz-Signature=", "X-Amz-Signature=00")
    status = _cutout(server, good, forged)
    _assert_failed(status, "upload_failed", "403")
    assert status["errors"]["details"][0]["name"] == "output.href"
    assert "X-Amz-Signature" not in status["errors"]["title"], "credentials must not leak"
    _still_serving(server, bucket)


def test_a_pixel_bomb_fails_the_job_and_the_workers_keep_serving(
    server: LampyrisServer, bucket: dict[str, Any]
):
    status = _cutout(server, _upload(bucket, "bomb.png", png_bomb()),
                     _put_url(bucket, "bomb.png.png"))
    _assert_failed(status, "input_too_large", "pixel limit")
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
