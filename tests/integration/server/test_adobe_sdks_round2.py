"""Issue 18's acceptance: Adobe's own npm SDKs drive every route lampyris serves, on a live
server with files in a real S3 (Ceph), written to Adobe's contract and not to our code.

- ``@adobe/photoshop-apis`` 2.0.1: removeBackground, createMask, applyAutoCrop,
  createRendition (three outputs), applyDepthBlur and their statuses.
- ``@adobe/firefly-apis`` 2.0.1: upload, fillImage, expandImage, generateObjectComposite with
  its mask in ``image.mask``, generateImages and generateSimilarImages answering 501 in the
  SDK's ``ApiError``, and the wire errors as the SDK meets them: a fill without a mask (422),
  an operation lampyris does not serve (501), a key that is not the token's client (403).
- ``@adobe/lightroom-apis`` 1.0.0: every method, and its job status.

No npm SDK has a method for ``/v2/edit`` (Adobe's SDKs stop at ``/lrService/edit``, one output),
``/v2/remove-background``, ``/v1/auto-crop``, ``/v1/refine-mask``, ``/v1/fill-masked-areas``,
Firefly's ``-async`` routes with ``/v3/status`` and ``/v3/cancel``, or the legacy
``/v1/images/fill|expand``: those go through the same SDKs' request layer (their auth headers
and error handling), as a script calls a route its SDK lacks; the edit writes a JPEG and its
XMP sidecar in one job.

Each SDK's script runs once per module (its calls side by side); one test per call, so a
failure names the operation. Outputs are checked pixel by pixel and responses against Adobe's
OpenAPI schemas (read in place from ../shared/reference)."""

from __future__ import annotations

import io
import json
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from PIL import Image

from support import fill_scenes, node, s3
from support.adobe_schemas import Validator, schema_validator
from support.ceph import CephS3
from support.images import (
    assert_sane_cutout,
    dark_scene,
    mean_luminance,
    product_photo,
    tilted_scene,
)
from support.lampyris_server import LampyrisServer
from support.presets import GREY_PRESET

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
PS_V1 = "ffs-photoshop-API-photoshop_api@48b9683-with-sensei-and-v2-removebg.json"
PS_V2 = "ffs-photoshop-API-photoshopv2-api.json"
PS_PIE = "ffs-photoshop-API-photoshop_api.json"
FF_SDK = "sdkjs-FFApiOpenApi3.json"
FF_V3 = "ffs-firefly-api-firefly-api.json"
FF_V1 = "firefly-api-docs-openapi.json"
LR = "ffs-lightroom-API-lightroomapi.json"
PRODUCT_BOX = (slice(320, 400), slice(70, 170))  # fill_scenes.scene(2)'s blue box: the product


@dataclass
class Run:
    """What one SDK script printed (its calls by name) and where its files went."""

    calls: dict[str, Any]
    client: Any
    bucket: str

    def call(self, name: str) -> Any:
        value = self.calls[name]
        if isinstance(value, dict) and "error" in value:
            raise AssertionError(f"{name} threw: {value['error']}")
        return value

    def object(self, key: str) -> bytes:
        return s3.get_object(self.client, self.bucket, key)


def _run(script: str, server: LampyrisServer, env: dict[str, str]) -> dict[str, Any]:
    assert server.client is not None
    result = node.run_node(path=HERE / script, timeout=300, env={
        "LAMPYRIS_URL": server.url, "CLIENT_ID": server.client.client_id,
        "CLIENT_SECRET": server.client.client_secret, **env,
    }).check()
    return {line["name"]: line["value"] for line in map(json.loads, result.stdout.splitlines())}


def _bucket(ceph_s3: CephS3) -> tuple[Any, str]:
    client, name = s3.client_for(ceph_s3), f"sdk2-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(client, name)
    return client, name


