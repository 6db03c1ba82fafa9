"""Lightroom's develop routes against a live server and real object stores: each route's job
changes the pixels the way it says (brighter, greyer, level), reports what it chose, and bad
requests get Lightroom's error shape without stopping the server."""

from __future__ import annotations

import io
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from lampyris.imaging.tone_settings import ToneSettings
from lampyris.imaging.xmp import read_preset
from support import azure_blob, s3
from support.azurite import Azurite
from support.ceph import CephS3
from support.images import dark_scene, mean_luminance, tilted_scene
from support.lampyris_server import LampyrisServer
from support.presets import GREY_PRESET


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


def _ref(href: str, storage: str = "external") -> dict[str, str]:
    return {"href": href, "storage": storage}


def _out(href: str, kind: str = "image/jpeg", **extra: Any) -> list[dict[str, Any]]:
    return [{"href": href, "storage": "external", "type": kind, **extra}]


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
    body = {"inputs": _ref(_get(bucket, "dark.jpg")), "outputs": _out(_put(bucket, "tone.jpg"))}
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
        "inputs": _ref(azure_blob.read_sas_url(azurite, blob_container, "in/dark.jpg"), "azure"),
        "outputs": [{"href": azure_blob.write_sas_url(azurite, blob_container, "out/tone.png"),
                     "storage": "azure", "type": "image/png"}],
    })
    assert output["status"] == "succeeded", output
    toned = azure_blob.download_blob(azurite, blob_container, "out/tone.png")
    image = Image.open(io.BytesIO(toned))
    assert image.format == "PNG" and image.size == (320, 240)
    assert mean_luminance(toned) > 1.8 * mean_luminance(dark)


def test_edit_exposure_plus_one_is_a_stop_brighter(
    server: LampyrisServer, bucket: dict[str, Any], dark: bytes
):
    source = {"source": _ref(_get(bucket, "dark.jpg"))}
    output = _run(server, "edit", {
        "inputs": source, "outputs": _out(_put(bucket, "edit.jpg")),
        "options": {"Exposure": 1, "SharpenEdgeMasking": 5, "WhiteBalance": "As Shot"},
    })
    assert output["status"] == "succeeded", output
    assert output["lampyris"]["settings"] == {"exposure": 1.0, "sharpen_edge_masking": 50.0}
    ratio = mean_luminance(_object(bucket, "edit.jpg")) / mean_luminance(dark)
    assert 1.7 < ratio < 2.3, f"one stop doubles linear light, got x{ratio:.2f}"

    low = _run(server, "edit", {"inputs": source, "options": {"Exposure": 1},
                                "outputs": _out(_put(bucket, "low.jpg"), quality=1)})
    assert low["status"] == "succeeded"
    assert len(_object(bucket, "low.jpg")) < 0.8 * len(_object(bucket, "edit.jpg")), \
        "quality 1 writes a smaller JPEG than the default 12"


def test_presets_from_the_bucket_are_applied(server: LampyrisServer, bucket: dict[str, Any]):
    s3.put_object(bucket["client"], bucket["name"], "grey.xmp", GREY_PRESET.encode(),
                  content_type="application/rdf+xml")
    output = _run(server, "presets", {
        "inputs": {"source": _ref(_get(bucket, "dark.jpg")),
                   "presets": [_ref(_get(bucket, "grey.xmp"))]},
        "outputs": _out(_put(bucket, "grey.png"), "image/png"),
    })
    assert output["status"] == "succeeded", output
    assert output["lampyris"]["presets"] == [{"name": "Grey", "unsupported": []}]
    assert output["lampyris"]["settings"] == {"exposure": 0.5, "saturation": -100.0}
    rgb = np.asarray(Image.open(io.BytesIO(_object(bucket, "grey.png")))).astype(int)
    assert np.ptp(rgb, axis=2).max() <= 2, "saturation -100 leaves only greys"


def test_inline_xmp_with_an_orientation(server: LampyrisServer, bucket: dict[str, Any]):
    output = _run(server, "xmp", {
        "inputs": {"source": _ref(_get(bucket, "dark.jpg"))},
        "options": {"xmp": GREY_PRESET, "orientation": 6},
        "outputs": _out(_put(bucket, "xmp.png"), "image/png"),
    })
    assert output["status"] == "succeeded", output
    image = Image.open(io.BytesIO(_object(bucket, "xmp.png")))
    assert image.size == (240, 320), "orientation 6 turns the picture a quarter clockwise"
    assert np.ptp(np.asarray(image).astype(int), axis=2).max() <= 2


def test_auto_straighten_levels_a_tilted_scene(server: LampyrisServer, bucket: dict[str, Any]):
    s3.put_object(bucket["client"], bucket["name"], "tilted.jpg", tilted_scene(angle=4.0))
    output = _run(server, "autoStraighten", {
        "inputs": _ref(_get(bucket, "tilted.jpg")),
        "options": {"uprightMode": "level", "constrainCrop": True},
        "outputs": _out(_put(bucket, "level.jpg")),
    })
    assert output["status"] == "succeeded", output
    report = output["lampyris"]["straighten"]
    assert report["angle"] == pytest.approx(-4.0, abs=0.3), report
    width, height = Image.open(io.BytesIO(_object(bucket, "level.jpg"))).size
    assert width < 480 and height < 360, "the constrained crop cuts the empty corners"
    assert [width, height] == report["size"] == [output["lampyris"]["width"],
                                                 output["lampyris"]["height"]]


