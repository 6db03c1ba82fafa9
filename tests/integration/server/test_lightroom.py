"""Lightroom's develop routes against a live server and real object stores: auto tone between
S3 pre-signed URLs and between Azure SAS URLs, and an edit through the Python client.

Every route's logic (edit, presets, XMP, straighten, sidecars, bad requests, a malformed
preset, unknown and other clients' jobs) is tested in process, faster:
tests/unit/api/test_routes_lightroom_inprocess.py."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from support import azure_blob, s3
from support.azurite import Azurite
from support.ceph import CephS3
from support.images import dark_scene, mean_luminance
from support.lampyris_server import LampyrisServer
from support.wire_cases import lr_outputs, lr_ref


@pytest.fixture(scope="module")
def dark() -> bytes:
    return dark_scene()


@pytest.fixture
def bucket(ceph_s3: CephS3, s3_bucket: str, dark: bytes) -> dict[str, Any]:
    client = s3.client_for(ceph_s3)
    s3.put_object(client, s3_bucket, "dark.jpg", dark, content_type="image/jpeg")
    return {"client": client, "name": s3_bucket}


def _get(bucket: dict[str, Any], key: str) -> str:
    return s3.presign_get(bucket["client"], bucket["name"], key)


def _put(bucket: dict[str, Any], key: str) -> str:
    return s3.presign_put(bucket["client"], bucket["name"], key)


def _object(bucket: dict[str, Any], key: str) -> bytes:
    return s3.get_object(bucket["client"], bucket["name"], key)


def _run(server: LampyrisServer, route: str, body: dict[str, Any]) -> dict[str, Any]:
    """Submit, check the 202, poll to the end; returns the one output entry."""
    accepted = server.post(f"/lrService/{route}", body)
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["content-type"] == "application/json"
    href = accepted.json()["_links"]["self"]["href"]
    assert href.startswith(f"{server.url}/lrService/status/")
    status = server.wait_lightroom(href)
    assert status["jobId"] == href.rsplit("/", 1)[-1]
    assert status["_links"]["self"]["href"] == href
    (output,) = status["outputs"]
    return dict(output)


def test_auto_tone_between_s3_presigned_urls(
    server: LampyrisServer, bucket: dict[str, Any], dark: bytes
):
    body = {"inputs": lr_ref(_get(bucket, "dark.jpg")),
            "outputs": lr_outputs(_put(bucket, "tone.jpg"))}
    output = _run(server, "autoTone", body)
    assert output["status"] == "succeeded", output
    assert output["input"] == body["inputs"]["href"]
    assert output["_links"]["self"] == {"href": body["outputs"][0]["href"],
                                        "storage": "external"}
    settings = output["lampyris"]["settings"]
    assert settings["exposure"] > 0.5, "a dark photo gets more exposure"
    toned = _object(bucket, "tone.jpg")
    assert Image.open(io.BytesIO(toned)).format == "JPEG"
    assert mean_luminance(toned) > 1.8 * mean_luminance(dark)


def test_auto_tone_between_azurite_sas_urls(
    server: LampyrisServer, azurite: Azurite, blob_container: str, dark: bytes
):
    azure_blob.upload_blob(azurite, blob_container, "in/dark.jpg", dark)
    output = _run(server, "autoTone", {
        "inputs": lr_ref(azure_blob.read_sas_url(azurite, blob_container, "in/dark.jpg"), "azure"),
        "outputs": [{"href": azure_blob.write_sas_url(azurite, blob_container, "out/tone.png"),
                     "storage": "azure", "type": "image/png"}],
    })
    assert output["status"] == "succeeded", output
    toned = azure_blob.download_blob(azurite, blob_container, "out/tone.png")
    image = Image.open(io.BytesIO(toned))
    assert image.format == "PNG" and image.size == (320, 240)
    assert mean_luminance(toned) > 1.8 * mean_luminance(dark)


def test_edit_through_the_python_client(
    server: LampyrisServer, bucket: dict[str, Any], dark: bytes
):
    from lampyris.client import LightroomClient

    assert server.client is not None
    with LightroomClient(server.client.client_id, server.client.client_secret,
                         base_url=server.url, ims_url=server.url) as lr:
        job = lr.wait(lr.edit(_get(bucket, "dark.jpg"), _put(bucket, "client.jpg"),
                              {"Exposure": 1}, quality=11), timeout=120)
        assert lr.status(job.job_id).succeeded
    assert job.outputs == (job.body["outputs"][0]["_links"]["self"]["href"],)
    assert job.body["outputs"][0]["lampyris"]["settings"] == {"exposure": 1.0}
    assert mean_luminance(_object(bucket, "client.jpg")) > 1.7 * mean_luminance(dark)