def _pixels(data: bytes, mode: str = "RGB") -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert(mode))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian: the high-frequency energy a blur removes."""
    return float(cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


def _download(url: str) -> bytes:
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.content


def textured_product(width: int = 640, height: int = 480) -> bytes:
    """A red disc on a finely textured light backdrop (PNG): a blur shows on the backdrop."""
    rng = np.random.default_rng(18)
    img = np.full((height, width, 3), 214, np.uint8)
    img += rng.integers(0, 28, (height, width, 1), dtype=np.uint8)
    cv2.circle(img, (width // 2, height // 2), min(width, height) // 3, (200, 30, 30), -1)
    return fill_scenes.png(img)


def disc_mask(radius: int) -> np.ndarray:
    """A 640x480 mask of a disc at product_photo's subject's centre (its radius is 160)."""
    return cv2.circle(np.zeros((480, 640), np.uint8), (320, 240), radius, 255, -1)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


# -- @adobe/photoshop-apis ------------------------------------------------------------------

PS_OUTPUTS = {"CUTOUT_URL": "cutout.png", "MASK_URL": "mask.png", "CROP_URL": "crop.png",
              "REND_LARGE_URL": "rend_large.jpg", "REND_FULL_URL": "rend_full.png",
              "REND_SMALL_URL": "rend_small.jpg", "BLUR_URL": "blur.png",
              "EDIT_JPEG_URL": "edit.jpg", "EDIT_XMP_URL": "edit.xmp"}


@pytest.fixture(scope="module")
def photoshop(server: LampyrisServer, ceph_s3: CephS3, node_modules: Path) -> Run:
    client, bucket = _bucket(ceph_s3)
    inputs = {"IN_URL": ("in.jpg", product_photo()), "BLUR_IN_URL": ("blur_in.png",
              textured_product()), "EDIT_IN_URL": ("dark.jpg", dark_scene()),
              "ROUGH_URL": ("rough.png", fill_scenes.png(disc_mask(150))),
              "SCENE_URL": ("scene.png", fill_scenes.png(fill_scenes.scene(2))),
              "HOLE_URL": ("hole.png", fill_scenes.png(fill_scenes.hole_mask(2)))}
    env = {}
    for var, (key, data) in inputs.items():
        s3.put_object(client, bucket, key, data)
        env[var] = s3.presign_get(client, bucket, key)
    env |= {var: s3.presign_put(client, bucket, key) for var, key in PS_OUTPUTS.items()}
    return Run(_run("adobe_photoshop_round2.cjs", server, env), client, bucket)


@pytest.fixture(scope="module")
def ps_v1() -> Validator:
    return schema_validator(PS_V1)


@pytest.fixture(scope="module")
def ps_pie() -> Validator:
    return schema_validator(PS_PIE)


def _pie_succeeded(status: dict[str, Any], ps_pie: Validator) -> dict[str, Any]:
    """The one output entry of a finished psdService job, its body checked against the spec
    (``PsJobResponse`` is a oneOf of two bodies without required fields: the job one is
    checked)."""
    ps_pie("PsJobApiResponse", status)
    (output,) = status["outputs"]
    assert output["status"] == "succeeded", status
    return dict(output)


def test_remove_background(photoshop: Run, ps_v1: Validator) -> None:
    job = photoshop.call("removeBackground")
    ps_v1("SenseiJobApiResponse", job)
    assert job["status"] == "succeeded"
    assert_sane_cutout(photoshop.object("cutout.png"))


def test_create_mask(photoshop: Run, ps_v1: Validator) -> None:
    answer = photoshop.call("createMask")
    for body in (answer["job"], answer["status"]):
        ps_v1("SenseiJobApiResponse", body)
        assert body["status"] == "succeeded"
    assert answer["status"]["jobId"] == answer["job"]["jobId"]
    mask = Image.open(io.BytesIO(photoshop.object("mask.png")))
    values = np.asarray(mask)
    assert mask.mode == "L" and values[240, 320] == 255 and values[0, 0] == 0
    assert set(np.unique(values)) <= {0, 255}, "binary mask"


def test_apply_auto_crop(photoshop: Run, ps_pie: Validator) -> None:
    """The subject's box (the disc: 321 px square at the centre) with 40 x 20 px of padding
    in all, the photo's own pixels (Photoshop's product crop: trim to the subject, then grow
    the canvas by width x height, centred)."""
    output = _pie_succeeded(photoshop.call("applyAutoCrop"), ps_pie)
    assert [r["href"].split("?")[0] for r in output["_links"]["renditions"]] == [
        _href_for(photoshop, "crop.png")]
    crop = _pixels(photoshop.object("crop.png"))
    h, w = crop.shape[:2]
    assert abs(w - (321 + 40)) <= 12 and abs(h - (321 + 20)) <= 12, (w, h)
    photo = _pixels(product_photo())
    best = min(
        int(np.abs(crop.astype(int) - photo[y:y + h, x:x + w]).max())
        for y in range(240 - h // 2 - 6, 240 - h // 2 + 7)
        for x in range(320 - w // 2 - 6, 320 - w // 2 + 7)
    )
    assert best <= 2, "the crop is the photo's own pixels around the centred subject"


def _href_for(run: Run, key: str) -> str:
    """Where ``key`` lives in the run's bucket: the output href a status echoes, less its
    signature."""
    return str(s3.presign_put(run.client, run.bucket, key)).split("?")[0]


def test_create_rendition_three_outputs(photoshop: Run, ps_pie: Validator) -> None:
    answer = photoshop.call("createRendition")
    output = _pie_succeeded(answer["job"], ps_pie)
    _pie_succeeded(answer["status"], ps_pie)
    renditions = output["_links"]["renditions"]
    assert [r.get("type") for r in renditions] == ["image/jpeg", "image/png", "image/jpeg"]
    assert [r["href"].split("?")[0] for r in renditions] == [
        _href_for(photoshop, key) for key in ("rend_large.jpg", "rend_full.png", "rend_small.jpg")]
    photo = _pixels(product_photo())
    for key, fmt, width, tolerance in (("rend_large.jpg", "JPEG", 320, 4.0),
                                       ("rend_full.png", "PNG", 640, 0.0),
                                       ("rend_small.jpg", "JPEG", 160, 8.0)):
        data = photoshop.object(key)
        assert Image.open(io.BytesIO(data)).format == fmt, key
        got = _pixels(data)
        height = round(480 * width / 640)
        assert got.shape == (height, width, 3), key
        expected = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
        error = float(np.abs(got.astype(int) - expected).mean())
        assert error <= tolerance + 0.5, (key, error)


def test_apply_depth_blur(photoshop: Run, ps_pie: Validator) -> None:
    """No depth model: the subject (the disc) stays sharp, the textured backdrop is blurred."""
    _pie_succeeded(photoshop.call("applyDepthBlur"), ps_pie)
    before = _pixels(textured_product())
    after = _pixels(photoshop.object("blur.png"))
    assert after.shape == before.shape
    corners = [(slice(0, 80), slice(0, 80)), (slice(0, 80), slice(560, 640)),
               (slice(400, 480), slice(0, 80)), (slice(400, 480), slice(560, 640))]
    for rows, cols in corners:
        assert _sharpness(after[rows, cols]) < 0.25 * _sharpness(before[rows, cols])
    subject = (slice(170, 310), slice(250, 390))  # inside the disc (radius 160 at 320, 240)
    assert float(np.abs(after[subject].astype(int) - before[subject]).mean()) < 3


def test_v2_edit_with_jpeg_and_xmp_outputs(photoshop: Run) -> None:
    """/v2/edit through @adobe/photoshop-apis' request layer (no npm SDK has the method)."""
    answer = photoshop.call("v2Edit")
    v2 = schema_validator(PS_V2)
    v2("JobAcceptedResponse", answer["accepted"])
    status = answer["status"]
    assert status["status"] == "succeeded", status
    # The v2 spec types ``Result.outputs`` as an object; Adobe's status guide and examples show
    # the list it is: the body is checked without it, the list item by item below.
    v2("JobStatusResponse", {**status, "result": {
        k: v for k, v in status["result"].items() if k != "outputs"}})
    outputs = status["result"]["outputs"]
    assert [o["mediaType"] for o in outputs] == ["image/jpeg", "application/rdf+xml"]
    jpeg = photoshop.object("edit.jpg")
    assert Image.open(io.BytesIO(jpeg)).format == "JPEG"
    assert mean_luminance(jpeg) > 1.5 * mean_luminance(dark_scene()), "one stop brighter"
    xmp = photoshop.object("edit.xmp").decode()
    ET.fromstring(xmp)  # well-formed
    assert re.search(r'crs:Exposure2012="\+1\.00"', xmp), xmp
    assert re.search(r'crs:Contrast2012="\+10"', xmp), xmp


