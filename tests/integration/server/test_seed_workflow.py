"""The seed workflow in its exact shape, against a live server and real object stores:
token → POST /sensei/cutout with pre-signed GET/PUT URLs → poll → the PNG is in the bucket."""

from __future__ import annotations

import io
import time

import httpx
import numpy as np
from PIL import Image

from support import azure_blob, s3
from support.azurite import Azurite
from support.ceph import CephS3
from support.images import assert_sane_cutout
from support.lampyris_server import LampyrisServer
from support.wire_cases import check_catalog_canvas


def test_sensei_cutout_between_s3_presigned_urls(
    server: LampyrisServer, ceph_s3: CephS3, s3_bucket: str, photo: bytes
):
    client = s3.client_for(ceph_s3)
    s3.put_object(client, s3_bucket, "input/shoe.jpg", photo, content_type="image/jpeg")
    body = {
        "input": {"storage": "external", "href": s3.presign_get(client, s3_bucket,
                                                                 "input/shoe.jpg")},
        "output": {"storage": "external", "href": s3.presign_put(client, s3_bucket,
                                                                  "output/shoe.png")},
    }
    token = httpx.post(f"{server.url}/ims/token/v3", data={
        "grant_type": "client_credentials", "client_id": server.client.client_id,
        "client_secret": server.client.client_secret,
        "scope": "openid,AdobeID,read_organizations",
    }).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "x-api-key": server.client.client_id}
    accepted = httpx.post(f"{server.url}/sensei/cutout", json=body, headers=headers)
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["content-type"] == "application/json"
    status = server.wait(accepted.json()["_links"]["self"]["href"])
    assert status["status"] == "succeeded", status
    assert status["jobID"] == status["jobId"]
    assert status["output"]["href"] == body["output"]["href"]
    assert_sane_cutout(s3.get_object(client, s3_bucket, "output/shoe.png"))


def test_sensei_mask_between_azurite_sas_urls(
    server: LampyrisServer, azurite: Azurite, blob_container: str, photo: bytes
):
    azure_blob.upload_blob(azurite, blob_container, "in/shoe.jpg", photo,
                           content_type="image/jpeg")
    body = {
        "input": {"storage": "azure",
                  "href": azure_blob.read_sas_url(azurite, blob_container, "in/shoe.jpg")},
        "output": {"storage": "azure", "mask": {"format": "binary"},
                   "href": azure_blob.write_sas_url(azurite, blob_container, "out/mask.png")},
    }
    accepted = server.post("/sensei/mask", body)
    assert accepted.status_code == 202, accepted.text
    status = server.wait(accepted.json()["_links"]["self"]["href"])
    assert status["status"] == "succeeded", status
    mask = azure_blob.download_blob(azurite, blob_container, "out/mask.png")
    image = Image.open(io.BytesIO(mask))
    assert image.mode == "L" and image.size == (640, 480)
    values = np.asarray(image)
    assert set(np.unique(values)) <= {0, 255}, "a binary mask has only 0 and 255"
    assert values[240, 320] == 255 and values[0, 0] == 0


def test_sensei_cutout_to_azurite_through_the_python_client(
    server: LampyrisServer, azurite: Azurite, blob_container: str, photo: bytes
):
    from lampyris.client import PhotoshopClient

    azure_blob.upload_blob(azurite, blob_container, "in/a.jpg", photo)
    with PhotoshopClient(server.client.client_id, server.client.client_secret,
                         base_url=server.url, ims_url=server.url) as ps:
        job = ps.cutout(
            azure_blob.read_sas_url(azurite, blob_container, "in/a.jpg"),
            azure_blob.write_sas_url(azurite, blob_container, "out/a.png"),
            input_storage="azure", output_storage="azure",
        )
    assert job.status == "succeeded"
    assert_sane_cutout(azure_blob.download_blob(azurite, blob_container, "out/a.png"))


def test_v2_remove_background_through_the_python_client(
    server: LampyrisServer, ceph_s3: CephS3, s3_bucket: str, photo: bytes
):
    from lampyris.client import PhotoshopClient

    client = s3.client_for(ceph_s3)
    s3.put_object(client, s3_bucket, "in.jpg", photo)
    with PhotoshopClient(server.client.client_id, server.client.client_secret,
                         base_url=server.url, ims_url=server.url) as ps:
        ref = ps.remove_background(s3.presign_get(client, s3_bucket, "in.jpg"),
                                   media_type="image/png")
        job = ps.wait(ref, timeout=120)
    assert job.status == "succeeded"
    (url,) = job.outputs
    assert_sane_cutout(httpx.get(url).content)


