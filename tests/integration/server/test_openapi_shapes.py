"""Responses validate against Adobe's own OpenAPI schemas, loaded from ../shared/reference
(read in place: the files are not ours to copy)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from support import s3
from support.ceph import CephS3
from support.lampyris_server import LampyrisServer
from support.procs import REPO_ROOT

Validator = Callable[[str, Any], None]


def _spec(name: str) -> Path:
    """The shared reference beside the checkout (../shared), wherever this checkout lives."""
    candidates = [base / "shared" / "reference" / "adobe-openapi" / name
                  for base in (REPO_ROOT.parent, Path("/work"))]
    return next((p for p in candidates if p.exists()), candidates[0])


def _validator(name: str, patch: Callable[[dict[str, Any]], None] | None = None) -> Validator:
    spec = _spec(name)
    if not spec.exists():
        pytest.skip(f"Adobe's OpenAPI file is not at {spec}")
    contents = json.loads(spec.read_text())
    if patch is not None:
        patch(contents)
    resource = Resource.from_contents(contents, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:spec", resource)

    def validate(schema: str, instance: Any) -> None:
        ref = {"$ref": f"urn:spec#/components/schemas/{schema}"}
        errors = list(Draft202012Validator(ref, registry=registry).iter_errors(instance))
        assert not errors, f"{schema}: {[e.message for e in errors]}\n{instance}"

    return validate


@pytest.fixture(scope="module")
def schema() -> Validator:
    return _validator("ffs-photoshop-API-photoshop_api@48b9683-with-sensei-and-v2-removebg.json")


@pytest.fixture(scope="module")
def lr_schema() -> Validator:
    return _validator("ffs-lightroom-API-lightroomapi.json")


def _outputs_are_a_list(spec: dict[str, Any]) -> None:
    """The v2 spec types ``Result.outputs`` as an object, but Adobe's status guide and every
    example show a list of ``{url | destination, mediaType}`` (what v2 remove-background
    answers too): check the list."""
    spec["components"]["schemas"]["Result"]["properties"]["outputs"] = {"type": "array"}


@pytest.fixture(scope="module")
def ps2_schema() -> Validator:
    return _validator("ffs-photoshop-API-photoshopv2-api.json", _outputs_are_a_list)


def _urls(ceph_s3: CephS3, bucket: str, photo: bytes) -> tuple[str, str]:
    client = s3.client_for(ceph_s3)
    s3.put_object(client, bucket, "in.jpg", photo)
    return s3.presign_get(client, bucket, "in.jpg"), s3.presign_put(client, bucket, "out.png")


def test_sensei_responses_match_the_spec(
    server: LampyrisServer, schema: Any, ceph_s3: CephS3, s3_bucket: str, photo: bytes
):
    get, put = _urls(ceph_s3, s3_bucket, photo)
    body = {"input": {"href": get, "storage": "external"},
            "output": {"href": put, "storage": "external", "mask": {"format": "soft"},
                       "color": {"space": "rgba"}}}
    accepted = server.post("/sensei/cutout", body)
    schema("JobStatusLinkResponse", accepted.json())
    url = accepted.json()["_links"]["self"]["href"]
    first = httpx.get(url, headers=server.headers()).json()
    assert first["status"] in ("pending", "running", "succeeded")
    schema("SenseiJobApiResponse", first)
    done = server.wait(url)
    assert done["status"] == "succeeded"
    schema("SenseiJobApiResponse", done)

    failed = server.wait(server.post("/sensei/mask", {
        "input": {"href": get.replace("in.jpg", "missing.jpg"), "storage": "external"},
        "output": {"href": put, "storage": "external"},
    }).json()["_links"]["self"]["href"])
    assert failed["status"] == "failed"
    schema("SenseiJobApiResponse", failed)
    schema("JobError", failed["errors"])

    invalid = server.post("/sensei/cutout", {"input": {"href": get, "storage": "ftp"}})
    assert invalid.status_code == 400
    schema("InputValidationError", invalid.json())
    missing = httpx.get(f"{server.url}/sensei/status/unknown", headers=server.headers())
    assert missing.status_code == 404
    schema("JobError", missing.json())


def test_v2_responses_match_the_spec(
    server: LampyrisServer, schema: Any, ceph_s3: CephS3, s3_bucket: str, photo: bytes
):
    get, _ = _urls(ceph_s3, s3_bucket, photo)
    accepted = server.post("/v2/remove-background", {
        "image": {"source": {"url": get}}, "mode": "cutout", "output": {"mediaType": "image/webp"},
        "trim": True, "backgroundColor": {"red": 255, "green": 255, "blue": 255, "alpha": 0.5},
        "colorDecontamination": 1,
    })
    assert accepted.status_code == 202
    schema("JobLinkResponse", accepted.json())
    first = httpx.get(accepted.json()["statusUrl"], headers=server.headers()).json()
    if first["status"] != "succeeded":
        schema("JobStatusPollPayload", first)
    done = server.wait(accepted.json()["statusUrl"])
    schema("JobStatusSucceededResponse", done)
    output = done["result"]["outputs"][0]
    assert output["mediaType"] == "image/webp"
    image = httpx.get(output["destination"]["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/webp"
    assert image.content[:4] == b"RIFF" and image.content[8:12] == b"WEBP"

    for bad in ({"image": {}}, {"image": {"source": {"url": get}}, "mode": "sketch"}):
        answer = server.post("/v2/remove-background", bad)
        assert answer.status_code == 400
        schema("JobError", answer.json())
        assert set(answer.json()) >= {"error_code", "message"}
    unauthorised = httpx.post(f"{server.url}/v2/remove-background", json={})
    assert unauthorised.status_code == 403  # no x-api-key: the gateway's 403000
    schema("JobError", unauthorised.json())


def test_signed_result_links_expire_and_cannot_be_forged(
    server: LampyrisServer, ceph_s3: CephS3, s3_bucket: str, photo: bytes
):
    get, _ = _urls(ceph_s3, s3_bucket, photo)
    done = server.wait(server.post("/v2/remove-background", {
        "image": {"source": {"url": get}}, "output": {"mediaType": "image/png"},
    }).json()["statusUrl"])
    url = done["result"]["outputs"][0]["destination"]["url"]
    assert httpx.get(url).status_code == 200
    forged = url[:-6] + ("000000" if not url.endswith("000000") else "111111")
    assert httpx.get(forged).status_code == 403
    other_key = url.replace("output.png", "other.png")
    assert httpx.get(other_key).status_code == 403


def test_lightroom_responses_match_the_spec(
    server: LampyrisServer, lr_schema: Validator, ceph_s3: CephS3, s3_bucket: str, photo: bytes
):
    get, put = _urls(ceph_s3, s3_bucket, photo)
    accepted = server.post("/lrService/edit", {
        "inputs": {"source": {"href": get, "storage": "external"}},
        "options": {"Exposure": 0.5, "Contrast": 10, "WhiteBalance": "Auto"},
        "outputs": [{"href": put, "storage": "external", "type": "image/jpeg", "quality": 10}],
    })
    assert accepted.status_code == 202
    lr_schema("JobStatusLinkResponse", accepted.json())
    url = accepted.json()["_links"]["self"]["href"]
    first = httpx.get(url, headers=server.headers())
    assert first.status_code == 202 and first.json()["outputs"][0]["status"] in (
        "pending", "running", "succeeded")
    lr_schema("LrJobApiResponse", first.json())
    done = server.wait_lightroom(url)
    assert done["outputs"][0]["status"] == "succeeded"
    lr_schema("LrJobApiResponse", done)

    failed = server.wait_lightroom(server.post("/lrService/autoTone", {
        "inputs": {"href": get.replace("in.jpg", "missing.jpg"), "storage": "external"},
        "outputs": [{"href": put, "storage": "external", "type": "image/png"}],
    }).json()["_links"]["self"]["href"])
    assert failed["outputs"][0]["status"] == "failed"
    lr_schema("LrJobApiResponse", failed)

    invalid = server.post("/lrService/autoTone", {
        "inputs": {"href": get, "storage": "adobe"},
        "outputs": [{"href": put, "storage": "external", "type": "image/png"}]})
    assert invalid.status_code == 400
    lr_schema("InputValidationError", invalid.json())
    missing = httpx.get(f"{server.url}/lrService/status/unknown", headers=server.headers())
    assert missing.status_code == 404
    lr_schema("JobError", missing.json())


def test_v2_edit_responses_match_the_spec(
    server: LampyrisServer, ps2_schema: Validator, ceph_s3: CephS3, s3_bucket: str, photo: bytes
):
    get, put = _urls(ceph_s3, s3_bucket, photo)
    accepted = server.post("/v2/edit", {
        "image": {"source": {"url": get}},
        "edits": {"autoTone": True, "color": {"vibrance": 20}, "noiseReduction": {"color": 10}},
        "outputs": [{"destination": {"url": put}, "mediaType": "image/png",
                     "compression": "medium"}],
    })
    assert accepted.status_code == 202
    ps2_schema("JobAcceptedResponse", accepted.json())
    first = httpx.get(accepted.json()["statusUrl"], headers=server.headers())
    ps2_schema("JobStatusResponse", first.json())
    done = server.wait(accepted.json()["statusUrl"])
    assert done["status"] == "succeeded"
    ps2_schema("JobStatusResponse", done)

    failed = server.wait(server.post("/v2/edit", {
        "image": {"source": {"url": get.replace("in.jpg", "missing.jpg")}},
        "outputs": [{"destination": {"validityPeriod": 60}, "mediaType": "image/jpeg"}],
    }).json()["statusUrl"])
    assert failed["status"] == "failed" and failed["errorDetails"]
    ps2_schema("JobStatusResponse", failed)

    refused = server.post("/v2/edit", {"image": {"source": {"url": get}}, "outputs": []})
    assert refused.status_code == 400
    ps2_schema("ErrorResponse", refused.json())


def test_firefly_responses_match_the_spec(server: LampyrisServer, photo: bytes):
    ff = _validator("ffs-firefly-api-firefly-api.json")
    sdk = _validator("sdkjs-FFApiOpenApi3.json")
    headers = {**server.headers(), "Content-Type": "image/jpeg"}
    uploaded = httpx.post(f"{server.url}/v2/storage/image", content=photo, headers=headers)
    ff("StorageImageResponse", uploaded.json())
    sdk("UploadResponse", uploaded.json())
    source = {"source": {"uploadId": uploaded.json()["images"][0]["id"]}}

    accepted = server.post("/v3/images/expand-async", {
        "image": source, "size": {"width": 800, "height": 600}, "seeds": [4]})
    assert accepted.status_code == 202
    ff("AsyncAcceptResponseV3", accepted.json())
    first = httpx.get(accepted.json()["statusUrl"], headers=server.headers()).json()
    if first["status"] != "succeeded":
        ff("JobPollPayload", first)
    done = server.wait(accepted.json()["statusUrl"])
    ff("JobSucceededPayload", done)

    sync = server.post("/v3/images/generate-object-composite", {
        "prompt": "linen", "image": source, "size": {"width": 400, "height": 400}})
    assert sync.status_code == 200, sync.text
    sdk("GenerateObjectCompositeResponse", sync.json())

    invalid = server.post("/v3/images/fill-async", {"image": source, "numVariations": 9})
    assert invalid.status_code == 422
    ff("ValidationErrorResponse", invalid.json())
    unknown = server.post("/v3/images/fill", {"image": {"source": {"uploadId": "nope"},
                                                        "mask": {"uploadId": "nope"}}})
    assert unknown.status_code == 400
    ff("ApiError", unknown.json())
