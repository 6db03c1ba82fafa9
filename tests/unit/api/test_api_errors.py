"""Wire error shapes per API family, and how recorded job failures map onto them."""

from __future__ import annotations

import pytest

from lampyris.api.errors import describe_failure, error_body, family_of


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