def test_v2_options_trim_background_and_jpeg(
    server: LampyrisServer, ceph_s3: CephS3, s3_bucket: str, photo: bytes
):
    from lampyris.client import PhotoshopClient

    client = s3.client_for(ceph_s3)
    s3.put_object(client, s3_bucket, "in.jpg", photo)
    with PhotoshopClient(server.client.client_id, server.client.client_secret,
                         base_url=server.url, ims_url=server.url) as ps:
        job = ps.wait(ps.remove_background(
            s3.presign_get(client, s3_bucket, "in.jpg"), trim=True,
            background_color=(20, 200, 20), color_decontamination=0.5,
        ), timeout=120)
    (url,) = job.outputs
    image = Image.open(io.BytesIO(httpx.get(url).content))
    assert image.format == "JPEG", "the output keeps the input's format by default"
    w, h = image.size
    assert abs(w - 321) <= 6 and abs(h - 321) <= 6, "trimmed to the disc"
    pixels = np.asarray(image).astype(int)
    assert np.abs(pixels[2, 2] - (20, 200, 20)).max() < 12, "corners show the background"
    assert np.abs(pixels[h // 2, w // 2] - (200, 30, 30)).max() < 12, "the subject is kept"


def test_lampyris_extensions_give_catalog_ready_output(
    server: LampyrisServer, azurite: Azurite, blob_container: str, photo: bytes
):
    azure_blob.upload_blob(azurite, blob_container, "in.jpg", photo)
    accepted = server.post("/sensei/cutout", {
        "input": {"storage": "azure",
                  "href": azure_blob.read_sas_url(azurite, blob_container, "in.jpg")},
        "output": {"storage": "azure", "color": {"space": "rgb"},
                   "href": azure_blob.write_sas_url(azurite, blob_container, "out.png")},
        "lampyris": {"canvas": "800x800", "padding": "10%", "shadow": True},
    })
    assert accepted.status_code == 202, accepted.text
    status = server.wait(accepted.json()["_links"]["self"]["href"])
    check_catalog_canvas(status, azure_blob.download_blob(azurite, blob_container, "out.png"))


def test_catalog_workflow_mask_fill_auto_tone(
    server: LampyrisServer, ceph_s3: CephS3, s3_bucket: str, photo: bytes
):
    """The quickstart end to end: the product's mask (Photoshop), a new background around it
    (Firefly fill-async, the mask inverted), then auto tone (Lightroom) into the bucket."""
    client = s3.client_for(ceph_s3)
    s3.put_object(client, s3_bucket, "in/shoe.jpg", photo, content_type="image/jpeg")
    photo_url = s3.presign_get(client, s3_bucket, "in/shoe.jpg")
    masked = server.post("/sensei/mask", {
        "input": {"storage": "external", "href": photo_url},
        "output": {"storage": "external", "href": s3.presign_put(client, s3_bucket, "mask.png"),
                   "mask": {"format": "binary"}},
    })
    assert server.wait(masked.json()["_links"]["self"]["href"])["status"] == "succeeded"

    fill = server.post("/v3/images/fill-async", {
        "prompt": "white marble counter, soft morning light",
        "image": {"source": {"url": photo_url}},
        "mask": {"source": {"url": s3.presign_get(client, s3_bucket, "mask.png")},
                 "invert": True},
    })
    assert fill.status_code == 202, fill.text
    deadline = time.monotonic() + 120
    while (status := httpx.get(fill.json()["statusUrl"], headers=server.headers()).json())[
            "status"] in ("pending", "running"):
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert status["status"] == "succeeded", status
    (output,) = status["result"]["outputs"]
    assert output["lampyris"]["engine"] == "studio"  # the hole surrounds the product
    assert output["lampyris"]["fidelity"]["held"] is True

    toned = server.post("/lrService/autoTone", {
        "inputs": {"storage": "external", "href": output["image"]["url"]},
        "outputs": [{"storage": "external", "type": "image/jpeg",
                     "href": s3.presign_put(client, s3_bucket, "out/shoe.jpg")}],
    })
    assert toned.status_code == 202, toned.text
    final = server.wait_lightroom(toned.json()["_links"]["self"]["href"])
    assert final["outputs"][0]["status"] == "succeeded", final

    mask = np.asarray(Image.open(io.BytesIO(s3.get_object(client, s3_bucket, "mask.png"))))
    filled = np.asarray(Image.open(io.BytesIO(_download(output["image"]["url"]))))
    original = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB"))
    product = mask == 255
    # Firefly's result is a JPEG (quality 99, full-resolution colour): the product keeps its
    # pixels within a few levels (exact with the ``lampyris.format: png`` extension).
    difference = filled[product].astype(int) - original[product]
    assert np.abs(difference).max() <= 8
    assert 10 * np.log10(255**2 / np.mean(difference.astype(float) ** 2)) >= 45
    assert not np.array_equal(filled[~product], original[~product])  # a new background
    catalog = Image.open(io.BytesIO(s3.get_object(client, s3_bucket, "out/shoe.jpg")))
    assert catalog.format == "JPEG" and catalog.size == (640, 480)


def _download(url: str) -> bytes:
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200
    return answer.content
