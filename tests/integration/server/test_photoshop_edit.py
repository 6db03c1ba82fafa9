"""Photoshop ``POST /v2/edit`` against a live server: auto tone and an exposure written to a
pre-signed S3 URL.

Hosted results and their lifetime, presets, XMP and straighten, a failed edit and v2's error
shape for what lampyris refuses are tested in process, faster:
tests/unit/api/test_routes_edit_inprocess.py."""

from __future__ import annotations

from typing import Any

import pytest

from support import s3
from support.ceph import CephS3
from support.images import dark_scene
from support.lampyris_server import LampyrisServer
from support.wire_cases import auto_tone_edit, check_auto_tone_edit


@pytest.fixture
def bucket(ceph_s3: CephS3, s3_bucket: str) -> dict[str, Any]:
    client = s3.client_for(ceph_s3)
    s3.put_object(client, s3_bucket, "dark.jpg", dark_scene(), content_type="image/jpeg")
    return {"client": client, "name": s3_bucket}


def _get(bucket: dict[str, Any], key: str) -> str:
    return s3.presign_get(bucket["client"], bucket["name"], key)


def _edit(server: LampyrisServer, body: dict[str, Any]) -> dict[str, Any]:
    accepted = server.post("/v2/edit", body)
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    assert job["statusUrl"] == f"{server.url}/v2/status/{job['jobId']}"
    return server.wait(job["statusUrl"])


def test_auto_tone_and_exposure_to_a_presigned_url(server: LampyrisServer,
                                                   bucket: dict[str, Any]):
    put = s3.presign_put(bucket["client"], bucket["name"], "edit.jpg")
    done = _edit(server, auto_tone_edit(_get(bucket, "dark.jpg"), put))
    check_auto_tone_edit(done, put, s3.get_object(bucket["client"], bucket["name"], "edit.jpg"))
