"""Photoshop's masking v1 routes (``/v1/refine-mask``, ``/v1/fill-masked-areas``,
``/v1/status/{jobId}``) on the in-process server: each job really runs (fetch, op, hosting),
the pixels are checked, and every body is validated against Adobe's current Photoshop spec."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from jsonschema import Draft202012Validator
from PIL import Image
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from lampyris.api.photoshop_masking_wire import KIND, masking_status
from lampyris.jobs import JobRecord
from lampyris.jobs.record import State
from lampyris.storage import Blob
from support.fill_scenes import decoded, hole_mask, png, scene
from support.http_server import ScriptedServer, serve
from support.inprocess import URL, InProcessServer
from support.mask_scenes import edge_error, rough_mask, wavy_subject
from support.procs import REPO_ROOT

Validate = Callable[[str, Any], None]
SPEC = "ffs-photoshop-API-photoshop_api.json"


@pytest.fixture(scope="module")
def schema() -> Validate:
    """Validate an instance against one of the spec's component schemas."""
    candidates = [base / "shared" / "reference" / "adobe-openapi" / SPEC
                  for base in (REPO_ROOT.parent, Path("/work"))]
    spec = next((p for p in candidates if p.exists()), None)
    if spec is None:
        pytest.skip(f"Adobe's OpenAPI file {SPEC} is not in ../shared/reference")
    resource = Resource.from_contents(json.loads(spec.read_text()),
                                      default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:spec", resource)

    def validate(name: str, instance: Any) -> None:
        ref = {"$ref": f"urn:spec#/components/schemas/{name}"}
        errors = list(Draft202012Validator(ref, registry=registry).iter_errors(instance))
        assert not errors, f"{name}: {[e.message for e in errors]}\n{instance}"

    return validate


_STATUS_SCHEMAS = {"not_started": "JobStatusNotStarted", "running": "JobStatusRunning",
                   "succeeded": "JobStatusSucceeded", "failed": "JobStatusFailed"}


@pytest.fixture(scope="module")
def subject() -> tuple[np.ndarray, np.ndarray]:
    return wavy_subject()


@pytest.fixture(scope="module")
def files(subject: tuple[np.ndarray, np.ndarray]) -> Iterator[ScriptedServer]:
    """The wavy subject and its rough mask, the fill scene (PNG and JPEG) and two masks."""
    photo, alpha = subject
    state = ScriptedServer()
    state.objects["/subject.png"] = Blob(png(photo), "image/png")
    state.objects["/rough.png"] = Blob(png(rough_mask(alpha)), "image/png")
    state.objects["/scene.png"] = Blob(png(scene()), "image/png")
    jpeg = io.BytesIO()
    Image.fromarray(scene()).save(jpeg, "JPEG", quality=92)
    state.objects["/scene.jpg"] = Blob(jpeg.getvalue(), "image/jpeg")
    state.objects["/hole.png"] = Blob(png(hole_mask()), "image/png")
    state.objects["/disc.png"] = Blob(png(_disc_mask()), "image/png")
    state.objects["/small.png"] = Blob(png(np.full((50, 50), 255, np.uint8)), "image/png")
    yield from serve(state, None)


def _disc_mask() -> np.ndarray:
    mask = np.zeros((240, 320), np.uint8)
    mask[40:180, 120:260] = 255
    return mask


def _source(files: ScriptedServer, path: str) -> dict[str, Any]:
    return {"source": {"url": files.url(path)}}


def _wait(inproc: InProcessServer, status_url: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll until the job has ended (``inproc.wait`` knows only pending, not not_started)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = inproc.get(status_url)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["status"] not in ("not_started", "running"):
            return body
        assert time.monotonic() < deadline, f"job still {body['status']} after {timeout} s"
        time.sleep(inproc.poll)


def _run(inproc: InProcessServer, path: str, body: dict[str, Any],
         schema: Validate) -> dict[str, Any]:
    """Submit (the 202 checked against the spec), check the first status, wait."""
    accepted = inproc.post(path, body)
    assert accepted.status_code == 202, accepted.text
    answer = accepted.json()
    schema("JobLinkResponse", answer)
    assert answer["statusUrl"] == f"{URL}/v1/status/{answer['jobId']}"
    assert answer["_links"] == {"self": {"href": answer["statusUrl"]}}
    first = inproc.get(answer["statusUrl"])
    assert first.status_code == 200, first.text
    schema(_STATUS_SCHEMAS[first.json()["status"]], first.json())
    status = _wait(inproc, answer["statusUrl"])
    assert status["jobId"] == answer["jobId"]
    schema(_STATUS_SCHEMAS[status["status"]], status)
    return status


# --- refine-mask ----------------------------------------------------------------------------


def test_refine_mask_follows_the_photo(inproc: InProcessServer, files: ScriptedServer,
                                       subject: tuple[np.ndarray, np.ndarray],
                                       schema: Validate):
    _, alpha = subject
    status = _run(inproc, "/v1/refine-mask", {"image": _source(files, "/subject.png"),
                                              "mask": _source(files, "/rough.png")}, schema)
    assert status["status"] == "succeeded", status
    schema("RefineMaskJobApiResponse", status)
    assert "image" not in status
    mask = status["mask"]
    assert mask["mediaType"] == "image/png"
    refined = Image.open(io.BytesIO(inproc.download(mask["destination"]["url"])))
    assert refined.mode == "L" and refined.size == (480, 360)
    before = edge_error(rough_mask(alpha), alpha)
    after = edge_error(np.asarray(refined), alpha)
    assert after < 0.025 and after < before / 4, (before, after)
    ys, xs = np.nonzero(alpha > 0.5)
    box = mask["boundingBox"]
    assert abs(box["x"] - xs.min()) <= 4 and abs(box["x"] + box["width"] - 1 - xs.max()) <= 4
    assert abs(box["y"] - ys.min()) <= 4 and abs(box["y"] + box["height"] - 1 - ys.max()) <= 4
    assert mask["lampyris"]["radius"] == 10


def test_refine_mask_with_colour_decontamination(inproc: InProcessServer,
                                                 files: ScriptedServer,
                                                 subject: tuple[np.ndarray, np.ndarray],
                                                 schema: Validate):
    photo, alpha = subject
    status = _run(inproc, "/v1/refine-mask", {
        "image": _source(files, "/subject.png"), "mask": _source(files, "/rough.png"),
        "colorDecontamination": True, "lampyris": {"radius": 12}}, schema)
    assert status["status"] == "succeeded", status
    schema("RefineMaskJobApiResponse", status)
    assert "mask" not in status and status["image"]["lampyris"]["radius"] == 12
    layer = decoded(inproc.download(status["image"]["destination"]["url"]))
    assert layer.shape == (360, 480, 4)
    assert edge_error(layer[..., 3], alpha) < 0.025
    edge = (layer[..., 3] > 60) & (layer[..., 3] < 195)
    subject_colour = np.array([230.0, 180.0, 60.0])
    assert (np.abs(layer[edge][:, :3] - subject_colour).mean()
            < np.abs(photo[edge] - subject_colour).mean() / 2)


# --- fill-masked-areas ----------------------------------------------------------------------


def test_fill_masked_areas_removes_every_mask(inproc: InProcessServer, files: ScriptedServer,
                                              schema: Validate):
    disc_upload = inproc.upload(png(_disc_mask()))
    status = _run(inproc, "/v1/fill-masked-areas", {
        "image": _source(files, "/scene.png"),
        "masks": [_source(files, "/hole.png"), {"source": {"uploadId": disc_upload}}]}, schema)
    assert status["status"] == "succeeded", status
    schema("FillMaskedAreasJobApiResponse", status)
    image = status["image"]
    assert image["mediaType"] == "image/png"
    assert image["lampyris"]["engine"] == "patch" and image["lampyris"]["masks"] == 2
    assert image["lampyris"]["fidelity"]["held"] is True
    out, photo = decoded(inproc.download(image["destination"]["url"])), scene()
    kept = (hole_mask() == 0) & (_disc_mask() == 0)
    assert np.array_equal(out[kept], photo[kept]), "outside the masks: the input, exactly"
    for area in (out[150:210, 20:100], out[40:180, 120:260]):  # the box and the disc: gone
        assert np.abs(area.astype(int) - 232).max(axis=-1).mean() < 20


def test_a_jpeg_stays_jpeg_unless_png_is_asked(inproc: InProcessServer, files: ScriptedServer,
                                               schema: Validate):
    body: dict[str, Any] = {"image": _source(files, "/scene.jpg"),
                            "masks": [_source(files, "/hole.png")]}
    jpeg = _run(inproc, "/v1/fill-masked-areas", body, schema)
    assert jpeg["image"]["mediaType"] == "image/jpeg"
    assert inproc.download(jpeg["image"]["destination"]["url"])[:3] == b"\xff\xd8\xff"
    body["lampyris"] = {"mediaType": "image/png"}
    png_status = _run(inproc, "/v1/fill-masked-areas", body, schema)
    assert png_status["image"]["mediaType"] == "image/png"
    schema("FillMaskedAreasJobApiResponse", png_status)


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/fill-masked-areas", {"image": {"source": {"url": "http://x/a.png"}}}, "masks"),
    ("/v1/fill-masked-areas", {"image": {"source": {"url": "http://x/a.png"}},
                               "masks": []}, "masks"),
    ("/v1/fill-masked-areas", {"image": {"source": {"url": "http://x/a.png"}},
                               "masks": [{"source": {"url": "http://x/m.png"}}] * 17}, "masks"),
    ("/v1/refine-mask", {"image": {"source": {"url": "http://x/a.png"}}}, "mask"),
    ("/v1/refine-mask", {"image": {"source": {"url": "http://x/a.png"}},
                         "mask": {"source": {"url": "http://x/m.png"}},
                         "lampyris": {"radius": 0}}, "lampyris.radius"),
])
def test_bad_bodies_answer_400_in_the_spec_shape(inproc: InProcessServer, schema: Validate,
                                                 path: str, body: dict[str, Any], field: str):
    answer = inproc.post(path, body)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    schema("InputValidationError", error)
    assert (error["type"], error["code"]) == ("InputValidationError", "400")
    assert any(d["name"] == field for d in error["details"]), error
    assert "\n" not in error["title"]


