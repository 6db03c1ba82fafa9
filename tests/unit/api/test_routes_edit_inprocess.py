"""Photoshop ``POST /v2/edit`` on the in-process server: a result written to a PUT URL, a
result hosted here behind a signed URL of the asked lifetime, several outputs of one render
(JPEG + XMP + PNG, the status checked against Adobe's schema), presets, XMP and straighten
together, a failed job, and v2's error shape for the outputs lampyris refuses. The edited
pixels are measured.

Over a real process and real S3: tests/integration/server/test_photoshop_edit.py and
test_openapi_shapes.py."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from jsonschema import Draft202012Validator
from PIL import Image
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from lampyris.imaging.xmp import read_preset
from lampyris.storage import Blob
from support.adobe_schemas import spec_path
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


def _ps2_status_schema() -> Any:
    """PS v2's ``JobStatusResponse``, with ``Result.outputs`` as the list Adobe's status guide
    and examples show (the spec types it as an object)."""
    spec_file = spec_path("ffs-photoshop-API-photoshopv2-api.json")
    if not spec_file.exists():
        pytest.skip(f"Adobe's OpenAPI file is not at {spec_file}")
    spec = json.loads(spec_file.read_text())
    spec["components"]["schemas"]["Result"]["properties"]["outputs"] = {"type": "array"}
    registry = Registry().with_resource(
        "urn:spec", Resource.from_contents(spec, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": "urn:spec#/components/schemas/JobStatusResponse"},
                                registry=registry)


def test_several_outputs_of_one_render_in_order(inproc: InProcessServer, files: ScriptedServer):
    """JPEG + its XMP sidecar + PNG in one job (Adobe allows 25 outputs): one to a PUT URL,
    the others hosted; the status lists them in the request's order; the JPEG and PNG are
    the same render, and the sidecar holds the settings that made them."""
    put = files.url("/out/multi.jpg")
    done = _edit(inproc, {
        "image": {"source": {"url": files.url("/dark.jpg")}},
        "edits": {"light": {"exposure": 1.0, "contrast": 20}},
        "outputs": [{"destination": {"url": put}, "mediaType": "image/jpeg",
                     "quality": "maximum"},
                    {"destination": {"validityPeriod": 600}, "mediaType": "application/rdf+xml"},
                    {"destination": {"validityPeriod": 120}, "mediaType": "image/png",
                     "compression": "high"}],
    })
    assert done["status"] == "succeeded", done
    errors = [e.message for e in _ps2_status_schema().iter_errors(done)]
    assert not errors, errors
    jpeg, xmp, png = done["result"]["outputs"]
    assert [o["mediaType"] for o in (jpeg, xmp, png)] == [
        "image/jpeg", "application/rdf+xml", "image/png"]
    assert jpeg["destination"] == {"url": put} and jpeg["url"] == put
    for hosted, validity in ((xmp, 600), (png, 120)):
        expires = int(parse_qs(urlsplit(hosted["url"]).query)["expires"][0])
        assert abs(expires - (time.time() + validity)) < 30, "each output's own validity"
    assert files.objects["/out/multi.jpg"].content_type == "image/jpeg"
    from_jpeg = np.asarray(Image.open(io.BytesIO(files.objects["/out/multi.jpg"].data)))
    png_bytes = inproc.download(png["url"])
    from_png = np.asarray(Image.open(io.BytesIO(png_bytes)))
    assert from_png.shape == from_jpeg.shape == (jpeg["height"], jpeg["width"], 3)
    difference = np.abs(from_png.astype(int) - from_jpeg.astype(int)).mean()
    assert difference < 2.0, f"one render, two encodings: mean difference {difference:.2f}"
    ratio = mean_luminance(png_bytes) / mean_luminance(dark_scene())
    assert ratio > 1.5, f"the exposure was rendered, got x{ratio:.2f}"
    sidecar = read_preset(inproc.download(xmp["url"]))
    assert sidecar.settings["exposure"] == 1.0 and sidecar.settings["contrast"] == 20
    assert jpeg["lampyris"]["settings"] == {"exposure": 1.0, "contrast": 20}


def test_sidecars_alone_carry_the_settings(
    inproc: InProcessServer, files: ScriptedServer
):
    done = _edit(inproc, {
        "image": {"source": {"url": files.url("/dark.jpg")}},
        "edits": {"light": {"shadows": 30}},
        "outputs": [{"destination": {}, "mediaType": "application/rdf+xml"},
                    {"destination": {}, "mediaType": "application/rdf+xml"}],
    })
    assert done["status"] == "succeeded", done
    first, second = (inproc.download(o["url"]) for o in done["result"]["outputs"])
    assert first == second and read_preset(first).settings == {"shadows": 30}


def test_a_missing_input_fails_the_job(inproc: InProcessServer, files: ScriptedServer):
    failed = _edit(inproc, {
        "image": {"source": {"url": files.url("/missing.jpg")}},
        "outputs": [{"destination": {"validityPeriod": 60}, "mediaType": "image/jpeg"}],
    })
    assert failed["status"] == "failed" and "result" not in failed
    assert failed["error_code"] == "invalid_asset_link" and "404" in failed["message"]
    assert failed["errorDetails"] == [{"errorCode": "400401",  # Adobe's; ours in lampyris
                                       "message": failed["message"]}]
    errors = [e.message for e in _ps2_status_schema().iter_errors(failed)]
    assert not errors, errors


def test_a_remove_background_psd_status_matches_adobes_schema(inproc: InProcessServer,
                                                               files: ScriptedServer):
    accepted = inproc.post("/v2/remove-background", {
        "image": {"source": {"url": files.url("/dark.jpg")}}, "mode": "psd"})
    assert accepted.status_code == 202, accepted.text
    done = inproc.wait(accepted.json()["statusUrl"])
    assert done["status"] == "succeeded", done
    assert done["result"]["outputs"][0]["mediaType"] == "image/vnd.adobe.photoshop"
    errors = [e.message for e in _ps2_status_schema().iter_errors(done)]
    assert not errors, errors


@pytest.mark.parametrize(("outputs", "words"), [
    ([{"destination": {"validityPeriod": 60}, "mediaType": "image/png"}] * 26,
     "at most 25"),
    ([{"destination": {}, "mediaType": "image/png"},
      {"destination": {"validityPeriod": 60}, "mediaType": "image/x-adobe-dng"}],
     "outputs.1.mediaType"),
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