def test_xmp_sidecar_output_holds_the_chosen_settings(
    server: LampyrisServer, bucket: dict[str, Any]
):
    output = _run(server, "autoTone", {
        "inputs": _ref(_get(bucket, "dark.jpg")),
        "outputs": _out(_put(bucket, "tone.xmp"), "application/rdf+xml"),
    })
    assert output["status"] == "succeeded", output
    assert output["lampyris"]["mediaType"] == "application/rdf+xml"
    reported = ToneSettings.model_validate(output["lampyris"]["settings"]).model_dump()
    written = read_preset(_object(bucket, "tone.xmp")).settings
    assert written["exposure"] == pytest.approx(reported.pop("exposure"), abs=0.005)
    for name, value in ToneSettings.model_validate(written).model_dump().items():
        if name not in ("exposure", "white_balance"):  # sliders: whole steps in XMP
            assert value == pytest.approx(reported[name], abs=0.5), name


# -- bad input ----------------------------------------------------------------------------

GOOD_IN = "https://example.com/in.jpg"
GOOD_OUT = "https://example.com/out.jpg"


@pytest.mark.parametrize(("route", "body", "names", "words"), [
    ("autoTone", {"inputs": _ref(GOOD_IN), "outputs": _out(GOOD_OUT, "image/x-adobe-dng")},
     {"outputs.0.type"}, "not supported"),
    ("autoTone", {"inputs": _ref(GOOD_IN), "outputs": _out(GOOD_OUT) * 2},
     {"outputs"}, "only a single output is supported currently"),
    ("autoTone", {"inputs": _ref(GOOD_IN, "adobe"), "outputs": _out(GOOD_OUT)},
     {"inputs.storage"}, "inputs.storage"),
    ("edit", {"inputs": {"source": _ref(GOOD_IN)}, "options": {"Exposure": 6},
              "outputs": _out(GOOD_OUT)}, {"options.Exposure"}, "less than or equal to 5"),
    ("edit", {"inputs": {"source": _ref(GOOD_IN)}, "outputs": _out(GOOD_OUT)},
     {"options"}, "field required"),
    ("autoStraighten", {"inputs": _ref(GOOD_IN)}, {"outputs"}, "field required"),
    ("autoStraighten", {"inputs": _ref(GOOD_IN), "options": {"uprightMode": "tilt"},
                        "outputs": _out(GOOD_OUT)}, {"options.uprightMode"}, "uprightmode"),
    ("presets", {"inputs": {"source": _ref(GOOD_IN), "presets": [_ref(GOOD_IN)] * 11},
                 "outputs": _out(GOOD_OUT)}, {"inputs.presets"}, "at most 10"),
    ("xmp", {"inputs": {"source": _ref(GOOD_IN)}, "options": {"xmp": "<not-xmp"},
             "outputs": _out(GOOD_OUT)}, {"options.xmp"}, "not well-formed"),
])
def test_bad_requests_get_lightroom_validation_errors(
    server: LampyrisServer, route: str, body: dict[str, Any], names: set[str], words: str
):
    answer = server.post(f"/lrService/{route}", body)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["type"] == "validation_error" and error["code"] == "invalid_input"
    assert words in error["title"].lower(), error
    assert {d["name"] for d in error["details"]} == names
    if "storage" in words:
        assert error["details"][0]["allowedValues"] == "external, azure, dropbox"


def test_a_malformed_preset_fails_the_job_and_the_next_succeeds(
    server: LampyrisServer, bucket: dict[str, Any]
):
    s3.put_object(bucket["client"], bucket["name"], "bad.xmp", b"<x:xmpmeta>not closed")
    failed = _run(server, "presets", {
        "inputs": {"source": _ref(_get(bucket, "dark.jpg")),
                   "presets": [_ref(_get(bucket, "bad.xmp"))]},
        "outputs": _out(_put(bucket, "never.jpg")),
    })
    assert failed["status"] == "failed"
    assert "preset: not well-formed xml" in failed["details"].lower()
    assert failed["errorDetails"] == failed["details"]
    assert failed["lampyris"]["error"]["code"] == "invalid_input"
    after = _run(server, "autoTone", {"inputs": _ref(_get(bucket, "dark.jpg")),
                                      "outputs": _out(_put(bucket, "after.jpg"))})
    assert after["status"] == "succeeded"


def test_another_clients_job_is_not_found(server: LampyrisServer, bucket: dict[str, Any]):
    accepted = server.post("/lrService/autoTone", {
        "inputs": _ref(_get(bucket, "dark.jpg")), "outputs": _out(_put(bucket, "mine.jpg"))})
    href = accepted.json()["_links"]["self"]["href"]
    seen = httpx.get(href, headers=server.headers(server.add_client("other")))
    assert seen.status_code == 404
    assert seen.json()["code"] == "not_found" and seen.json()["type"] == "error"
    assert server.wait_lightroom(href)["outputs"][0]["status"] == "succeeded"


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
