"""Photoshop ``POST /v2/edit`` on the in-process server: a result written to a PUT URL, a
result hosted here behind a signed URL of the asked lifetime, presets, XMP and straighten
together, a failed job, and v2's error shape for the outputs lampyris refuses. The edited
pixels are measured.

Over a real process and real S3: tests/integration/server/test_photoshop_edit.py and
test_openapi_shapes.py."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image

from lampyris.storage import Blob
from support.http_server import ScriptedServer, serve
from support.images import dark_scene, mean_luminance, tilted_scene
from support.inprocess import URL, InProcessServer
from support.presets import GREY_PRESET
from support.wire_cases import auto_tone_edit, check_auto_tone_edit


@pytest.fixture(scope="module")
def files() -> Iterator[ScriptedServer]:
    state = ScriptedServer()
    state.objects["/dark.jpg"] = Blob(dark_scene(), "image/jpeg")
    state.objects["/tilted.jpg"] = Blob(tilted_scene(angle=-3.0), "image/jpeg")
    state.objects["/grey.xmp"] = Blob(GREY_PRESET.encode(), "application/rdf+xml")
    yield from serve(state, None)


def _edit(inproc: InProcessServer, body: dict[str, Any]) -> dict[str, Any]:
    accepted = inproc.post("/v2/edit", body)
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    assert job == {"jobId": job["jobId"], "statusUrl": f"{URL}/v2/status/{job['jobId']}"}
    return inproc.wait(job["statusUrl"])


def test_auto_tone_and_exposure_to_a_put_url(inproc: InProcessServer, files: ScriptedServer):
    put = files.url("/out/edit.jpg")
    done = _edit(inproc, auto_tone_edit(files.url("/dark.jpg"), put))
    edited = files.objects["/out/edit.jpg"]
    assert edited.content_type == "image/jpeg"
    check_auto_tone_edit(done, put, edited.data)


def test_hosted_output_with_its_validity_period(inproc: InProcessServer, files: ScriptedServer):
    done = _edit(inproc, {
        "image": {"source": {"url": files.url("/dark.jpg")}},
        "edits": {"light": {"exposure": 1.0}},
        "outputs": [{"destination": {"validityPeriod": 120}, "mediaType": "image/png",
                     "compression": "maximum"}],
    })
    assert done["status"] == "succeeded", done
    (output,) = done["result"]["outputs"]
    assert output["lampyris"]["settings"] == {"exposure": 1.0}
    url = output["destination"]["url"]
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    assert abs(expires - (time.time() + 120)) < 30, "signed for the validityPeriod asked"
    image = inproc.http.get(url)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    ratio = mean_luminance(image.content) / mean_luminance(dark_scene())
    assert 1.7 < ratio < 2.3, f"one stop doubles linear light, got x{ratio:.2f}"


def test_presets_xmp_and_straighten_together(inproc: InProcessServer, files: ScriptedServer):
    done = _edit(inproc, {
        "image": {"source": {"url": files.url("/tilted.jpg")}},
        "edits": {"autoStraighten": {"enabled": True, "uprightMode": "full"},
                  "presets": [{"url": files.url("/grey.xmp")}],
                  "xmp": {"source": {"url": files.url("/grey.xmp")},
                          "masks": [{"digest": "x", "source": {"url": "https://a/m.png"}}]}},
        "outputs": [{"destination": {}, "mediaType": "image/png"}],
    })
    assert done["status"] == "succeeded", done
    report = done["result"]["outputs"][0]["lampyris"]
    assert report["straighten"]["angle"] == pytest.approx(3.0, abs=0.3)
    assert [p["name"] for p in report["presets"]] == ["Grey", "Grey"]
    image = Image.open(io.BytesIO(inproc.download(done["result"]["outputs"][0]["url"])))
    assert image.size == tuple(report["straighten"]["size"])
    assert np.ptp(np.asarray(image).astype(int), axis=2).max() <= 2, "saturation -100: greys"


def test_a_missing_input_fails_the_job(inproc: InProcessServer, files: ScriptedServer):
    failed = _edit(inproc, {
        "image": {"source": {"url": files.url("/missing.jpg")}},
        "outputs": [{"destination": {"validityPeriod": 60}, "mediaType": "image/jpeg"}],
    })
    assert failed["status"] == "failed" and "result" not in failed
    assert failed["error_code"] == "invalid_asset_link" and "404" in failed["message"]
    assert failed["errorDetails"] == [{"errorCode": "invalid_asset_link",
                                       "message": failed["message"]}]


@pytest.mark.parametrize(("outputs", "words"), [
    ([{"destination": {"validityPeriod": 60}, "mediaType": "image/png"}] * 2,
     "one output per job"),
    ([{"destination": {"validityPeriod": 60}, "mediaType": "image/x-adobe-dng"}],
     "image/x-adobe-dng output is not supported"),
    ([{"destination": {"creativeCloudPath": "a/b.png"}, "mediaType": "image/png"}],
     "creative cloud"),
    ([{"destination": {"validityPeriod": 10}, "mediaType": "image/png"}], "validityPeriod"),
    ([{"destination": {}, "mediaType": "image/jpeg", "quality": "best"}], "quality"),
    ([], "outputs"),
])
def test_refused_outputs_get_the_v2_error_shape(
    inproc: InProcessServer, outputs: list[dict[str, Any]], words: str
):
    answer = inproc.post("/v2/edit", {"image": {"source": {"url": "https://example.com/a.jpg"}},
                                      "outputs": outputs})
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["error_code"] == "validation_error"
    assert words.lower() in error["message"].lower(), error
