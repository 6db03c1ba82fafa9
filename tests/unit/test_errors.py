"""The one error tree: every class carries its HTTP status and its own stable code, and a job's
failure crosses the worker/database boundary typed (exception → Failure → JSON → class)."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

from lampyris import errors
from lampyris.client import errors as client_errors
from lampyris.client.jobs import Job
from lampyris.errors import (
    CorruptImageError,
    InputError,
    JobError,
    LampyrisError,
    StorageCredentialsError,
    StorageDeniedError,
    StorageError,
)
from lampyris.failure import STAGES, Failure, Stage

SERVER_TREE = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, LampyrisError) and c.__module__ == errors.__name__]
CLIENT_TREE = [c for _, c in inspect.getmembers(client_errors, inspect.isclass)
               if issubclass(c, LampyrisError) and c.__module__ == client_errors.__name__]
TREE = SERVER_TREE + CLIENT_TREE


def _name(cls: type) -> str:
    return cls.__name__


def _instance(cls: type[LampyrisError]) -> LampyrisError:
    """One instance of ``cls``, built the way its code raises it."""
    if cls is client_errors.JobFailedError:
        job = Job.from_body({"jobId": "j1", "status": "failed"}, job_id="j1")
        return cls(job, "invalid_input", "why")
    if cls is client_errors.JobTimeoutError:
        return cls("j1", 5.0)
    if issubclass(cls, client_errors.ServiceError):
        return cls(418, "teapot", "why", {"error_code": "teapot"})
    if issubclass(cls, StorageDeniedError):
        return cls("why", 403)
    return cls("why")


def test_the_trees_are_the_ones_expected() -> None:
    assert len(SERVER_TREE) == 20 and LampyrisError in SERVER_TREE
    assert client_errors.ClientError in CLIENT_TREE and len(CLIENT_TREE) == 12
    assert issubclass(client_errors.ClientError, LampyrisError)


@pytest.mark.parametrize("cls", TREE, ids=_name)
def test_every_class_declares_its_status_and_its_own_code(cls: type[LampyrisError]) -> None:
    assert "code" in vars(cls) and "status" in vars(cls)
    assert isinstance(cls.status, int) and 400 <= cls.status <= 599
    assert isinstance(cls.code, str) and cls.code == cls.code.lower() and " " not in cls.code
    assert LampyrisError.by_code(cls.code) is cls
    assert LampyrisError.by_name(cls.__name__) is cls


def test_codes_are_unique_and_the_registry_lists_the_tree() -> None:
    codes = [c.code for c in TREE]
    assert len(set(codes)) == len(codes)
    assert set(TREE) <= set(LampyrisError.classes())
    assert LampyrisError.classes()[0] is LampyrisError


@pytest.mark.parametrize(("cls", "status", "code"), [
    (LampyrisError, 500, "internal_error"),
    (CorruptImageError, 400, "corrupt_image"),
    (errors.ImageTooLargeError, 413, "image_too_large"),
    (errors.UnsupportedImageError, 415, "unsupported_image"),
    (errors.ForbiddenUrlError, 400, "forbidden_url"),
    (errors.StorageUnavailableError, 503, "storage_unavailable"),
    (errors.TransferTooSlowError, 504, "transfer_too_slow"),
    (errors.UnknownObjectError, 404, "unknown_object"),
    (client_errors.NotFoundError, 404, "service_not_found"),
    (client_errors.RequestRejectedError, 400, "service_rejected_request"),
])
def test_some_facts(cls: type[LampyrisError], status: int, code: str) -> None:
    assert (cls.status, cls.code) == (status, code)


def test_the_storage_status_is_not_the_class_status() -> None:
    denied = StorageDeniedError("gone", 404)
    assert (denied.storage_status, denied.status) == (404, StorageDeniedError.status)
    assert StorageCredentialsError("no key").storage_status is None


def test_a_client_error_holds_the_service_answer_and_its_class_its_own_facts() -> None:
    answer = client_errors.NotFoundError(404, "unknown_job_id", "The job id is unknown.")
    assert (answer.status, answer.code) == (404, "unknown_job_id")
    unreachable = client_errors.ServiceConnectionError(None, "connection_error", "refused")
    assert unreachable.status is None
    assert client_errors.ServiceConnectionError.status == 503
    assert Failure.of(answer).code == "service_not_found"  # the class's, not the service's
    assert isinstance(answer, LampyrisError)


@pytest.mark.parametrize("stage", [*STAGES, None])
@pytest.mark.parametrize("cls", TREE, ids=_name)
def test_a_failure_round_trips_through_json(cls: type[LampyrisError], stage: Stage | None):
    exc = _instance(cls)
    failure = Failure.of(exc, stage)
    assert (failure.code, failure.status, failure.stage) == (cls.code, cls.status, stage)
    assert failure.message == str(exc)
    stored = json.loads(json.dumps(failure.record()))  # what the job row holds
    again = Failure.read(stored)
    assert again == failure and again.error_class() is cls
    assert Failure.model_validate_json(failure.model_dump_json()).error_class() is cls


def test_a_storage_refusal_keeps_what_the_storage_answered() -> None:
    failure = Failure.of(StorageDeniedError("expired", 403), "input")
    assert failure.storage_status == 403
    assert Failure.read(failure.record()).storage_status == 403
    assert Failure.of(StorageError("down"), "input").storage_status is None


@pytest.mark.parametrize("cls", SERVER_TREE, ids=_name)
def test_old_rows_name_the_class(cls: type[LampyrisError]) -> None:
    old = {"type": cls.__name__, "message": "why", "stage": "output", "status": None}
    failure = Failure.read(old)
    assert failure.error_class() is cls
    assert (failure.code, failure.message, failure.stage, failure.status) == (
        cls.code, "why", "output", cls.status)
    assert Failure.model_validate(old) == failure


@pytest.mark.parametrize(("old", "cls", "expected"), [
    ({"type": "StorageDeniedError", "message": "m", "stage": "input", "status": 403},
     StorageDeniedError, {"stage": "input", "storage_status": 403}),
    ({"type": "CorruptImageError", "message": "m"}, CorruptImageError, {"stage": "image"}),
    ({"type": "InternalError", "message": "internal error: boom"}, LampyrisError,
     {"message": "internal error: boom", "status": 500}),
    ({"type": "JobCancelled", "message": "The job was cancelled."}, LampyrisError, {}),
    ({"type": "JobError"}, JobError, {"message": "", "status": 500}),
    ({"type": "InputError", "stage": "elsewhere", "status": "403"}, InputError,
     {"stage": None, "storage_status": None}),
])
def test_old_rows_of_every_kind_read(old: dict[str, Any], cls: type[LampyrisError],
                                     expected: dict[str, Any]) -> None:
    failure = Failure.read(old)
    assert failure.error_class() is cls
    assert {k: getattr(failure, k) for k in expected} == expected


@pytest.mark.parametrize("row", [None, {}, {"message": "odd"}, {"code": 7}, {"code": "x",
                                                                             "status": "no"}])
def test_an_unreadable_row_is_an_internal_error(row: dict[str, Any] | None) -> None:
    failure = Failure.read(row)
    assert failure.error_class() is LampyrisError and failure.status == 500
    assert failure.message == ("odd" if row == {"message": "odd"} else "internal error")


def test_a_code_unknown_here_keeps_its_status() -> None:
    failure = Failure.read({"code": "from_a_newer_worker", "message": "m", "status": 503})
    assert failure.error_class() is LampyrisError and failure.status == 503


def test_anything_else_is_recorded_as_an_internal_error() -> None:
    failure = Failure.of(ZeroDivisionError("division by zero"), "image")
    assert (failure.code, failure.status, failure.stage) == ("internal_error", 500, "image")
    assert failure.message == "internal error: ZeroDivisionError('division by zero')"


def test_a_subclass_without_a_code_shares_its_parents() -> None:
    class WorkerGone(JobError):
        pass

    assert (WorkerGone.code, WorkerGone.status) == (JobError.code, JobError.status)
    assert Failure.of(WorkerGone("died")).error_class() is JobError
    assert LampyrisError.by_code(JobError.code) is JobError


def test_a_code_is_one_class_only() -> None:
    with pytest.raises(TypeError, match=r"'corrupt_image' is lampyris\.errors\.CorruptImageError"):
        type("Another", (InputError,), {"code": "corrupt_image"})
    with pytest.raises(TypeError, match="non-empty string"):
        type("Blank", (InputError,), {"code": ""})
    assert LampyrisError.by_code("corrupt_image") is CorruptImageError
