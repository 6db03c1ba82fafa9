"""Adobe's own npm SDKs against a live server, with the documented base-URL overrides:
@adobe/photoshop-apis (removeBackground, createMask, job status) and
@adobe/aio-lib-photoshop-api (createCutout, createMask). Files land in a real S3 (Ceph)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from support import node, s3
from support.ceph import CephS3
from support.images import assert_sane_cutout
from support.lampyris_server import LampyrisServer

SCRIPT = Path(__file__).with_name("adobe_photoshop_sdks.cjs")


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
