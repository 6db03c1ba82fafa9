"""lampyris' own extension of the ``/pie/psdService`` routes, for a batch that sends a local
file or an earlier step's result and has no storage of its own to write to: an input given
as ``{uploadId}`` (the caller's ``/v2/storage/image`` upload) and an output without ``href``
and ``storage``, which the server hosts and links, signed, as the rendition's ``href``. The
result is the same as by pre-signed URLs; another client's upload is not found; Adobe's own
bodies are unchanged (tests/unit/api/test_routes_pie_inprocess.py)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from lampyris.imaging.decode import decode
from lampyris.ops.product_crop import ProductCropParams, product_crop
from support.adobe_schemas import schema_validator
from support.images import product_photo
from support.inprocess import URL, InProcessServer

SPEC = "ffs-photoshop-API-photoshop_api.json"


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def _done(inproc: InProcessServer, route: str, body: dict[str, Any]) -> dict[str, Any]:
    href = inproc.submit(f"/pie/psdService/{route}", body)
    status = inproc._poll(href, 200, lambda b: b["outputs"][0]["status"], 60.0, None)
    schema_validator(SPEC)("PsJobApiResponse", status)
    (entry,) = status["outputs"]
    return dict(entry)


def test_an_uploaded_input_and_hosted_outputs(inproc: InProcessServer) -> None:
    photo = product_photo()
    upload = inproc.upload(photo, "image/jpeg")
    entry = _done(inproc, "productCrop", {
        "inputs": [{"uploadId": upload}],
        "outputs": [{"type": "image/png"}, {"type": "image/jpeg", "quality": 7}],
        "options": {"unit": "Pixels", "width": 40, "height": 20}})
    assert entry["status"] == "succeeded", entry
    assert entry["input"] == upload
    links = entry["_links"]["renditions"]
    assert [(link["type"], link["storage"]) for link in links] == [
        ("image/png", "external"), ("image/jpeg", "external")]
    assert all(link["href"].startswith(f"{URL}/files/") for link in links)
    crop = _pixels(inproc.download(links[0]["href"]))
    here = product_crop(decode(photo), ProductCropParams(width=40, height=20)).pixels
    assert crop.shape == here.shape and np.array_equal(crop, here)
    assert _pixels(inproc.download(links[1]["href"])).shape[:2] == here.shape[:2]

    renditions = _done(inproc, "renditionCreate", {
        "inputs": [{"uploadId": upload}],
        "outputs": [{"type": "image/png", "width": 64}]})
    (link,) = renditions["_links"]["renditions"]
    assert link["width"] == 64 and _pixels(inproc.download(link["href"])).shape[1] == 64


def test_an_upload_is_its_owners_and_an_input_needs_one_form(
        inproc: InProcessServer) -> None:
    other = inproc.upload(product_photo(), "image/jpeg", who=inproc.add_client("other"))
    answer = inproc.post("/pie/psdService/depthBlur", {
        "inputs": [{"uploadId": other}], "outputs": [{"type": "image/png"}]})
    assert answer.status_code == 400 and "unknown upload id" in answer.text, answer.text
    for source in ({}, {"href": "https://in.test/a.jpg"},
                   {"href": "https://in.test/a.jpg", "storage": "external", "uploadId": "u"}):
        answer = inproc.post("/pie/psdService/depthBlur", {
            "inputs": [source], "outputs": [{"type": "image/png"}]})
        assert answer.status_code == 400, (source, answer.text)
    answer = inproc.post("/pie/psdService/depthBlur", {
        "inputs": [{"uploadId": "u"}], "outputs": [{"type": "image/png", "href": "x"}]})
    assert answer.status_code == 400 and "href and storage" in answer.text, answer.text