def test_v2_remove_background(photoshop: Run, ps_v1: Validator) -> None:
    answer = photoshop.call("v2RemoveBackground")
    ps_v1("JobLinkResponse", answer["accepted"])
    status = answer["status"]
    ps_v1("JobStatusSucceededResponse", status)
    (output,) = status["result"]["outputs"]
    assert output["mediaType"] == "image/png"
    assert_sane_cutout(_download(output["destination"]["url"]))


def test_v1_auto_crop(photoshop: Run) -> None:
    """Photoshop v2's auto crop (status on /v2/status): one crop per aspect ratio around the
    subject, each image the photo's own pixels in its box."""
    answer = photoshop.call("autoCrop")
    v2 = schema_validator(PS_V2)
    v2("JobAcceptedResponse", answer["accepted"])
    status = answer["status"]
    assert status["status"] == "succeeded", status
    result = status["result"]["outputs"]
    v2("AutoCropOutput", result)
    photo = _pixels(product_photo())
    (subject,) = result["subject"][0]["boundingBoxes"]
    assert abs(subject["x"] - 160) <= 12 and abs(subject["width"] - 321) <= 24, subject
    for crop, ratio in zip(result["crops"], (1.0, 16 / 9), strict=True):
        (box,) = crop["boundingBoxes"]
        x, y, w, h = (int(box[k]) for k in ("x", "y", "width", "height"))
        assert abs(w / h - ratio) < 0.02 and x <= 320 <= x + w and y <= 240 <= y + h, box
        image = _pixels(_download(box["url"]))
        assert image.shape[:2] == (h, w)
        assert float(np.abs(image.astype(int) - photo[y:y + h, x:x + w]).mean()) < 3


