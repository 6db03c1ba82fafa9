"""lampyris' Python ``PhotoshopClient`` on Photoshop's masking v1 routes against a live
``lampyris serve``: ``refine_mask`` and ``fill_masked_areas`` submitted from pre-signed S3 URLs
(Ceph) and upload ids, waited on at ``/v1/status``, their hosted results downloaded and
checked by pixel; a body the server refuses and a job that fails, as the client raises them.

The routes' own bodies, against Adobe's spec, are tested in process:
tests/unit/api/test_routes_masking_inprocess.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from lampyris.client import (
    FireflyClient,
    JobFailedError,
    PhotoshopClient,
    RequestRejectedError,
)
from support import s3
from support.ceph import CephS3
from support.fill_scenes import decoded, hole_mask, png, scene
from support.lampyris_server import LampyrisServer
from support.mask_scenes import edge_error, rough_mask, wavy_subject


@pytest.fixture
def ps(server: LampyrisServer) -> Iterator[PhotoshopClient]:
    with PhotoshopClient(server.client.client_id, server.client.client_secret,
                         base_url=server.url, ims_url=server.url) as client:
        yield client


@pytest.fixture
def ff(server: LampyrisServer) -> Iterator[FireflyClient]:
    """For uploads: ``/v2/storage/image`` ids are what ``*_upload_id`` take."""
    with FireflyClient(server.client.client_id, server.client.client_secret,
                       base_url=server.url, ims_url=server.url) as client:
        yield client


@pytest.fixture
def bucket(ceph_s3: CephS3, s3_bucket: str) -> dict[str, Any]:
    return {"client": s3.client_for(ceph_s3), "name": s3_bucket}


def _put(bucket: dict[str, Any], key: str, pixels: np.ndarray) -> str:
    """``pixels`` as a PNG object; its pre-signed GET URL."""
    s3.put_object(bucket["client"], bucket["name"], key, png(pixels), content_type="image/png")
    return s3.presign_get(bucket["client"], bucket["name"], key)


def _box_mask() -> np.ndarray:
    """White over the scene's red disc: the second area to remove."""
    mask = np.zeros((240, 320), np.uint8)
    mask[40:180, 120:260] = 255
    return mask


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_refine_mask_follows_the_true_edge(ps: PhotoshopClient, bucket: dict[str, Any]) -> None:
    photo, alpha = wavy_subject()
    rough = rough_mask(alpha)
    ref = ps.refine_mask(_put(bucket, "subject.png", photo), _put(bucket, "rough.png", rough))
    assert ref.status_url == f"{ps.base_url}/v1/status/{ref.job_id}"
    job = ps.wait(ref, timeout=120)
    assert job.succeeded and len(job.outputs) == 1
    assert ps.masking_status(ref.job_id).outputs == job.outputs
    assert job.body["mask"]["mediaType"] == "image/png"

    refined = decoded(ps.download(job.outputs[0]))
    assert refined.shape == alpha.shape
    truth = alpha > 0.5
    before, after = edge_error(rough, alpha), edge_error(refined, alpha)
    assert after < before / 4, f"edge MAE {before:.3f} -> {after:.3f}"
    assert _iou(refined > 127, truth) > max(0.98, _iou(rough > 127, truth)), (
        _iou(rough > 127, truth), _iou(refined > 127, truth))


def test_refine_mask_from_uploads_decontaminated(ps: PhotoshopClient, ff: FireflyClient) -> None:
    photo, alpha = wavy_subject(seed=3)
    image = ff.upload(png(photo), "image/png")
    mask = ff.upload(png(rough_mask(alpha)), "image/png")
    job = ps.wait(ps.refine_mask(image_upload_id=image, mask_upload_id=mask,
                                 color_decontamination=True, extensions={"radius": 12}),
                  timeout=120)
    assert job.body["image"]["lampyris"]["radius"] == 12 and "mask" not in job.body
    layer = decoded(ps.download(job.outputs[0]))
    assert layer.shape == (*alpha.shape, 4)
    assert edge_error(layer[..., 3], alpha) < edge_error(rough_mask(alpha), alpha) / 4


def test_fill_two_masked_areas_changes_only_them(ps: PhotoshopClient, ff: FireflyClient,
                                                 bucket: dict[str, Any]) -> None:
    photo, hole, box = scene(), hole_mask(), _box_mask()
    job = ps.wait(ps.fill_masked_areas(_put(bucket, "scene.png", photo),
                                       [_put(bucket, "hole.png", hole)],
                                       mask_upload_ids=[ff.upload(png(box), "image/png")]),
                  timeout=120)
    assert job.succeeded and job.body["image"]["lampyris"]["masks"] == 2
    out = decoded(ps.download(job.outputs[0]))
    assert out.shape == photo.shape
    kept = (hole == 0) & (box == 0)
    assert np.array_equal(out[kept], photo[kept]), "outside the masks: the input, exactly"
    for mask in (hole, box):
        changed = np.abs(out.astype(int) - photo).max(axis=-1) > 30
        assert changed[mask > 0].mean() > 0.2, "inside each mask: filled"
    red = (out[..., 0] > 150) & (out[..., 1] < 80) & (out[..., 2] < 80)
    blue = (out[..., 2] > 130) & (out[..., 0] < 80)
    assert red.sum() < 20 and blue.sum() < 20, "the disc and the box are gone"


def test_no_mask_is_refused_with_the_servers_message(ps: PhotoshopClient,
                                                     server: LampyrisServer) -> None:
    image = {"source": {"url": "http://127.0.0.1:9/a.png"}}
    raw = server.post("/v1/fill-masked-areas", {"image": image, "masks": []})
    assert raw.status_code == 400
    with pytest.raises(RequestRejectedError) as caught:
        ps.fill_masked_areas("http://127.0.0.1:9/a.png", [])
    error = caught.value
    assert (error.status, error.message) == (400, raw.json()["title"])
    assert error.body == raw.json()
    assert any(d["name"] == "masks" for d in error.details), error.details


def test_waiting_on_a_failed_job_raises(ps: PhotoshopClient, bucket: dict[str, Any]) -> None:
    ref = ps.fill_masked_areas(_put(bucket, "scene.png", scene()),
                               [_put(bucket, "small.png", np.full((50, 50), 255, np.uint8))])
    with pytest.raises(JobFailedError) as caught:
        ps.wait(ref, timeout=120)
    assert caught.value.code == "invalid_input"
    assert "the mask is 50x50 but the image is 320x240" in caught.value.message
    assert ps.masking_status(ref.job_id).failed  # returned, not raised
