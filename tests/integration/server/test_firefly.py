"""Firefly's fill, expand and object-composite routes against a live server: Adobe's own
@adobe/firefly-apis SDK (upload + the synchronous calls), the async route with the seed
workflow's request shape (image and mask by pre-signed URL on a real S3), and the diffusion
engine in the server's worker processes. Pixels are checked: outside the mask every output
is its input within 45 dB PSNR (Firefly's JPEG, the default) or exactly (the ``lampyris``
PNG extension); an async fill without ``size`` keeps the input's size.

The route logic (async expand and composite, seeds, status, cancel of a pending and a running
job, expired and unknown uploads, wrong-size masks, invalid fields, a fill refused by its
fidelity guard) is tested in process, faster: tests/unit/api/test_routes_firefly_inprocess.py;
concurrent cancels on a live server: test_cancel_races.py."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from support import fill_scenes, node, s3
from support.ceph import CephS3
from support.fill_scenes import decoded, is_jpeg, kept_psnr, png
from support.lampyris_server import LampyrisServer, running_server

SCRIPT = Path(__file__).with_name("adobe_firefly_sdks.cjs")
HOLE = fill_scenes.hole(2)  # rows, cols of the fill mask: a corner object


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return fill_scenes.scene(2)


@pytest.fixture(scope="module")
def hole_mask() -> np.ndarray:
    return fill_scenes.hole_mask(2)


@pytest.fixture(scope="module")
def cutout() -> np.ndarray:
    return fill_scenes.cutout(2)


def _outside_equal(original: np.ndarray, output: np.ndarray, mask: np.ndarray) -> bool:
    return bool((original[mask == 0] == output[mask == 0]).all())


def _download(url: str) -> bytes:
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.content


def _upload(server: LampyrisServer, data: bytes, kind: str = "image/png") -> str:
    answer = httpx.post(f"{server.url}/v2/storage/image", content=data,
                        headers={**server.headers(), "Content-Type": kind}, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["images"][0]["id"])


def _wait(server: LampyrisServer, status_url: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(status_url, headers=server.headers(), timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        body: dict[str, Any] = answer.json()
        if body["status"] not in ("pending", "running", "cancel_pending"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


def test_firefly_sdk_upload_fill_expand_composite(
    server: LampyrisServer, node_modules: Path, tmp_path: Path,
    scene: np.ndarray, hole_mask: np.ndarray, cutout: np.ndarray,
):
    files = {"PHOTO": scene, "MASK": hole_mask, "CUTOUT": cutout}
    env = {"LAMPYRIS_URL": server.url}
    for name, pixels in files.items():
        path = tmp_path / f"{name.lower()}.png"
        path.write_bytes(png(pixels))
        env[name] = str(path)
    assert server.client is not None
    env |= {"CLIENT_ID": server.client.client_id, "CLIENT_SECRET": server.client.client_secret}
    result = node.run_node(path=SCRIPT, timeout=240, env=env).check()
    lines = {line["name"]: line["value"] for line in map(json.loads, result.stdout.splitlines())}

    ids = lines["upload"]
    assert len(set(ids.values())) == 3 and all(len(i) == 36 for i in ids.values())

    fill = lines["fillImage"]
    assert fill["size"] == {"width": 640, "height": 480}
    assert [o["seed"] for o in fill["outputs"]] == [11, 12]
    files = [_download(o["image"]["url"]) for o in fill["outputs"]]
    assert all(is_jpeg(f) for f in files), "Firefly's JPEG, as the SDK's users expect"
    filled = [decoded(f) for f in files]
    for out, meta in zip(filled, fill["outputs"], strict=True):
        assert out.shape == scene.shape
        assert kept_psnr(scene, out, hole_mask) >= 45
        assert meta["lampyris"]["engine"] == "patch"  # a hole inside a picture
        assert meta["lampyris"]["fidelity"] == {"held": True, "changedOutside": 0,
                                                "maxDifferenceOutside": 0}
        # The blue box is gone: the hole now looks like the grey around it.
        box = (out[HOLE].astype(int) - (40, 90, 160)) ** 2
        assert (box.sum(axis=2) < 40**2).mean() < 0.01 and abs(out[HOLE].mean() - 233) < 10
    assert not np.array_equal(filled[0], filled[1]), "two seeds, two variations"

    expand = lines["expandImage"]
    assert expand["size"] == {"width": 960, "height": 720}
    (expanded,) = [decoded(_download(o["image"]["url"])) for o in expand["outputs"]]
    assert expanded.shape == (720, 960, 3)
    # placed top-left, untouched but for the JPEG
    assert kept_psnr(scene, expanded[:480, :640], np.zeros(scene.shape[:2])) >= 45
    assert expanded[480:, 640:].std() > 0  # generated, not left empty

    composite = lines["generateObjectComposite"]
    assert composite["size"] == {"width": 800, "height": 800}
    assert composite["contentClass"] == "photo"
    (placed,) = composite["outputs"]
    assert placed["lampyris"]["engine"] == "studio"
    assert placed["lampyris"]["fidelity"]["held"] is True
    scene_out = decoded(_download(placed["image"]["url"]))
    assert scene_out.shape == (800, 800, 3)
    red = np.abs(scene_out.astype(int) - (190, 40, 40)).max(axis=2) <= 6
    assert red.sum() > 0.9 * np.pi * 130**2 * 0.5  # the product, scaled, colours kept

    refused = lines["unknownUpload"]
    assert refused["thrown"] is True and refused["status"] == 400
    assert refused["body"]["validation_errors"][0]["loc"][0] == "body"
    assert refused["body"]["error_code"] == "validation_error"
    assert "unknown upload id" in refused["body"]["message"]


def test_async_fill_with_the_seed_request_shape(
    server: LampyrisServer, ceph_s3: CephS3, s3_bucket: str,
    scene: np.ndarray, hole_mask: np.ndarray,
):
    client = s3.client_for(ceph_s3)
    s3.put_object(client, s3_bucket, "photo.png", png(scene), content_type="image/png")
    s3.put_object(client, s3_bucket, "mask.png", png(hole_mask), content_type="image/png")
    body = {  # the seed workflow's fill-async body, verbatim but for the URLs
        "prompt": "string",
        "image": {"source": {"url": s3.presign_get(client, s3_bucket, "photo.png")}},
        "mask": {"source": {"url": s3.presign_get(client, s3_bucket, "mask.png")}},
    }
    accepted = server.post("/v3/images/fill-async", body)
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    assert set(job) == {"jobId", "statusUrl", "cancelUrl"}
    assert job["jobId"].startswith("urn:ff:jobs:")
    assert job["statusUrl"] == f"{server.url}/v3/status/{job['jobId']}"
    assert job["cancelUrl"] == f"{server.url}/v3/cancel/{job['jobId']}"
    assert job["statusUrl"] in accepted.headers["link"]

    status = _wait(server, job["statusUrl"])
    assert status["status"] == "succeeded", status
    assert status["jobId"] == job["jobId"]
    # no size: the input's (a product photo is never stretched to a square)
    assert status["result"]["size"] == {"width": scene.shape[1], "height": scene.shape[0]}
    (output,) = status["result"]["outputs"]
    assert isinstance(output["seed"], int)
    out = decoded(_download(output["image"]["url"]))
    near_hole = cv2.dilate(hole_mask, np.ones((5, 5), np.uint8))
    assert kept_psnr(scene, out, near_hole) >= 45
    assert np.abs(out[HOLE].astype(int) - scene[HOLE]).max() > 50, "the box was filled"

    # The status sends the Link header of the 202, and the PNG extension gives exact pixels.
    assert again_link(server, job["statusUrl"]) == accepted.headers["link"]
    exact = server.post("/v3/images/fill", {**body, "lampyris": {"format": "png"},
                                            "size": {"width": 640, "height": 480}})
    assert exact.status_code == 200, exact.text
    png_out = _download(exact.json()["outputs"][0]["image"]["url"])
    assert not is_jpeg(png_out) and _outside_equal(scene, decoded(png_out), hole_mask)

    # The status also answers to the bare id after the URN prefix.
    bare = job["jobId"].rsplit(":", 1)[-1]
    again = httpx.get(f"{server.url}/v3/status/{bare}", headers=server.headers())
    assert again.status_code == 200 and again.json()["jobId"] == job["jobId"]


def again_link(server: LampyrisServer, status_url: str) -> str:
    answer = httpx.get(status_url, headers=server.headers(), timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.headers["link"]


def test_diffusion_engine_served_from_local_weights(
    tmp_path: Path, scene: np.ndarray, hole_mask: np.ndarray
):
    """The diffusion engine in the server's worker processes, on a tiny randomly initialised
    pipeline saved to disk (no weights can be downloaded here; a GPU is not available, so this
    runs the CPU path)."""
    pytest.importorskip("diffusers")
    from support.tiny_diffusion import build_tiny_inpaint_pipeline

    model = build_tiny_inpaint_pipeline(tmp_path / "tiny-inpaint")
    with running_server("lampyris-diffusion-", workers=1, env={
            "LAMPYRIS_DIFFUSION_MODEL": str(model), "LAMPYRIS_DIFFUSION_STEPS": "2",
            "LAMPYRIS_FILL_ENGINE": "diffusion"}) as live:
        photo, mask = _upload(live, png(scene)), _upload(live, png(hole_mask))
        body = {"prompt": "a wooden floor", "negativePrompt": "blurry", "seeds": [7, 8],
                "image": {"source": {"uploadId": photo}, "mask": {"uploadId": mask}},
                "lampyris": {"format": "png"}}  # exact pixels, for the guard's check
        answer = live.post("/v3/images/fill", body)
        assert answer.status_code == 200, answer.text
        outputs = answer.json()["outputs"]
        assert [o["lampyris"]["engine"] for o in outputs] == ["diffusion", "diffusion"]
        first, second = (decoded(_download(o["image"]["url"])) for o in outputs)
        for out in (first, second):
            assert _outside_equal(scene, out, hole_mask)
        assert not np.array_equal(first, second)
        again = live.post("/v3/images/fill", {**body, "seeds": [7]})
        assert np.array_equal(decoded(_download(again.json()["outputs"][0]["image"]["url"])),
                              first)
