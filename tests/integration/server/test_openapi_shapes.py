"""Responses validate against Adobe's own OpenAPI schemas, loaded from ../shared/reference
(read in place: the files are not ours to copy)."""

from __future__ import annotations

import json
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

SPEC_NAME = "ffs-photoshop-API-photoshop_api@48b9683-with-sensei-and-v2-removebg.json"
# The shared reference beside the checkout (../shared), wherever this checkout lives.
CANDIDATES = [base / "shared" / "reference" / "adobe-openapi" / SPEC_NAME
              for base in (REPO_ROOT.parent, Path("/work"))]
SPEC = next((p for p in CANDIDATES if p.exists()), CANDIDATES[0])


@pytest.fixture(scope="module")
def schema() -> Any:
    if not SPEC.exists():
        pytest.skip(f"Adobe's OpenAPI file is not at {SPEC}")
    resource = Resource.from_contents(json.loads(SPEC.read_text()),
                                      default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:photoshop", resource)

    def validate(name: str, instance: Any) -> None:
        ref = {"$ref": f"urn:photoshop#/components/schemas/{name}"}
        errors = list(Draft202012Validator(ref, registry=registry).iter_errors(instance))
        assert not errors, f"{name}: {[e.message for e in errors]}\n{instance}"

    return validate


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
    assert unauthorised.status_code == 401
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
