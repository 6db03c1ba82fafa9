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
from lampyris.api.errors import (
    WireFailure,
    adobe_job_code,
    describe_error,
    describe_failure,
    error_body,
    family_of,
    firefly_invalid,
    v2_job_failure,
)
from lampyris.api.services import Services
from lampyris.api.settings import ServerConfig, ServerSettings
from lampyris.api.validation_words import v1_error_type
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
    ("/pie/psdService/productCrop", "photoshop_v1"), ("/v1/refine-mask", "photoshop_v1"),
    ("/v1/mask-objects", "photoshop_v1"), ("/v1/status/x", "photoshop_v1"),
    ("/v2/remove-background", "photoshop_v2"), ("/v1/auto-crop", "photoshop_v2"),
    ("/lrService/autoTone", "lightroom"), ("/v3/images/fill-async", "firefly"),
    ("/v4/images/generate-async", "firefly"), ("/v1/images/fill", "firefly"),
    ("/v2/images/generate", "firefly"), ("/v2/storage/image", "firefly"),
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
    # Photoshop v2's errors[] is "only populated when there are multiple validation errors"
    assert error_body("photoshop_v2", 400, "validation_error", "bad", details) == {
        "error_code": "validation_error", "message": "bad"}
    two = [*details, {"name": "mode", "reason": "not an option"}]
    assert error_body("photoshop_v2", 400, "validation_error", "bad", two) == {
        "error_code": "validation_error", "message": "bad",
        "errors": [{"error_code": "validation_error", "message": "input.href: missing"},
                   {"error_code": "validation_error", "message": "mode: not an option"}]}
    # Firefly's loc starts at "body" for a body field a route names itself
    assert error_body("firefly", 400, "validation_error", "bad", details)[
        "validation_errors"] == [{"loc": ["body", "input", "href"], "msg": "missing",
                                  "type": "value_error"}]
    listed = [{"name": "seeds.1", "reason": "too big", "type": "value_error.number.not_le",
               "ctx": {"limit_value": 9}}]
    assert error_body("firefly", 422, "validation_error", "bad", listed)[
        "validation_errors"] == [{"loc": ["body", "seeds", 1], "msg": "too big",
                                  "type": "value_error.number.not_le",
                                  "ctx": {"limit_value": 9}}]
    # Firefly's keys stay out of the v1 shapes
    assert error_body("photoshop_v1", 400, "validation_error", "bad", listed)["details"] == [
        {"name": "seeds.1", "reason": "too big"}]


@pytest.mark.parametrize(("problem", "kind", "ctx"), [
    ({"type": "missing"}, "value_error.missing", {}),
    ({"type": "literal_error", "ctx": {"expected": "'photo' or 'art'"}}, "type_error.enum",
     {"enum_values": ["photo", "art"]}),
    ({"type": "enum", "ctx": {"expected": "'a', 'b' or 'c'"}}, "type_error.enum",
     {"enum_values": ["a", "b", "c"]}),
    ({"type": "literal_error", "ctx": {"expected": "1 or 2"}}, "type_error.enum",
     {"enum_values": ["1", "2"]}),
    ({"type": "int_parsing"}, "type_error.integer", {}),
    ({"type": "int_type"}, "type_error.integer", {}),
    ({"type": "float_parsing"}, "type_error.float", {}),
    ({"type": "string_type"}, "type_error.str", {}),
    ({"type": "bool_parsing"}, "type_error.bool", {}),
    ({"type": "list_type"}, "type_error.list", {}),
    ({"type": "model_attributes_type"}, "type_error.dict", {}),
    ({"type": "less_than_equal", "ctx": {"le": 4}}, "value_error.number.not_le",
     {"limit_value": 4}),
    ({"type": "greater_than_equal", "ctx": {"ge": 1}}, "value_error.number.not_ge",
     {"limit_value": 1}),
    ({"type": "string_too_long", "ctx": {"max_length": 1024}},
     "value_error.any_str.max_length", {"limit_value": 1024}),
    ({"type": "too_long", "ctx": {"max_length": 4, "field_type": "List"}},
     "value_error.list.max_items", {"limit_value": 4}),
    ({"type": "json_invalid"}, "value_error.jsondecode", {}),
    ({"type": "value_error", "ctx": {"error": "x"}}, "value_error", {}),
    ({"type": "something_new"}, "value_error", {}),
])
def test_pydantic_v2_errors_in_pydantic_v1_words(problem: dict[str, Any], kind: str,
                                                 ctx: dict[str, Any]):
    assert v1_error_type(problem) == (kind, ctx)


def test_a_firefly_routes_own_refusal_is_fastapis_shape():
    refused = firefly_invalid("image.mask.uploadId", "unknown upload id 'x'")
    assert (refused.status, refused.code, refused.family) == (422, "validation_error",
                                                              "firefly")
    assert error_body("firefly", refused.status, refused.code, refused.message,
                      refused.details) == {
        "error_code": "validation_error",
        "message": "image.mask.uploadId: unknown upload id 'x'",
        "validation_errors": [{"loc": ["body", "image", "mask", "uploadId"],
                               "msg": "unknown upload id 'x'", "type": "value_error"}]}
    enum = firefly_invalid("contentClass", "not one of photo, art", kind="type_error.enum",
                           ctx={"enum_values": ["photo", "art"]}, status=400)
    assert enum.status == 400
    assert error_body("firefly", 400, enum.code, enum.message, enum.details)[
        "validation_errors"][0]["ctx"] == {"enum_values": ["photo", "art"]}


@pytest.mark.parametrize(("failure", "adobe"), [
    (WireFailure(400, "invalid_input", "truncated", "input"), "400401"),
    (WireFailure(410, "invalid_asset_link", "404 from storage", "input.href"), "400401"),
    (WireFailure(415, "unsupported_media_type", "not an image", "input"), "400401"),
    (WireFailure(409, "upload_failed", "refused", "output.href"), "400401"),
    (WireFailure(500, "runtime_error", "bad weights", "input"), "runtime_error"),
    (WireFailure(503, "runtime_error", "store down", ""), "runtime_error"),
])
def test_a_failed_v2_job_names_adobes_code_and_keeps_ours(failure: WireFailure, adobe: str):
    assert adobe_job_code(failure) == adobe
    assert v2_job_failure(failure) == {
        "error_code": failure.code, "message": failure.message,
        "errorDetails": [{"errorCode": adobe, "message": failure.message}],
        "lampyris": {"error": {"code": failure.code, "status": failure.status,
                               "field": failure.field}}}


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
        task = {"op": "cutout", "input": {"href": "https://example.com/a.jpg",
                                          "storage": "external"}}
        job = JobRecord(owner=self.headers["x-api-key"], kind=kind, op="cutout", task=task,
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
def test_a_failed_v2_job(served: Served, exc: LampyrisError, stage: Stage, status: int,
                         code: str, field: str):
    for row in _rows(exc, stage):
        job_id = served.failed_job("v2", row)
        answer = served.http.get(f"/v2/status/{job_id}", headers=served.headers)
        assert answer.status_code == 200
        body = answer.json()
        assert body["status"] == "failed" and "result" not in body
        assert (body["error_code"], body["message"]) == (code, str(exc))
        assert body["errorDetails"] == [{"errorCode": "400401" if status < 500
                                         else "runtime_error", "message": str(exc)}]
        assert body["lampyris"] == {"error": {"code": code, "status": status, "field": field}}


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
