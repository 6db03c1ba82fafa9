"""Every error the server answers, in the shape of the API family the request belongs to.

One place maps lampyris' exception tree (and job failures recorded by workers) to Adobe's wire
shapes: IMS ``{error, error_description}``, Photoshop v1 (Sensei) ``{type, code, title,
details}`` with the HTTP status as ``code``, Lightroom the same keys with Adobe's words
(``{type: "validation_error", code: "invalid_input", …}``), Photoshop v2 and Firefly
``{error_code, message}`` (Firefly's ``validation_errors`` in pydantic-v1 words, ``loc``
starting at ``"body"``; Photoshop v2's ``errors[]`` only for more than one problem, as its
spec says), and the gateway's 401/403 ``{error_code: "401013" | "403000" | "403003",
message}`` for any route. The v1 shapes also carry ``error_code``, the family-neutral code the
others' words come from (``invalid_asset_link``, ``upload_failed``…).

An exception, or a job's recorded ``lampyris.failure.Failure``, maps by its class (walking the
MRO) and the stage it failed in; its status is the class's own ``status`` unless the stage
decides (a storage error on the input is Adobe's 410, on the output 409).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from lampyris.api.validation_words import v1_error_type
from lampyris.errors import (
    ForbiddenUrlError,
    ImageTooLargeError,
    InputError,
    LampyrisError,
    ModelError,
    ObjectTooLargeError,
    StorageError,
    UnsupportedImageError,
)
from lampyris.failure import Failure, Stage

Family = Literal["ims", "photoshop_v1", "photoshop_v2", "firefly", "lightroom", "gateway"]

_V1_TYPES = {400: "InputValidationError", 401: "InvalidAuthTokenError", 404: "ResourceNotFound",
             409: "JobError", 410: "JobError", 413: "InputValidationError",
             415: "InvalidContentTypeError", 429: "JobError", 500: "UndefinedError"}
# Lightroom's spec examples: 400 {type: validation_error, code: invalid_input}, 402
# {type: trial_limit_exceeded}, others {type: error, code: forbidden | not_found | upload_failed
# | invalid_asset_link}.
_LR_TYPES = {400: "validation_error", 402: "trial_limit_exceeded"}
_LR_CODES = {"validation_error": "invalid_input", "invalid_json": "invalid_input",
             "unknown_job_id": "not_found", "access_error": "forbidden"}


def family_of(path: str) -> Family:
    """The error shape a path's spec answers in: Photoshop v1's for Sensei, ``pie/psdService``
    and the v1 masking routes; Firefly's for v3/v4, uploads and the legacy ``images`` routes;
    Photoshop v2's for the rest (``/v2/…``, ``/v1/auto-crop``)."""
    if path.startswith("/ims/"):
        return "ims"
    if path.startswith(("/sensei/", "/pie/", "/v1/mask-", "/v1/refine-mask",
                        "/v1/fill-masked-areas", "/v1/status/")):
        return "photoshop_v1"
    if path.startswith("/lrService/"):
        return "lightroom"
    if path.startswith(("/v3/", "/v4/", "/v2/storage/", "/v1/images/", "/v2/images/")):
        return "firefly"
    return "photoshop_v2"


class ApiError(Exception):
    """Answer ``status`` with ``code`` and ``message`` in the route family's shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        family: Family | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.headers = headers or {}
        self.family = family


def error_body(
    family: Family, status: int, code: str, message: str, details: list[dict[str, Any]]
) -> dict[str, Any]:
    if family == "ims":
        return {"error": code, "error_description": message}
    if family == "gateway":
        return {"error_code": code, "message": message}
    if family == "photoshop_v1":
        return {"type": _V1_TYPES.get(status, "JobError"), "code": str(status), "title": message,
                "error_code": code, "details": _v1_details(details)}
    if family == "lightroom":
        return {"type": _LR_TYPES.get(status, "error"), "code": _LR_CODES.get(code, code),
                "title": message, "error_code": code, "details": _v1_details(details)}
    body: dict[str, Any] = {"error_code": code, "message": message}
    if details and family == "firefly":
        body["validation_errors"] = [firefly_validation_error(d) for d in details]
    elif len(details) > 1:  # PS v2's ErrorResponse: "only populated when there are multiple"
        body["errors"] = [{"error_code": code, "message": f"{d['name']}: {d['reason']}"}
                          for d in details]
    return body


_V1_DETAIL_KEYS = ("name", "reason", "allowedValues")


def _v1_details(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Photoshop v1's and Lightroom's ``{name, reason, allowedValues?}``: Firefly's extra keys
    (``loc``, ``type``, ``ctx``) stay out."""
    return [{k: d[k] for k in _V1_DETAIL_KEYS if k in d} for d in details]


