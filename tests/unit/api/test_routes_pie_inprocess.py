"""Photoshop's ``/pie/psdService`` catalog routes on the in-process server: product crop cuts
the photo's own pixels around the subject with Adobe's padding, renditionCreate writes every
output at its width and format from one job, depth blur blurs the ground and keeps the
subject; a PSD input, an output lampyris cannot write and other bad requests get Photoshop
v1's shapes; every body validates against Adobe's schema.

Through Adobe's own SDK (applyAutoCrop, createRendition, applyDepthBlur):
tests/integration/server/test_adobe_sdks_round2.py."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from lampyris.storage import Blob
from support.adobe_schemas import Validator, schema_validator
from support.http_server import ScriptedServer, serve
from support.images import product_photo
from support.inprocess import URL, InProcessServer

SPEC = "ffs-photoshop-API-photoshop_api.json"


def _checker_scene() -> np.ndarray:
    """A red disc (radius 90 at 200, 150) on a light grey checker of 3 px squares, 400x300."""
    yy, xx = np.mgrid[0:300, 0:400]
    rgb = np.repeat((225 - (xx // 3 + yy // 3) % 2 * 30).astype(np.uint8)[..., None], 3, 2)
    cv2.circle(rgb, (200, 150), 90, (200, 30, 30), -1)
    return rgb


def _png(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "PNG")
    return out.getvalue()


def _psd(width: int = 8, height: int = 6) -> bytes:
    """A minimal flat RGB Photoshop document (no layers), as Photoshop writes one."""
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)
    sections = struct.pack(">III", 0, 0, 0)  # colour mode data, resources, layers
    return header + sections + struct.pack(">H", 0) + bytes(3 * width * height)


@pytest.fixture(scope="module")
def files() -> Iterator[ScriptedServer]:
    state = ScriptedServer()
    state.objects["/photo.jpg"] = Blob(product_photo(), "image/jpeg")
    state.objects["/scene.png"] = Blob(_png(_checker_scene()), "image/png")
    state.objects["/doc.psd"] = Blob(_psd(), "image/vnd.adobe.photoshop")
    yield from serve(state, None)


@pytest.fixture(scope="module")
def validate() -> Validator:
    return schema_validator(SPEC)


def _ref(files: ScriptedServer, path: str, **more: Any) -> dict[str, Any]:
    return {"href": files.url(path), "storage": "external", **more}


def _decoded(data: bytes) -> tuple[np.ndarray, str | None]:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image), image.format


def _run(inproc: InProcessServer, route: str, body: dict[str, Any],
         validate: Validator) -> dict[str, Any]:
    """Submit, check the 202 and its link, poll to the end: the one output entry."""
    accepted = inproc.post(f"/pie/psdService/{route}", body)
    assert accepted.status_code == 202, accepted.text
    validate("JobStatusLinkResponse", accepted.json())
    href = accepted.json()["_links"]["self"]["href"]
    assert href.startswith(f"{URL}/pie/psdService/status/")
    status = inproc._poll(href, 200, lambda b: b["outputs"][0]["status"], 60.0, None)
    validate("PsJobApiResponse", status)
    assert status["jobId"] == href.rsplit("/", 1)[-1]
    assert status["_links"]["self"]["href"] == href
    (entry,) = status["outputs"]
    assert entry["input"] == body["inputs"][0]["href"]
    return dict(entry)


def test_product_crop_is_the_photo_around_the_subject_with_the_padding(
        inproc: InProcessServer, files: ScriptedServer, validate: Validator) -> None:
    body = {"inputs": [_ref(files, "/photo.jpg")],
            "outputs": [_ref(files, "/out/crop.png", type="image/png"),
                        _ref(files, "/out/crop.jpg", type="image/jpeg", quality=7)],
            "options": {"unit": "Pixels", "width": 40, "height": 20}}
    entry = _run(inproc, "productCrop", body, validate)
    assert entry["status"] == "succeeded", entry
    assert [r["href"] for r in entry["_links"]["renditions"]] == [
        o["href"] for o in body["outputs"]]
    x0, y0, x1, y1 = entry["lampyris"]["subject_box"]
    # the disc: radius 160 at (320, 240), as drawn (the soft JPEG edge within 4 px)
    assert all(abs(a - b) <= 4 for a, b in zip((x0, y0, x1, y1), (160, 80, 481, 401),
                                               strict=True))
    assert entry["lampyris"]["crop_box"] == [x0 - 20, y0 - 10, x1 + 20, y1 + 10]
    crop, fmt = _decoded(files.objects["/out/crop.png"].data)
    photo, _ = _decoded(files.objects["/photo.jpg"].data)
    assert fmt == "PNG" and crop.shape == (y1 - y0 + 20, x1 - x0 + 40, 3)
    np.testing.assert_array_equal(crop, photo[y0 - 10:y1 + 10, x0 - 20:x1 + 20])
    jpeg, fmt = _decoded(files.objects["/out/crop.jpg"].data)
    assert fmt == "JPEG" and jpeg.shape == crop.shape
    assert np.abs(jpeg.astype(int) - crop).mean() < 2


def test_percent_padding_past_the_photo_is_white_in_a_jpeg(
        inproc: InProcessServer, files: ScriptedServer, validate: Validator) -> None:
    body = {"inputs": [_ref(files, "/photo.jpg")],
            "outputs": [_ref(files, "/out/tall.jpg", type="image/jpeg")],
            "options": {"unit": "Percent", "width": 0, "height": 100}}
    entry = _run(inproc, "productCrop", body, validate)
    assert entry["status"] == "succeeded", entry
    x0, y0, x1, y1 = entry["lampyris"]["subject_box"]
    tall, _ = _decoded(files.objects["/out/tall.jpg"].data)
    assert tall.shape[:2] == (2 * (y1 - y0), x1 - x0)
    assert tall[:60].min() >= 245  # 160 px above the photo's top: padding on white


def test_renditions_are_every_width_and_format_from_one_job(
        inproc: InProcessServer, files: ScriptedServer, validate: Validator) -> None:
    outputs = [_ref(files, "/out/r-320.jpg", type="image/jpeg", width=320, quality=5),
               _ref(files, "/out/r-full.png", type="image/png", width=0,
                    compression="small"),
               _ref(files, "/out/r-max.jpg", type="image/jpeg", width=400, maxWidth=100),
               _ref(files, "/out/r-up.png", type="image/png", width=800)]
    body = {"inputs": [_ref(files, "/photo.jpg")], "outputs": outputs}
    entry = _run(inproc, "renditionCreate", body, validate)
    assert entry["status"] == "succeeded", entry
    links = entry["_links"]["renditions"]
    assert [(r["href"], r["type"], r.get("width")) for r in links] == [
        (o["href"], o["type"], o["width"] or None) for o in outputs]
    photo, _ = _decoded(files.objects["/photo.jpg"].data)
    expected = {"/out/r-320.jpg": ((240, 320), "JPEG"), "/out/r-full.png": ((480, 640), "PNG"),
                "/out/r-max.jpg": ((75, 100), "JPEG"), "/out/r-up.png": ((600, 800), "PNG")}
    for path, (size, fmt) in expected.items():
        pixels, written = _decoded(files.objects[path].data)
        assert (pixels.shape[:2], written) == (size, fmt), path
        # each is the same picture: the disc's red centre and the grey corner
        h, w = size
        assert pixels[h // 2, w // 2, 0] > 180 and pixels[h // 2, w // 2, 1] < 60
        assert abs(int(pixels[2, 2, 0]) - 236) <= 4
    full, _ = _decoded(files.objects["/out/r-full.png"].data)
    np.testing.assert_array_equal(full, photo)  # width 0: the image itself, lossless
    assert [o["width"] for o in entry["lampyris"]["outputs"]] == [320, 640, 100, 800]


def test_depth_blur_blurs_the_ground_and_keeps_the_subject(
        inproc: InProcessServer, files: ScriptedServer, validate: Validator) -> None:
    body = {"inputs": [_ref(files, "/scene.png")],
            "outputs": [_ref(files, "/out/blur.png", type="image/png")],
            "options": {"focusSubject": True, "blurStrength": 60}}
    entry = _run(inproc, "depthBlur", body, validate)
    assert entry["status"] == "succeeded", entry
    blurred, _ = _decoded(files.objects["/out/blur.png"].data)
    scene = _checker_scene()
    disc = np.zeros(scene.shape[:2], np.uint8)
    cv2.circle(disc, (200, 150), 84, 1, -1)  # 6 px inside the edge
    np.testing.assert_array_equal(blurred[disc > 0], scene[disc > 0])

    def detail(rgb: np.ndarray) -> float:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F))[:40].mean())  # the top band

    assert detail(blurred) < 0.05 * detail(scene)
    assert "notices" not in entry["lampyris"]


def test_a_psd_output_is_a_one_layer_document_of_the_rendition(
        inproc: InProcessServer, files: ScriptedServer, validate: Validator) -> None:
    from psd_tools import PSDImage

    body = {"inputs": [_ref(files, "/photo.jpg")],
            "outputs": [_ref(files, "/out/r.psd", type="vnd.adobe.photoshop", width=160)]}
    entry = _run(inproc, "renditionCreate", body, validate)
    assert entry["status"] == "succeeded", entry
    document = PSDImage.open(io.BytesIO(files.objects["/out/r.psd"].data))
    assert (document.width, document.height, len(document)) == (160, 120, 1)
    with Image.open(io.BytesIO(files.objects["/photo.jpg"].data)) as photo:
        small = np.asarray(photo.resize((160, 120), Image.Resampling.BOX))
    composite = np.asarray(document.composite().convert("RGB"))
    assert np.abs(composite.astype(int) - small).mean() < 2


def test_a_psd_input_fails_the_job_with_a_clear_reason(
        inproc: InProcessServer, files: ScriptedServer, validate: Validator) -> None:
    body = {"inputs": [_ref(files, "/doc.psd")],
            "outputs": [_ref(files, "/out/doc.png", type="image/png")]}
    entry = _run(inproc, "renditionCreate", body, validate)
    assert entry["status"] == "failed"
    assert entry["errors"]["type"] == "InputValidationError"
    assert "PSD input" in entry["errors"]["title"]
    assert "/out/doc.png" not in files.objects


@pytest.mark.parametrize(("change", "field"), [
    ({"outputs": [{"type": "image/tiff"}]}, "outputs.0.type"),
    ({"outputs": [{"layers": [{"name": "Logo"}]}]}, "outputs.0.layers"),
    ({"inputs": "two"}, "inputs"),
    ({"outputs": [{"width": -1}]}, "width"),
])
def test_bad_requests_get_photoshop_v1s_400(inproc: InProcessServer, files: ScriptedServer,
                                            change: dict[str, Any], field: str) -> None:
    body: dict[str, Any] = {"inputs": [_ref(files, "/photo.jpg")],
                            "outputs": [_ref(files, "/out/x.png", type="image/png")]}
    if "outputs" in change:
        body["outputs"] = [{**body["outputs"][0], **change["outputs"][0]}]
    if change.get("inputs") == "two":
        body["inputs"] = body["inputs"] * 2
    answer = inproc.post("/pie/psdService/renditionCreate", body)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["type"] == "InputValidationError" and error["code"] == "400"
    assert field in answer.text


def test_unknown_and_other_clients_jobs_are_404(inproc: InProcessServer,
                                                files: ScriptedServer) -> None:
    missing = inproc.get(f"{URL}/pie/psdService/status/nope")
    assert missing.status_code == 404
    body = {"inputs": [_ref(files, "/photo.jpg")],
            "outputs": [_ref(files, "/out/o.jpg", type="image/jpeg", width=64)]}
    href = inproc.submit("/pie/psdService/renditionCreate", body)
    other = inproc.add_client("someone-else")
    assert inproc.get(href, other).status_code == 404
    sensei = inproc.get(href.replace("/pie/psdService/", "/sensei/"))
    assert sensei.status_code == 404, "a psdService job is not a Sensei job"


# -- Photoshop v2's /v1/auto-crop, reported by /v2/status -----------------------------------

V2_SPEC = "ffs-photoshop-API-photoshopv2-api.json"


def test_auto_crop_writes_a_subject_crop_per_aspect_ratio(
        inproc: InProcessServer, files: ScriptedServer) -> None:
    validate = schema_validator(V2_SPEC)
    body = {"image": {"source": {"url": files.url("/photo.jpg")}}, "mode": "subjectCrop",
            "focus": ["product"], "aspectRatio": ["1:1", "16:9"], "zoom": [1, 0.8]}
    accepted = inproc.post("/v1/auto-crop", body)
    assert accepted.status_code == 202, accepted.text
    validate("JobAcceptedResponse", accepted.json())
    status = inproc.wait(accepted.json()["statusUrl"])
    validate("JobStatusResponse", status)
    assert status["status"] == "succeeded", status
    output = status["result"]["outputs"]
    validate("AutoCropOutput", output)
    (subject,) = output["subject"][0]["boundingBoxes"]
    assert abs(subject["width"] - 320) <= 8 and abs(subject["height"] - 320) <= 8
    square, wide = (crop["boundingBoxes"][0] for crop in output["crops"])
    assert square["width"] == square["height"] and abs(square["width"] - subject["width"]) <= 1
    assert abs(wide["width"] / wide["height"] - 16 / 9) < 0.02 and wide["height"] <= 480
    photo, _ = _decoded(files.objects["/photo.jpg"].data)
    for crop in (square, wide):
        pixels, fmt = _decoded(inproc.download(crop["url"]))
        assert fmt == "JPEG" and pixels.shape[:2] == (crop["height"], crop["width"])
        x, y = crop["x"], crop["y"]
        window = photo[y:y + crop["height"], x:x + crop["width"]].astype(int)
        assert np.abs(pixels.astype(int) - window).mean() < 3  # the photo's own pixels
    assert "object detector" in output["lampyris"]["notices"][0]  # focus labels unused


def test_auto_crop_boxes_only_and_full_scene_write_no_images(
        inproc: InProcessServer, files: ScriptedServer) -> None:
    source = {"source": {"url": files.url("/photo.jpg")}}
    boxes = inproc.run("/v1/auto-crop", {"image": source, "mode": "smartCrop",
                                         "aspectRatio": "4:5", "outputType": "boundingBoxes"})
    (crop,) = boxes["result"]["outputs"]["crops"]
    assert "url" not in crop["boundingBoxes"][0]
    assert abs(crop["boundingBoxes"][0]["width"] / crop["boundingBoxes"][0]["height"] - 0.8) < 0.01
    scene = inproc.run("/v1/auto-crop", {"image": source, "mode": "fullSceneDetection"})
    assert scene["result"]["outputs"]["crops"] == []
    assert len(scene["result"]["outputs"]["subject"]) == 1


@pytest.mark.parametrize(("change", "status", "words"), [
    ({"mode": "objectDetection", "focus": ["logo"]}, 501, "object detector"),
    ({"mode": "subjectCrop"}, 400, "focus"),
    ({"mode": "smartCrop", "zoom": 0.5}, 400, "without aspectRatio"),
    ({"mode": "smartCrop", "aspectRatio": ["1:1", "4:3"], "zoom": 0.5}, 400, "list of 2"),
    ({"mode": "fullSceneDetection", "aspectRatio": "1:1"}, 400, "aspectRatio"),
    ({"mode": "smartCrop", "aspectRatio": "7:5"}, 400, "aspectRatio"),
])
def test_auto_crop_refusals(inproc: InProcessServer, files: ScriptedServer,
                            change: dict[str, Any], status: int, words: str) -> None:
    body = {"image": {"source": {"url": files.url("/photo.jpg")}}, **change}
    answer = inproc.post("/v1/auto-crop", body)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["message"]
    schema_validator(V2_SPEC)("ErrorResponse", answer.json())
