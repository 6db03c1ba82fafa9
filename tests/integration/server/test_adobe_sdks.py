"""Adobe's own npm SDKs against a live server, with the documented base-URL overrides:
@adobe/photoshop-apis (removeBackground, createMask, job status), @adobe/lightroom-apis 1.0.0
(every develop route, job status, and its default base's ``//lrService`` paths) and
@adobe/aio-lib-photoshop-api (createCutout, createMask and its Lightroom calls). Files land in a
real S3 (Ceph)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from support import node, s3
from support.ceph import CephS3
from support.images import assert_sane_cutout, dark_scene, mean_luminance, tilted_scene
from support.lampyris_server import LampyrisServer
from support.presets import GREY_PRESET

SCRIPT = Path(__file__).with_name("adobe_photoshop_sdks.cjs")
LIGHTROOM_SCRIPT = Path(__file__).with_name("adobe_lightroom_sdks.cjs")


def test_photoshop_sdks_remove_background_and_masks(
    server: LampyrisServer, ceph_s3: CephS3, s3_bucket: str, photo: bytes, node_modules: Path
):
    client = s3.client_for(ceph_s3)
    s3.put_object(client, s3_bucket, "in.jpg", photo, content_type="image/jpeg")
    put = {name: s3.presign_put(client, s3_bucket, f"{name}.png")
           for name in ("cutout", "mask", "aio_cutout", "aio_mask")}
    assert server.client is not None
    result = node.run_node(path=SCRIPT, timeout=180, env={
        "LAMPYRIS_URL": server.url,
        "CLIENT_ID": server.client.client_id, "CLIENT_SECRET": server.client.client_secret,
        "ACCESS_TOKEN": server.token(),
        "IN_URL": s3.presign_get(client, s3_bucket, "in.jpg"),
        "CUTOUT_URL": put["cutout"], "MASK_URL": put["mask"],
        "AIO_CUTOUT_URL": put["aio_cutout"], "AIO_MASK_URL": put["aio_mask"],
    }).check()
    lines = {line["name"]: line["value"] for line in map(json.loads, result.stdout.splitlines())}

    assert lines["removeBackground"]["status"] == "succeeded"
    assert lines["createMask"]["status"] == "succeeded"
    assert lines["senseiJobStatus"]["jobId"] == lines["createMask"]["jobId"]
    assert lines["senseiJobStatus"]["status"] == "succeeded"
    assert lines["createCutout"]["outputs"][0]["status"] == "succeeded"
    assert lines["aio.createMask"]["outputs"][0]["status"] == "succeeded"

    assert_sane_cutout(s3.get_object(client, s3_bucket, "cutout.png"))
    assert_sane_cutout(s3.get_object(client, s3_bucket, "aio_cutout.png"))
    for name, binary in (("mask", True), ("aio_mask", False)):
        mask = Image.open(io.BytesIO(s3.get_object(client, s3_bucket, f"{name}.png")))
        values = np.asarray(mask)
        assert mask.mode == "L" and values[240, 320] == 255 and values[0, 0] == 0
        assert (set(np.unique(values)) <= {0, 255}) == binary


def test_lightroom_sdks_develop_routes(
    server: LampyrisServer, ceph_s3: CephS3, s3_bucket: str, node_modules: Path
):
    client = s3.client_for(ceph_s3)
    dark = dark_scene()
    for key, data in (("dark.jpg", dark), ("tilted.jpg", tilted_scene(angle=4.0)),
                      ("grey.xmp", GREY_PRESET.encode())):
        s3.put_object(client, s3_bucket, key, data)
    names = {"PUT_TONE": "tone.jpg", "PUT_LEVEL": "level.jpg", "PUT_EDIT": "edit.jpg",
             "PUT_PRESET": "preset.png", "PUT_XMP": "xmp.png", "PUT_DEFAULT": "default.jpg",
             "AIO_TONE": "aio_tone.jpg", "AIO_LEVEL": "aio_level.jpg",
             "AIO_EDIT": "aio_edit.jpg", "AIO_PRESET": "aio_preset.png", "AIO_XMP": "aio_xmp.png"}
    assert server.client is not None
    result = node.run_node(path=LIGHTROOM_SCRIPT, timeout=180, env={
        "LAMPYRIS_URL": server.url, "CLIENT_ID": server.client.client_id,
        "ACCESS_TOKEN": server.token(), "XMP": GREY_PRESET,
        "IN_URL": s3.presign_get(client, s3_bucket, "dark.jpg"),
        "TILT_URL": s3.presign_get(client, s3_bucket, "tilted.jpg"),
        "PRESET_URL": s3.presign_get(client, s3_bucket, "grey.xmp"),
        **{var: s3.presign_put(client, s3_bucket, key) for var, key in names.items()},
    }).check()
    lines = {line["name"]: line["value"] for line in map(json.loads, result.stdout.splitlines())}

    for name in ("applyAutoTone", "autoStraightenImage", "applyEdits", "applyPreset",
                 "applyPresetFromXmpContent"):
        assert lines[name]["outputs"][0]["status"] == "succeeded", lines[name]
    assert lines["lrJobStatus"]["jobId"] == lines["applyAutoTone"]["jobId"]
    assert lines["applyEdits"]["outputs"][0]["lampyris"]["settings"] == {
        "exposure": 1.0, "contrast": 10.0}
    default = lines["defaultBase"]
    assert default["result"]["outputs"][0]["status"] == "succeeded"
    assert "POST //lrService/autoTone" in default["paths"]
    assert any(p.startswith("GET //lrService/status/") for p in default["paths"])
    for name in ("autoTone", "straighten", "editPhoto", "applyPreset", "applyPresetXmp"):
        assert lines[f"aio.{name}"]["outputs"][0]["status"] == "succeeded", lines[f"aio.{name}"]

    before = mean_luminance(dark)
    for key in ("tone.jpg", "edit.jpg", "default.jpg", "aio_tone.jpg", "aio_edit.jpg"):
        assert mean_luminance(s3.get_object(client, s3_bucket, key)) > 1.5 * before, key
    for key in ("level.jpg", "aio_level.jpg"):
        size = Image.open(io.BytesIO(s3.get_object(client, s3_bucket, key))).size
        assert size[0] < 480 and size[1] < 360, f"{key} is straightened and cropped"
    for key in ("preset.png", "xmp.png", "aio_preset.png", "aio_xmp.png"):
        grey = np.asarray(Image.open(io.BytesIO(s3.get_object(client, s3_bucket, key))))
        assert np.ptp(grey.astype(int), axis=2).max() <= 2, f"{key} has the grey preset"