def test_v1_refine_mask(photoshop: Run, ps_pie: Validator) -> None:
    """A rough mask 10 px inside the disc's edge comes back following the photo's edge."""
    answer = photoshop.call("refineMask")
    ps_pie("JobLinkResponse", answer["accepted"])
    status = answer["status"]
    ps_pie("JobStatusSucceeded", status)
    refined = _pixels(_download(status["mask"]["destination"]["url"]), "L") > 127
    truth, rough = disc_mask(160) > 0, disc_mask(150) > 0
    assert _iou(refined, truth) > 0.97 > _iou(rough, truth), _iou(refined, truth)


def test_v1_fill_masked_areas(photoshop: Run, ps_pie: Validator) -> None:
    answer = photoshop.call("fillMaskedAreas")
    ps_pie("JobLinkResponse", answer["accepted"])
    status = answer["status"]
    ps_pie("JobStatusSucceeded", status)
    out = _pixels(_download(status["image"]["destination"]["url"]))
    scene, mask = fill_scenes.scene(2), fill_scenes.hole_mask(2)
    assert np.array_equal(out[mask == 0], scene[mask == 0]), "outside the masks: the input"
    hole = fill_scenes.hole(2)
    box = ((out[hole].astype(int) - (40, 90, 160)) ** 2).sum(axis=2) < 40**2
    assert box.mean() < 0.01, "the blue box is removed"


# -- @adobe/firefly-apis --------------------------------------------------------------------