def test_failed_jobs_say_why(inproc: InProcessServer, files: ScriptedServer, schema: Validate):
    wrong_size = _run(inproc, "/v1/fill-masked-areas", {
        "image": _source(files, "/scene.png"), "masks": [_source(files, "/small.png")]}, schema)
    assert wrong_size["status"] == "failed"
    assert wrong_size["error_code"] == "invalid_input"
    assert "the mask is 50x50 but the image is 320x240" in wrong_size["message"]
    missing = _run(inproc, "/v1/refine-mask", {"image": _source(files, "/nothing.png"),
                                               "mask": _source(files, "/rough.png")}, schema)
    assert missing["status"] == "failed"
    assert missing["error_code"] == "invalid_asset_link", missing


def test_status_is_the_owners_and_only_for_masking_jobs(inproc: InProcessServer,
                                                        files: ScriptedServer):
    accepted = inproc.post("/v1/refine-mask", {"image": _source(files, "/subject.png"),
                                               "mask": _source(files, "/rough.png")}).json()
    stranger = inproc.add_client("stranger")
    assert inproc.get(accepted["statusUrl"], stranger).status_code == 404
    unknown = inproc.get(f"{URL}/v1/status/no-such-job")
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "ResourceNotFound"
    v2 = inproc.post("/v2/remove-background", {"image": _source(files, "/subject.png")}).json()
    assert inproc.get(f"{URL}/v1/status/{v2['jobId']}").status_code == 404
    _wait(inproc, accepted["statusUrl"])
    inproc.wait(v2["statusUrl"])


@pytest.mark.parametrize(("state", "shown"), [("pending", "not_started"),
                                              ("running", "running"),
                                              ("cancel_pending", "running")])
def test_unfinished_states_in_the_spec_words(state: State, shown: str, schema: Validate):
    job = JobRecord(owner="c", kind=KIND, op="refine_mask", task={}, state=state)
    body = masking_status(job, [])
    assert body == {"jobId": job.id, "status": shown}
    schema(_STATUS_SCHEMAS[shown], body)
