"""Photoshop v2 against a live server: ``POST /v2/edit`` with auto tone and an exposure written
to a pre-signed S3 URL, and a JPEG with its XMP sidecar from one job to two S3 URLs;
``/v2/remove-background`` ``mode: psd`` written by a worker process (psd-tools there too).

Hosted results and their lifetime, presets, XMP and straighten, a failed edit and v2's error
shape for what lampyris refuses are tested in process, faster:
tests/unit/api/test_routes_edit_inprocess.py."""

from __future__ import annotations

import io
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from psd_tools import PSDImage

from lampyris.imaging.xmp import read_preset
from support import s3
from support.ceph import CephS3
from support.images import dark_scene, mean_luminance, product_photo
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


def test_jpeg_and_its_xmp_sidecar_to_two_presigned_urls(server: LampyrisServer,
                                                         bucket: dict[str, Any]):
    client, name = bucket["client"], bucket["name"]
    jpeg_put = s3.presign_put(client, name, "edited.jpg")
    xmp_put = s3.presign_put(client, name, "edited.xmp")
    done = _edit(server, {
        "image": {"source": {"url": _get(bucket, "dark.jpg")}},
        "edits": {"light": {"exposure": 1.5}},
        "outputs": [{"destination": {"url": jpeg_put}, "mediaType": "image/jpeg"},
                    {"destination": {"url": xmp_put}, "mediaType": "application/rdf+xml"}],
    })
    assert done["status"] == "succeeded", done
    assert [o["destination"]["url"] for o in done["result"]["outputs"]] == [jpeg_put, xmp_put]
    edited = s3.get_object(client, name, "edited.jpg")
    assert mean_luminance(edited) > 2 * mean_luminance(dark_scene())
    assert read_preset(s3.get_object(client, name, "edited.xmp")).settings == {"exposure": 1.5}


def test_remove_background_psd_from_a_worker_process(server: LampyrisServer,
                                                      bucket: dict[str, Any]):
    client, name = bucket["client"], bucket["name"]
    s3.put_object(client, name, "product.png", product_photo(fmt="PNG"),
                  content_type="image/png")
    done = server.wait(server.post("/v2/remove-background", {
        "image": {"source": {"url": _get(bucket, "product.png")}}, "mode": "psd",
    }).json()["statusUrl"])
    assert done["status"] == "succeeded", done
    (output,) = done["result"]["outputs"]
    assert output["mediaType"] == "image/vnd.adobe.photoshop"
    answer = httpx.get(output["url"])  # the signature is the credential
    assert answer.status_code == 200 and answer.content[:4] == b"8BPS"
    doc = PSDImage.open(io.BytesIO(answer.content))
    (layer,) = doc
    photo = np.asarray(Image.open(io.BytesIO(product_photo(fmt="PNG"))).convert("RGB"))
    assert np.array_equal(np.rint(layer.numpy()[..., :3] * 255).astype(np.uint8), photo)
    mask = np.asarray(layer.mask.topil())
    assert mask[240, 320] == 255 and mask[5, 5] == 0, "the disc is kept, the grey masked"
