"""Photoshop ``POST /v2/edit`` against a live server: a result written to a pre-signed URL, a
result hosted here behind a signed URL of the asked lifetime, presets and straighten, and v2's
error shape for what lampyris refuses."""

from __future__ import annotations

import io
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest
from PIL import Image

from support import s3
from support.ceph import CephS3
from support.images import dark_scene, mean_luminance, tilted_scene
from support.lampyris_server import LampyrisServer
from support.presets import GREY_PRESET


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
    done = _edit(server, {
        "image": {"source": {"url": _get(bucket, "dark.jpg")}},
        "edits": {"autoTone": True, "light": {"exposure": 2.0}, "sharpen": {"edgeMasking": 40}},
        "outputs": [{"destination": {"url": put}, "mediaType": "image/jpeg",
                     "quality": "high"}],
    })
    assert done["status"] == "succeeded", done
    (output,) = done["result"]["outputs"]
    assert output["destination"] == {"url": put} and output["mediaType"] == "image/jpeg"
    settings = output["lampyris"]["settings"]
    assert settings["exposure"] == 2.0, "explicit settings override auto tone's"
    assert settings["sharpen_edge_masking"] == 40
    assert settings["whites"] != 0, "auto tone chose the rest"
    edited = s3.get_object(bucket["client"], bucket["name"], "edit.jpg")
    assert mean_luminance(edited) > 2 * mean_luminance(dark_scene())


def test_hosted_output_with_its_validity_period(server: LampyrisServer, bucket: dict[str, Any]):
    done = _edit(server, {
        "image": {"source": {"url": _get(bucket, "dark.jpg")}},
        "edits": {"light": {"exposure": 1.0}},
        "outputs": [{"destination": {"validityPeriod": 120}, "mediaType": "image/png",
                     "compression": "maximum"}],
    })
    assert done["status"] == "succeeded", done
    url = done["result"]["outputs"][0]["destination"]["url"]
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    assert abs(expires - (time.time() + 120)) < 30, "signed for the validityPeriod asked"
    image = httpx.get(url)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    ratio = mean_luminance(image.content) / mean_luminance(dark_scene())
    assert 1.7 < ratio < 2.3


def test_presets_xmp_and_straighten_together(server: LampyrisServer, bucket: dict[str, Any]):
    s3.put_object(bucket["client"], bucket["name"], "tilted.jpg", tilted_scene(angle=-3.0))
    s3.put_object(bucket["client"], bucket["name"], "grey.xmp", GREY_PRESET.encode())
    done = _edit(server, {
        "image": {"source": {"url": _get(bucket, "tilted.jpg")}},
        "edits": {"autoStraighten": {"enabled": True, "uprightMode": "full"},
                  "presets": [{"url": _get(bucket, "grey.xmp")}],
                  "xmp": {"source": {"url": _get(bucket, "grey.xmp")},
                          "masks": [{"digest": "x", "source": {"url": "https://a/m.png"}}]}},
        "outputs": [{"destination": {}, "mediaType": "image/png"}],
    })
    assert done["status"] == "succeeded", done
    report = done["result"]["outputs"][0]["lampyris"]
    assert report["straighten"]["angle"] == pytest.approx(3.0, abs=0.3)
    assert [p["name"] for p in report["presets"]] == ["Grey", "Grey"]
    image = Image.open(io.BytesIO(httpx.get(done["result"]["outputs"][0]["url"]).content))
    assert image.size == tuple(report["straighten"]["size"])
    assert np.ptp(np.asarray(image).astype(int), axis=2).max() <= 2


@pytest.mark.parametrize(("outputs", "words"), [
    ([{"destination": {"validityPeriod": 60}, "mediaType": "image/png"}] * 2,
     "one output per job"),
    ([{"destination": {"validityPeriod": 60}, "mediaType": "image/x-adobe-dng"}],
     "image/x-adobe-dng output is not supported"),
    ([{"destination": {"creativeCloudPath": "a/b.png"}, "mediaType": "image/png"}],
     "creative cloud"),
    ([{"destination": {"validityPeriod": 10}, "mediaType": "image/png"}], "validityPeriod"),
    ([{"destination": {}, "mediaType": "image/jpeg", "quality": "best"}], "quality"),
])
def test_refused_outputs_get_the_v2_error_shape(
    server: LampyrisServer, outputs: list[dict[str, Any]], words: str
):
    answer = server.post("/v2/edit", {"image": {"source": {"url": "https://example.com/a.jpg"}},
                                      "outputs": outputs})
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["error_code"] == "validation_error"
    assert words.lower() in error["message"].lower(), error
