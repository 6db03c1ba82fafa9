"""Wire error shapes per API family, and how recorded job failures map onto them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from lampyris.api import create_app
from lampyris.api.errors import WireFailure, describe_error, describe_failure, error_body, family_of
from lampyris.api.services import Services
from lampyris.api.settings import ServerConfig, ServerSettings
from lampyris.errors import (
    CorruptImageError,
    FidelityError,
    ForbiddenUrlError,
    ImageTooLargeError,
    InvalidParameterError,
    LampyrisError,
    ModelChecksumError,
    ObjectTooLargeError,
    StorageDeniedError,
    StorageError,
    StorageUnavailableError,
    TransferTooSlowError,
    UnknownObjectError,
    UnsupportedImageError,
)
from lampyris.failure import Failure, Stage
from lampyris.jobs.record import JobRecord


@pytest.mark.parametrize(("path", "family"), [
    ("/ims/token/v3", "ims"), ("/sensei/cutout", "photoshop_v1"),
    ("/v2/remove-background", "photoshop_v2"), ("/lrService/autoTone", "lightroom"),
    ("/v3/images/fill-async", "firefly"),
])
def test_family_of(path: str, family: str):
    assert family_of(path) == family


def test_error_bodies_per_family():
    details = [{"name": "input.href", "reason": "missing"}]
    assert error_body("ims", 401, "invalid_client", "bad", []) == {
        "error": "invalid_client", "error_description": "bad"}
    assert error_body("gateway", 401, "401013", "Oauth token is not valid", []) == {
        "error_code": "401013", "message": "Oauth token is not valid"}
    assert error_body("photoshop_v1", 400, "validation_error", "bad", details) == {
        "type": "InputValidationError", "code": "400", "title": "bad",
        "error_code": "validation_error", "details": details}
    assert error_body("lightroom", 400, "validation_error", "bad", details) == {
        "type": "validation_error", "code": "invalid_input", "title": "bad",
        "error_code": "validation_error", "details": details}
    assert error_body("lightroom", 404, "unknown_job_id", "gone", [])["code"] == "not_found"
    assert error_body("lightroom", 409, "upload_failed", "no", [])["type"] == "error"
    assert error_body("photoshop_v2", 400, "validation_error", "bad", details) == {
        "error_code": "validation_error", "message": "bad",
        "errors": [{"error_code": "validation_error", "message": "input.href: missing"}]}
    assert error_body("firefly", 400, "validation_error", "bad", details)[
        "validation_errors"] == [{"loc": ["input", "href"], "msg": "missing",
                                  "type": "value_error"}]


@pytest.mark.parametrize(("error", "status", "code", "field"), [
    ({"type": "ForbiddenUrlError", "stage": "input"}, 400, "forbidden_url", "input.href"),
    ({"type": "StorageDeniedError", "stage": "input"}, 410, "invalid_asset_link", "input.href"),
    ({"type": "StorageUnavailableError", "stage": "output"}, 409, "upload_failed",
     "output.href"),
    ({"type": "ObjectTooLargeError", "stage": "input"}, 413, "input_too_large", "input.href"),
    ({"type": "ImageTooLargeError", "stage": "image"}, 413, "input_too_large", "input"),
    ({"type": "UnsupportedImageError", "stage": "image"}, 415, "unsupported_media_type",
     "input"),
    ({"type": "CorruptImageError", "stage": "image"}, 400, "invalid_input", "input"),
    ({"type": "ModelChecksumError", "stage": "image"}, 500, "runtime_error", "input"),
    ({"type": "JobError"}, 500, "runtime_error", ""),
    ({"type": "InternalError"}, 500, "runtime_error", ""),
])
def test_failures_map_by_class_ancestry_and_stage(error: dict, status: int, code: str,
                                                  field: str):
    failure = describe_failure({**error, "message": "why"})
    assert (failure.status, failure.code, failure.field) == (status, code, field)
    assert failure.message == "why"


@pytest.mark.parametrize(("error", "stage", "status", "code", "field"), [
    (ForbiddenUrlError, "output", 400, "forbidden_url", "output.href"),
    (StorageDeniedError, "input", 410, "invalid_asset_link", "input.href"),
    (TransferTooSlowError, "input", 410, "invalid_asset_link", "input.href"),
    (UnknownObjectError, "input", 410, "invalid_asset_link", "input.href"),
    (StorageUnavailableError, "output", 409, "upload_failed", "output.href"),
    (ObjectTooLargeError, "input", 413, "input_too_large", "input.href"),
    (ImageTooLargeError, "image", 413, "input_too_large", "input"),
    (UnsupportedImageError, "image", 415, "unsupported_media_type", "input"),
    (CorruptImageError, "image", 400, "invalid_input", "input"),
    (InvalidParameterError, None, 400, "invalid_input", ""),
    (ModelChecksumError, "image", 500, "runtime_error", "input"),
    (FidelityError, "image", 500, "runtime_error", ""),
    (LampyrisError, None, 500, "runtime_error", ""),
    # Outside a job's input and output, a storage error answers its class's own status.
    (StorageError, "image", 502, "runtime_error", ""),
    (StorageUnavailableError, None, 503, "runtime_error", ""),
    (TransferTooSlowError, None, 504, "runtime_error", ""),
    (UnknownObjectError, None, 404, "unknown_object", ""),
])
def test_recorded_failures_map_by_class_and_stage(error: type[LampyrisError], stage: Stage | None,
                                                  status: int, code: str, field: str):
    expected = WireFailure(status, code, "why", field)
    failure = Failure.of(error("why"), stage)
    assert describe_failure(failure) == expected
    assert describe_failure(failure.record()) == expected
    assert describe_error(error("why"), stage) == expected
    old = {"type": error.__name__, "message": "why", "stage": stage or "image"}
    if stage is not None:  # an old row without a stage was the image's
        assert describe_failure(old) == expected


def test_a_newer_workers_code_keeps_its_recorded_status():
    assert describe_failure({"code": "not_known_here", "message": "m", "status": 503}) == (
        WireFailure(503, "runtime_error", "m", ""))
    assert describe_failure({"code": "not_known_here", "message": "m", "status": 422}) == (
        WireFailure(422, "not_known_here", "m", ""))
    assert describe_failure(None) == WireFailure(500, "runtime_error", "internal error", "")


# In process: the app as create_app builds it (no lifespan, so no workers), failed jobs put
# straight into its store, and a few routes of each family that raise lampyris errors.

@dataclass
class Served:
    app: FastAPI
    http: TestClient
    svc: Services
    headers: dict[str, str]

    def failed_job(self, kind: str, error: dict[str, Any]) -> str:
        job = JobRecord(owner=self.headers["x-api-key"], kind=kind, op="cutout", task={},
                        state="failed", error=error)
        self.svc.store.add(job)
        return job.id


_RAISED: dict[str, LampyrisError] = {
    "corrupt": CorruptImageError("the file is damaged"),
    "unknown": UnknownObjectError("no object under that key"),
    "unavailable": StorageUnavailableError("the object store is down"),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir: Path = tmp_path_factory.mktemp("server")
    app = create_app(ServerConfig(server=ServerSettings(data_dir=data_dir)))
    svc: Services = app.state.services

    def boom(name: str) -> None:
        raise _RAISED[name]

    for prefix in ("/ims", "/sensei", "/v2", "/lrService", "/v3"):
        app.add_api_route(f"{prefix}/boom/{{name}}", boom)
    client, _ = svc.clients.add("errors")
    token = svc.signer.issue(client.id, "openid")
    headers = {"Authorization": f"Bearer {token}", "x-api-key": client.id}
    http = TestClient(app)  # not entered: no lifespan, so the executor never starts
    yield Served(app, http, svc, headers)
    http.close()
    svc.store.engine.dispose()


_CASES = [  # (exception, stage, wire status, family-neutral code, field)
    (CorruptImageError("the file is damaged"), "image", 400, "invalid_input", "input"),
    (StorageDeniedError("input answered 403", 403), "input", 410, "invalid_asset_link",
     "input.href"),
    (StorageUnavailableError("output unreachable"), "output", 409, "upload_failed",
     "output.href"),
    (UnsupportedImageError("not an image"), "image", 415, "unsupported_media_type", "input"),
    (ModelChecksumError("bad weights"), "image", 500, "runtime_error", "input"),
]


def _rows(exc: LampyrisError, stage: Stage) -> list[dict[str, Any]]:
    """The row as the worker writes it now, and as it wrote it before codes."""
    return [Failure.of(exc, stage).record(),
            {"type": type(exc).__name__, "message": str(exc), "stage": stage, "status": None}]


@pytest.mark.parametrize(("exc", "stage", "status", "code", "field"), _CASES)
def test_a_failed_sensei_job(served: Served, exc: LampyrisError, stage: Stage, status: int,
                             code: str, field: str):
    for row in _rows(exc, stage):
        job_id = served.failed_job("sensei", row)
        answer = served.http.get(f"/sensei/status/{job_id}", headers=served.headers)
        assert answer.status_code == 200
        assert answer.json()["errors"] == {
            "type": "InputValidationError" if status < 500 else "JobError",
            "code": str(status), "title": str(exc), "error_code": code,
            "details": [{"name": field, "reason": str(exc)}],
        }


@pytest.mark.parametrize(("exc", "stage", "status", "code", "field"), _CASES)
def test_a_failed_lightroom_job(served: Served, exc: LampyrisError, stage: Stage, status: int,
                                code: str, field: str):
    for row in _rows(exc, stage):
        job_id = served.failed_job("lightroom", row)
        answer = served.http.get(f"/lrService/status/{job_id}", headers=served.headers)
        assert answer.status_code == 202
        (output,) = answer.json()["outputs"]
        assert output["status"] == "failed" and output["details"] == str(exc)
        assert output["lampyris"] == {"error": {"code": code, "status": status, "field": field}}


@pytest.mark.parametrize(("exc", "stage", "status", "code", "field"), _CASES)
def test_a_failed_firefly_job(served: Served, exc: LampyrisError, stage: Stage, status: int,
                              code: str, field: str):
    firefly = {"invalid_input": "validation_error", "upload_failed": "validation_error"}
    for row in _rows(exc, stage):
        job_id = served.failed_job("firefly", row)
        answer = served.http.get(f"/v3/status/{job_id}", headers=served.headers)
        assert answer.status_code == 200
        assert answer.json() == {"jobId": job_id, "status": "failed",
                                 "error_code": firefly.get(code, code), "message": str(exc)}


@pytest.mark.parametrize(("path", "status", "body"), [
    ("/ims/boom/corrupt", 400, {"error": "invalid_input",
                                "error_description": "the file is damaged"}),
    ("/sensei/boom/corrupt", 400, {"type": "InputValidationError", "code": "400",
                                   "title": "the file is damaged", "error_code": "invalid_input",
                                   "details": []}),
    ("/v2/boom/corrupt", 400, {"error_code": "invalid_input", "message": "the file is damaged"}),
    ("/lrService/boom/corrupt", 400, {"type": "validation_error", "code": "invalid_input",
                                      "title": "the file is damaged",
                                      "error_code": "invalid_input", "details": []}),
    ("/v3/boom/corrupt", 400, {"error_code": "invalid_input", "message": "the file is damaged"}),
    ("/v2/boom/unknown", 404, {"error_code": "unknown_object",
                               "message": "no object under that key"}),
    ("/lrService/boom/unknown", 404, {"type": "error", "code": "unknown_object",
                                      "title": "no object under that key",
                                      "error_code": "unknown_object", "details": []}),
    ("/sensei/boom/unavailable", 503, {"type": "JobError", "code": "503",
                                       "title": "the object store is down",
                                       "error_code": "runtime_error", "details": []}),
    ("/v3/boom/unavailable", 503, {"error_code": "runtime_error",
                                   "message": "the object store is down"}),
])
def test_an_error_a_route_raises_answers_in_its_familys_shape(served: Served, path: str,
                                                               status: int, body: dict[str, Any]):
    answer = served.http.get(path)
    assert (answer.status_code, answer.json()) == (status, body)
