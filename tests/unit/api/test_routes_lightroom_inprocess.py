"""Lightroom's develop routes (``/lrService/*``) on the in-process server: each route's job
changes the pixels the way it says (brighter, greyer, level, turned), reports what it chose,
and bad requests, a malformed preset, an unknown job and another client's job get Lightroom's
shapes.

Over a real process and real object stores (S3 pre-signed URLs, Azure SAS URLs, the Python
client): tests/integration/server/test_lightroom.py."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lampyris.imaging.tone_settings import ToneSettings
from lampyris.imaging.xmp import read_preset
from lampyris.storage import Blob
from support.http_server import ScriptedServer, serve
from support.images import dark_scene, mean_luminance, tilted_scene
from support.inprocess import URL, InProcessServer
from support.presets import GREY_PRESET
from support.wire_cases import lr_outputs, lr_ref


@pytest.fixture(scope="module")
def files() -> Iterator[ScriptedServer]:
    state = ScriptedServer()
    state.objects["/dark.jpg"] = Blob(dark_scene(), "image/jpeg")
    state.objects["/tilted.jpg"] = Blob(tilted_scene(angle=4.0), "image/jpeg")
    state.objects["/grey.xmp"] = Blob(GREY_PRESET.encode(), "application/rdf+xml")
    state.objects["/bad.xmp"] = Blob(b"<x:xmpmeta>not closed", "application/rdf+xml")
    yield from serve(state, None)


def _run(inproc: InProcessServer, route: str, body: dict[str, Any]) -> dict[str, Any]:
    """Submit, check the 202 and the status links, poll to the end: the one output entry."""
    href = inproc.submit(f"/lrService/{route}", body)
    assert href.startswith(f"{URL}/lrService/status/")
    status = inproc.wait_lightroom(href)
    assert status["jobId"] == href.rsplit("/", 1)[-1]
    assert status["_links"]["self"]["href"] == href
    (output,) = status["outputs"]
    return dict(output)


def _stored(files: ScriptedServer, path: str) -> bytes:
    return files.objects[path].data


def test_auto_tone_brightens_a_dark_photo(inproc: InProcessServer, files: ScriptedServer):
    body: dict[str, Any] = {"inputs": lr_ref(files.url("/dark.jpg")),
                            "outputs": lr_outputs(files.url("/out/tone.jpg"))}
    output = _run(inproc, "autoTone", body)
    assert output["status"] == "succeeded", output
    assert output["input"] == body["inputs"]["href"]
    assert output["_links"]["self"] == {"href": body["outputs"][0]["href"],
                                        "storage": "external"}
    assert output["lampyris"]["settings"]["exposure"] > 0.5, "a dark photo gets more exposure"
    toned = _stored(files, "/out/tone.jpg")
    assert Image.open(io.BytesIO(toned)).format == "JPEG"
    assert mean_luminance(toned) > 1.8 * mean_luminance(dark_scene())


def test_edit_exposure_plus_one_is_a_stop_brighter(inproc: InProcessServer,
                                                   files: ScriptedServer):
    source = {"source": lr_ref(files.url("/dark.jpg"))}
    output = _run(inproc, "edit", {
        "inputs": source, "outputs": lr_outputs(files.url("/out/edit.jpg")),
        "options": {"Exposure": 1, "SharpenEdgeMasking": 5, "WhiteBalance": "As Shot"},
    })
    assert output["status"] == "succeeded", output
    assert output["lampyris"]["settings"] == {"exposure": 1.0, "sharpen_edge_masking": 50.0}
    ratio = mean_luminance(_stored(files, "/out/edit.jpg")) / mean_luminance(dark_scene())
    assert 1.7 < ratio < 2.3, f"one stop doubles linear light, got x{ratio:.2f}"

    low = _run(inproc, "edit", {"inputs": source, "options": {"Exposure": 1},
                                "outputs": lr_outputs(files.url("/out/low.jpg"), quality=1)})
    assert low["status"] == "succeeded"
    assert len(_stored(files, "/out/low.jpg")) < 0.8 * len(_stored(files, "/out/edit.jpg")), \
        "quality 1 writes a smaller JPEG than the default 12"


def test_presets_by_url_are_applied(inproc: InProcessServer, files: ScriptedServer):
    output = _run(inproc, "presets", {
        "inputs": {"source": lr_ref(files.url("/dark.jpg")),
                   "presets": [lr_ref(files.url("/grey.xmp"))]},
        "outputs": lr_outputs(files.url("/out/grey.png"), "image/png"),
    })
    assert output["status"] == "succeeded", output
    assert output["lampyris"]["presets"] == [{"name": "Grey", "unsupported": []}]
    assert output["lampyris"]["settings"] == {"exposure": 0.5, "saturation": -100.0}
    rgb = np.asarray(Image.open(io.BytesIO(_stored(files, "/out/grey.png")))).astype(int)
    assert np.ptp(rgb, axis=2).max() <= 2, "saturation -100 leaves only greys"


def test_inline_xmp_with_an_orientation(inproc: InProcessServer, files: ScriptedServer):
    output = _run(inproc, "xmp", {
        "inputs": {"source": lr_ref(files.url("/dark.jpg"))},
        "options": {"xmp": GREY_PRESET, "orientation": 6},
        "outputs": lr_outputs(files.url("/out/xmp.png"), "image/png"),
    })
    assert output["status"] == "succeeded", output
    image = Image.open(io.BytesIO(_stored(files, "/out/xmp.png")))
    assert image.size == (240, 320), "orientation 6 turns the picture a quarter clockwise"
    assert np.ptp(np.asarray(image).astype(int), axis=2).max() <= 2


def test_auto_straighten_levels_a_tilted_scene(inproc: InProcessServer, files: ScriptedServer):
    output = _run(inproc, "autoStraighten", {
        "inputs": lr_ref(files.url("/tilted.jpg")),
        "options": {"uprightMode": "level", "constrainCrop": True},
        "outputs": lr_outputs(files.url("/out/level.jpg")),
    })
    assert output["status"] == "succeeded", output
    report = output["lampyris"]["straighten"]
    assert report["angle"] == pytest.approx(-4.0, abs=0.3), report
    width, height = Image.open(io.BytesIO(_stored(files, "/out/level.jpg"))).size
    assert width < 480 and height < 360, "the constrained crop cuts the empty corners"
    assert [width, height] == report["size"] == [output["lampyris"]["width"],
                                                 output["lampyris"]["height"]]


def test_xmp_sidecar_output_holds_the_chosen_settings(inproc: InProcessServer,
                                                      files: ScriptedServer):
    output = _run(inproc, "autoTone", {
        "inputs": lr_ref(files.url("/dark.jpg")),
        "outputs": lr_outputs(files.url("/out/tone.xmp"), "application/rdf+xml"),
    })
    assert output["status"] == "succeeded", output
    assert output["lampyris"]["mediaType"] == "application/rdf+xml"
    reported = ToneSettings.model_validate(output["lampyris"]["settings"]).model_dump()
    written = read_preset(_stored(files, "/out/tone.xmp")).settings
    assert written["exposure"] == pytest.approx(reported.pop("exposure"), abs=0.005)
    for name, value in ToneSettings.model_validate(written).model_dump().items():
        if name not in ("exposure", "white_balance"):  # sliders: whole steps in XMP
            assert value == pytest.approx(reported[name], abs=0.5), name


# -- bad input ----------------------------------------------------------------------------

GOOD_IN = "https://example.com/in.jpg"
GOOD_OUT = "https://example.com/out.jpg"


@pytest.mark.parametrize(("route", "body", "names", "words"), [
    ("autoTone", {"inputs": lr_ref(GOOD_IN), "outputs": lr_outputs(GOOD_OUT, "image/x-adobe-dng")},
     {"outputs.0.type"}, "not supported"),
    ("autoTone", {"inputs": lr_ref(GOOD_IN), "outputs": lr_outputs(GOOD_OUT) * 2},
     {"outputs"}, "only a single output is supported currently"),
    ("autoTone", {"inputs": lr_ref(GOOD_IN, "adobe"), "outputs": lr_outputs(GOOD_OUT)},
     {"inputs.storage"}, "inputs.storage"),
    ("edit", {"inputs": {"source": lr_ref(GOOD_IN)}, "options": {"Exposure": 6},
              "outputs": lr_outputs(GOOD_OUT)}, {"options.Exposure"}, "less than or equal to 5"),
    ("edit", {"inputs": {"source": lr_ref(GOOD_IN)}, "outputs": lr_outputs(GOOD_OUT)},
     {"options"}, "field required"),
    ("autoStraighten", {"inputs": lr_ref(GOOD_IN)}, {"outputs"}, "field required"),
    ("autoStraighten", {"inputs": lr_ref(GOOD_IN), "options": {"uprightMode": "tilt"},
                        "outputs": lr_outputs(GOOD_OUT)}, {"options.uprightMode"}, "uprightmode"),
    ("presets", {"inputs": {"source": lr_ref(GOOD_IN), "presets": [lr_ref(GOOD_IN)] * 11},
                 "outputs": lr_outputs(GOOD_OUT)}, {"inputs.presets"}, "at most 10"),
    ("xmp", {"inputs": {"source": lr_ref(GOOD_IN)}, "options": {"xmp": "<not-xmp"},
             "outputs": lr_outputs(GOOD_OUT)}, {"options.xmp"}, "not well-formed"),
])
def test_bad_requests_get_lightroom_validation_errors(
    inproc: InProcessServer, route: str, body: dict[str, Any], names: set[str], words: str
):
    answer = inproc.post(f"/lrService/{route}", body)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["type"] == "validation_error" and error["code"] == "invalid_input"
    assert words in error["title"].lower(), error
    assert {d["name"] for d in error["details"]} == names
    if "storage" in words:
        assert error["details"][0]["allowedValues"] == "external, azure, dropbox"


def test_a_malformed_preset_fails_the_job(inproc: InProcessServer, files: ScriptedServer):
    failed = _run(inproc, "presets", {
        "inputs": {"source": lr_ref(files.url("/dark.jpg")),
                   "presets": [lr_ref(files.url("/bad.xmp"))]},
        "outputs": lr_outputs(files.url("/out/never.jpg")),
    })
    assert failed["status"] == "failed"
    assert "preset: not well-formed xml" in failed["details"].lower()
    assert failed["errorDetails"] == failed["details"]
    assert failed["lampyris"]["error"] == {"code": "invalid_input", "status": 400,
                                           "field": "input"}
    assert "/out/never.jpg" not in files.objects


def test_an_unknown_job_and_another_clients_job_are_not_found(inproc: InProcessServer,
                                                               files: ScriptedServer):
    missing = inproc.get("/lrService/status/unknown")
    assert missing.status_code == 404
    assert missing.json() == {"type": "error", "code": "not_found",
                              "title": "The job id is unknown.", "error_code": "unknown_job_id",
                              "details": []}
    href = inproc.submit("/lrService/autoTone", {
        "inputs": lr_ref(files.url("/dark.jpg")),
        "outputs": lr_outputs(files.url("/out/mine.jpg"))})
    seen = inproc.get(href, inproc.add_client("other"))
    assert (seen.status_code, seen.json()) == (404, missing.json())
    assert inproc.wait_lightroom(href)["outputs"][0]["status"] == "succeeded"