def firefly_validation_error(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A detail as Firefly's ``{loc, msg, type, ctx?}``: ``loc`` starts with ``"body"`` for a
    body field (a detail names its field without it), ``type`` is pydantic v1's word."""
    loc = detail.get("loc") or _path(detail["name"])
    if not loc or loc[0] not in _LOC_ROOTS:
        loc = ["body", *loc]
    entry: dict[str, Any] = {"loc": list(loc), "msg": detail["reason"],
                             "type": detail.get("type", "value_error")}
    if detail.get("ctx"):
        entry["ctx"] = detail["ctx"]
    return entry


_LOC_ROOTS = ("body", "query", "path", "header")


def _path(name: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in name.split(".") if p]


def firefly_invalid(field: str, reason: str, *, status: int = 422, kind: str = "value_error",
                    ctx: Mapping[str, Any] | None = None) -> ApiError:
    """A Firefly route's own refusal of one body field, shaped like FastAPI's: 422
    ``validation_error`` with ``loc`` ``["body", *field]`` and a pydantic-v1 ``type``
    (``value_error.missing``, ``type_error.enum`` with ``ctx={"enum_values": [...]}``…)."""
    detail: dict[str, Any] = {"name": field, "reason": reason, "type": kind}
    if ctx:
        detail["ctx"] = dict(ctx)
    return ApiError(status, "validation_error", f"{field}: {reason}", details=[detail],
                    family="firefly")


@dataclass(frozen=True)
class WireFailure:
    """How a failed job or a refused request is described on the wire: the HTTP status, the
    family-neutral code (each family's words come from it), the message, the field at fault."""

    status: int
    code: str
    message: str
    field: str


# (class, stage) → (status, code) on the wire, a status of None keeping the class's own.
# Walking the failed class's MRO, the first class with an entry for the failure's stage, or for
# any stage (None), wins, and the stage names the field at fault; a class with none answers
# its own status with ``runtime_error`` (5xx) or its own precise code, and names no field.
_WIRE: dict[tuple[type[LampyrisError], Stage | None], tuple[int | None, str]] = {
    (ForbiddenUrlError, None): (None, "forbidden_url"),
    (ObjectTooLargeError, None): (None, "input_too_large"),
    (StorageError, "input"): (410, "invalid_asset_link"),
    (StorageError, "output"): (409, "upload_failed"),
    (ImageTooLargeError, None): (None, "input_too_large"),
    (UnsupportedImageError, None): (None, "unsupported_media_type"),
    (InputError, None): (None, "invalid_input"),
    (ModelError, None): (None, "runtime_error"),
}
_FIELDS: dict[Stage | None, str] = {"input": "input.href", "output": "output.href",
                                    "image": "input"}


def describe_failure(error: Mapping[str, Any] | Failure | None) -> WireFailure:
    """A job's recorded failure (``Failure``, or a job row's ``error`` in either format) in
    wire terms."""
    failure = Failure.read(error)
    for ancestor in failure.error_class().__mro__:
        wire = _WIRE.get((ancestor, failure.stage)) or _WIRE.get((ancestor, None))
        if wire is not None:
            return WireFailure(wire[0] or failure.status, wire[1], failure.message,
                               _FIELDS.get(failure.stage, ""))
    code = "runtime_error" if failure.status >= 500 else failure.code
    return WireFailure(failure.status, code, failure.message or "internal error", "")


def describe_error(exc: LampyrisError, stage: Stage | None = None) -> WireFailure:
    """An exception raised while answering a request (no job), in wire terms."""
    return describe_failure(Failure.of(exc, stage))


# Photoshop v2's code for a failed job's ``errorDetails[].errorCode``: the status guide's
# failed example (``400401``, "The value provided is not valid.") for anything the request
# got wrong, its ErrorResponse table's ``runtime_error`` for the service's own failures.
ADOBE_VALUE_INVALID = "400401"
ADOBE_RUNTIME_ERROR = "runtime_error"


def adobe_job_code(failure: WireFailure) -> str:
    """Adobe's code for a failed Photoshop v2 job; our precise one is in ``lampyris``."""
    return ADOBE_RUNTIME_ERROR if failure.status >= 500 else ADOBE_VALUE_INVALID


def lampyris_error(failure: WireFailure) -> dict[str, Any]:
    """The ``lampyris`` extension of a failed job's status: our code, status and field."""
    return {"error": {"code": failure.code, "status": failure.status, "field": failure.field}}


def v2_job_failure(failure: WireFailure) -> dict[str, Any]:
    """A failed Photoshop v2 job's status fields: ``error_code``/``message`` (the remove-
    background ``JobStatusFailed``; ours, precise), ``errorDetails`` with Adobe's code (the v2
    ``JobStatusResponse``), and ``lampyris`` with the code, status and field."""
    return {"error_code": failure.code, "message": failure.message,
            "errorDetails": [{"errorCode": adobe_job_code(failure), "message": failure.message}],
            "lampyris": lampyris_error(failure)}


def validation_details(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    """A one-line summary and per-field details from FastAPI's validation error; a detail
    keeps the whole ``loc`` and the v1 ``type``/``ctx`` for Firefly's shape."""
    details: list[dict[str, Any]] = []
    for problem in exc.errors():
        full = list(problem.get("loc", ()))
        loc = [str(p) for p in full if p != "body"]
        kind, ctx = v1_error_type(problem)
        detail: dict[str, Any] = {"name": ".".join(loc) or "body", "reason": problem["msg"],
                                  "loc": full or ["body"], "type": kind}
        if ctx:
            detail["ctx"] = ctx
        if loc and loc[-1] == "storage":
            detail["allowedValues"] = "external, azure, dropbox"
        details.append(detail)
    if any(p.get("type") == "json_invalid" for p in exc.errors()):
        return "the request body is not valid JSON", details
    summary = "; ".join(f"{d['name']}: {d['reason']}" for d in details)
    return f"request validation failed: {summary}", details


_HTTP_CODES = {404: "not_found", 405: "unsupported_method", 413: "request_too_large",
               415: "invalid_content_type"}


def http_error(exc: HTTPException) -> ApiError:
    """Starlette's own refusals (no route, wrong method, body too large) as our error."""
    return ApiError(exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"),
                    str(exc.detail), headers=dict(exc.headers or {}))


def not_implemented(method: str, path: str) -> ApiError:
    """An operation of Adobe's that lampyris does not serve: Firefly's 501 ``not_implemented``
    (in each family's shape), so a script sees "not here", not "wrong base URL"."""
    return ApiError(501, "not_implemented",
                    f"lampyris does not implement {method} {path} (see docs/compatibility.md)")


def respond(request: Request, err: ApiError) -> JSONResponse:
    family = err.family or family_of(request.url.path)
    return JSONResponse(error_body(family, err.status, err.code, err.message, err.details),
                        status_code=err.status, headers=err.headers)


def install_handlers(app: FastAPI) -> None:
    """Route every error through ``respond`` so no FastAPI default shape leaks out."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return respond(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        message, details = validation_details(exc)
        code = "invalid_json" if message.startswith("the request body") else "validation_error"
        status = 400
        family = family_of(request.url.path)
        if family == "ims":
            code = "invalid_request"
        elif family == "firefly" and code == "validation_error":
            status = 422  # Firefly's ValidationErrorResponse, loc starting at "body"
        return respond(request, ApiError(status, code, message, details=details))

    async def on_lampyris(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LampyrisError)
        failure = describe_error(exc)
        return respond(request, ApiError(failure.status, failure.code, failure.message))

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        return respond(request, ApiError(500, "runtime_error", "Internal Server Error."))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(LampyrisError, on_lampyris)
    app.add_exception_handler(Exception, on_crash)