@pytest.fixture(scope="module")
def firefly(server: LampyrisServer, node_modules: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("firefly-round2")
    product = np.full((480, 640), 255, np.uint8)
    product[PRODUCT_BOX] = 0  # black = the product (the blue box), white = the scene to make
    files = {"PHOTO": fill_scenes.scene(2), "MASK": fill_scenes.hole_mask(2),
             "PRODUCT_MASK": product}
    other = server.add_client("sdk-round2-other")
    env = {"WIDTH": "640", "HEIGHT": "480", "OTHER_TOKEN": server.token(other)}
    for name, pixels in files.items():
        path = folder / f"{name.lower()}.png"
        path.write_bytes(fill_scenes.png(pixels))
        env[name] = str(path)
    return Run(_run("adobe_firefly_round2.cjs", server, env), None, "")


@pytest.fixture(scope="module")
def ff_sdk() -> Validator:
    return schema_validator(FF_SDK)


def test_firefly_upload(firefly: Run, ff_sdk: Validator) -> None:
    uploads = firefly.call("upload")
    ids = set()
    for body in uploads.values():
        ff_sdk("UploadResponse", body)
        ids.add(body["images"][0]["id"])
    assert len(ids) == 3


def test_fill_image_is_jpeg_and_keeps_the_unmasked_photo(firefly: Run, ff_sdk: Validator
                                                          ) -> None:
    fill = firefly.call("fillImage")
    ff_sdk("FillImageResponse", fill)
    assert fill["size"] == {"width": 640, "height": 480}
    (output,) = fill["outputs"]
    assert output["seed"] == 11
    data = _download(output["image"]["url"])
    assert data[:3] == b"\xff\xd8\xff", "Firefly's results are JPEG"
    out, scene, mask = _pixels(data), fill_scenes.scene(2), fill_scenes.hole_mask(2)
    assert out.shape == scene.shape
    assert _psnr(out[mask == 0], scene[mask == 0]) >= 45
    hole = fill_scenes.hole(2)
    box = ((out[hole].astype(int) - (40, 90, 160)) ** 2).sum(axis=2) < 40**2
    assert box.mean() < 0.01, "the blue box is filled over"


def test_expand_image_places_the_photo(firefly: Run, ff_sdk: Validator) -> None:
    expand = firefly.call("expandImage")
    ff_sdk("ExpandImageResponse", expand)
    assert expand["size"] == {"width": 960, "height": 720}
    (output,) = expand["outputs"]
    data = _download(output["image"]["url"])
    assert data[:3] == b"\xff\xd8\xff"
    out = _pixels(data)
    assert out.shape == (720, 960, 3)
    assert _psnr(out[:480, :640], fill_scenes.scene(2)) >= 45, "placed top-left, kept"
    assert out[480:, 640:].std() > 0, "generated, not left empty"


def test_object_composite_follows_image_mask(firefly: Run, ff_sdk: Validator) -> None:
    """The mask in ``image.mask`` makes the blue box the product: the red disc, which the
    cutout model would pick from the opaque photo without a mask, is not in the scene."""
    composite = firefly.call("generateObjectComposite")
    ff_sdk("GenerateObjectCompositeResponse", composite)
    assert composite["size"] == {"width": 800, "height": 800}
    (output,) = composite["outputs"]
    _assert_the_box_is_the_product(_pixels(_download(output["image"]["url"])))


def _assert_the_box_is_the_product(out: np.ndarray) -> None:
    """The blue box (the mask's product) is in the scene, the red disc is not."""
    assert out.shape == (800, 800, 3)
    pixels = out.astype(int)
    blue = (np.abs(pixels - (40, 90, 160)) <= 24).all(axis=2).sum()
    red = (np.abs(pixels - (190, 40, 40)) <= 24).all(axis=2).sum()
    assert blue > 0.5 * 100 * 80 and red < 0.02 * blue, (blue, red)


def test_generate_images_answers_501_unconfigured(firefly: Run, ff_sdk: Validator) -> None:
    answer = firefly.calls["generateImages"]
    assert "error" in answer, f"generateImages succeeded without a model: {answer}"
    error = answer["error"]
    assert error["name"] == "ApiError" and error["apiError"] is True, error
    assert error["status"] == 501
    ff_sdk("ApiError", error["body"])
    assert error["body"]["error_code"] == "not_implemented"
    assert re.search(r"LAMPYRIS_[A-Z_]+", error["body"]["message"]), "names the setting"


def _api_error(run: Run, name: str, status: int) -> dict[str, Any]:
    """The SDK's ``ApiError`` a call threw, with its HTTP status and a JSON body."""
    answer = run.calls[name]
    assert "error" in answer, f"{name} succeeded: {answer}"
    error = answer["error"]
    assert error["name"] == "ApiError" and error["apiError"] is True, error
    assert error["status"] == status, error
    assert isinstance(error["body"], dict), "a JSON body (the SDK parses application/json)"
    return dict(error["body"])


@pytest.fixture(scope="module")
def ff_v3() -> Validator:
    return schema_validator(FF_V3)


def _job_payload(ff_v3: Validator, status: dict[str, Any]) -> None:
    """A ``/v3/status`` body against its branch of ``JobResponse`` (a oneOf whose branches
    overlap, so the discriminator's branch is named)."""
    ff_v3("JobSucceededPayload" if status["status"] == "succeeded" else "JobPollPayload",
          status)


def test_fill_async_status_and_link(firefly: Run, ff_v3: Validator) -> None:
    answer = firefly.call("fillAsync")
    ff_v3("AsyncAcceptResponseV3", answer["accepted"])
    assert answer["accepted"]["statusUrl"] in answer["link"], answer["link"]
    status = answer["status"]
    _job_payload(ff_v3, status)
    assert status["status"] == "succeeded" and status["jobId"] == answer["accepted"]["jobId"]
    (output,) = status["result"]["outputs"]
    data = _download(output["image"]["url"])
    assert data[:3] == b"\xff\xd8\xff"
    out, scene, mask = _pixels(data), fill_scenes.scene(2), fill_scenes.hole_mask(2)
    assert _psnr(out[mask == 0], scene[mask == 0]) >= 45


def test_object_composite_async_follows_its_mask(firefly: Run, ff_v3: Validator) -> None:
    answer = firefly.call("compositeAsync")
    status = answer["status"]
    _job_payload(ff_v3, status)
    (output,) = status["result"]["outputs"]
    _assert_the_box_is_the_product(_pixels(_download(output["image"]["url"])))


def test_cancel(firefly: Run, ff_v3: Validator) -> None:
    """Cancelled while pending or running (200, the job ends ``cancelled``), or it had already
    finished (409 ``job_completed``)."""
    answer = firefly.call("cancel")
    cancelled, status = answer["cancelled"], answer["status"]
    _job_payload(ff_v3, status)
    if cancelled["status"] == 200:
        assert status["status"] == "cancelled", status
    else:
        assert cancelled["status"] == 409, cancelled
        assert cancelled["body"]["error_code"] == "job_completed"
        assert status["status"] == "succeeded"


@pytest.mark.parametrize("name", ["generateAsync", "generateSimilarImages",
                                  "generateSimilarAsync"])
def test_generate_forms_answer_501_unconfigured(firefly: Run, ff_sdk: Validator, name: str
                                                ) -> None:
    body = _api_error(firefly, name, 501)
    ff_sdk("ApiError", body)
    assert body["error_code"] == "not_implemented"
    assert re.search(r"LAMPYRIS_[A-Z_]+", body["message"]), "names the setting"


@pytest.fixture(scope="module")
def ff_v1() -> Validator:
    return schema_validator(FF_V1)


def _legacy_image(answer: dict[str, Any], ff_v1: Validator, size: tuple[int, int]
                  ) -> np.ndarray:
    ff_v1("ImageGenerativeResponse", answer)
    assert answer["size"] == {"width": size[0], "height": size[1]}
    (image,) = answer["images"]
    data = _download(image["image"]["presignedUrl"])
    assert data[:3] == b"\xff\xd8\xff", "x-accept-mimetype: image/jpeg"
    pixels = _pixels(data)
    assert pixels.shape == (size[1], size[0], 3)
    return pixels


def test_legacy_v1_fill(firefly: Run, ff_v1: Validator) -> None:
    """v1 fill at one of v1's sizes: the photo scaled to it, the blue box filled over."""
    out = _legacy_image(firefly.call("legacyFill"), ff_v1, (1408, 1024))
    scaled = cv2.resize(fill_scenes.scene(2), (1408, 1024), interpolation=cv2.INTER_AREA)
    top = (slice(0, 600), slice(None))  # far from the hole
    assert float(np.abs(out[top].astype(int) - scaled[top]).mean()) < 6
    box = (slice(700, 840), slice(170, 360))  # inside the scaled blue box
    blue = ((out[box].astype(int) - (40, 90, 160)) ** 2).sum(axis=2) < 40**2
    assert blue.mean() < 0.01


def test_legacy_v1_expand(firefly: Run, ff_v1: Validator) -> None:
    """v1 expand: the photo, unscaled, somewhere on the larger canvas, and the rest made."""
    out = _legacy_image(firefly.call("legacyExpand"), ff_v1, (1024, 1024))
    match = cv2.matchTemplate(out, fill_scenes.scene(2), cv2.TM_CCOEFF_NORMED)
    _, best, _, (x, y) = cv2.minMaxLoc(match)
    assert best > 0.95, best
    assert _psnr(out[y:y + 480, x:x + 640], fill_scenes.scene(2)) >= 40
    assert out.std() > 0


def test_fill_without_a_mask_is_422(firefly: Run, ff_sdk: Validator) -> None:
    body = _api_error(firefly, "fillWithoutMask", 422)
    ff_sdk("ApiError", body)
    assert body["error_code"] == "validation_error"
    assert any(e["loc"][0] == "body" and "mask" in e["loc"] for e in body["validation_errors"])


def test_an_unserved_operation_is_501(firefly: Run, ff_sdk: Validator) -> None:
    body = _api_error(firefly, "generateVideoV3", 501)
    ff_sdk("ApiError", body)
    assert body["error_code"] == "not_implemented"
    assert "/v3/videos/generate" in body["message"]


def test_a_key_that_is_not_the_tokens_is_403(firefly: Run) -> None:
    """Adobe's gateway: 403 ``403003``, not the 401 that makes a client refresh its token."""
    body = _api_error(firefly, "keyMismatch", 403)
    assert body["error_code"] == "403003"


# -- @adobe/lightroom-apis ------------------------------------------------------------------

LR_OUTPUTS = {"TONE_URL": "tone.jpg", "LEVEL_URL": "level.jpg", "EDIT_URL": "edit.jpg",
              "PRESET_OUT_URL": "preset.png", "XMP_OUT_URL": "xmp.png"}


@pytest.fixture(scope="module")
def lightroom(server: LampyrisServer, ceph_s3: CephS3, node_modules: Path) -> Run:
    client, bucket = _bucket(ceph_s3)
    inputs = {"DARK_URL": ("dark.jpg", dark_scene()), "TILT_URL": ("tilted.jpg", tilted_scene()),
              "PRESET_URL": ("grey.xmp", GREY_PRESET.encode())}
    env = {"ACCESS_TOKEN": server.token(), "XMP": GREY_PRESET}
    for var, (key, data) in inputs.items():
        s3.put_object(client, bucket, key, data)
        env[var] = s3.presign_get(client, bucket, key)
    env |= {var: s3.presign_put(client, bucket, key) for var, key in LR_OUTPUTS.items()}
    return Run(_run("adobe_lightroom_round2.cjs", server, env), client, bucket)


@pytest.mark.parametrize("method", ["applyAutoTone", "autoStraightenImage", "applyEdits",
                                    "applyPreset", "applyPresetFromXmpContent"])
def test_lightroom_method(lightroom: Run, method: str) -> None:
    lr = schema_validator(LR)
    answer = lightroom.call(method)
    bodies = [answer["job"], answer["status"]] if "status" in answer else [answer]
    for body in bodies:
        lr("LrJobApiResponse", body)
        assert body["outputs"][0]["status"] == "succeeded", body
    dark = mean_luminance(dark_scene())
    if method in ("applyAutoTone", "applyEdits"):
        key = "tone.jpg" if method == "applyAutoTone" else "edit.jpg"
        assert mean_luminance(lightroom.object(key)) > 1.5 * dark
    elif method == "autoStraightenImage":
        level = Image.open(io.BytesIO(lightroom.object("level.jpg")))
        assert level.size[0] < 480 and level.size[1] < 360, "straightened and cropped"
    else:
        key = "preset.png" if method == "applyPreset" else "xmp.png"
        grey = _pixels(lightroom.object(key)).astype(int)
        assert np.ptp(grey, axis=2).max() <= 2, f"{key} has the grey preset"
