"""A Firefly request's body, as Adobe's v3 image routes take it: JSON, or
``multipart/form-data`` with a ``request`` part (the same JSON) and image parts (``files``, or
``files[]`` as form libraries spell a list).

Each image part a source uses is kept as an upload of the caller's (``/v2/storage/image``'s
registry, the same 7 days) once the body is valid, and deleted again if the request does not
become a job. The request refers to it by the part's file name as its ``uploadId``, or,
through a source left empty (``{}``), by order: the first empty source gets the first file not
named, and so on, in the order image, its mask, the mask, the style and structure references.
Adobe's spec says only that both parts exist; that mapping is ours (docs/compatibility.md).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from lampyris.api.auth import Principal, principal
from lampyris.api.errors import ApiError
from lampyris.api.jobs_common import FRESH_UPLOADS
from lampyris.api.services import Services, services
from lampyris.errors import InputError
from lampyris.imaging.decode import probe

Model = TypeVar("Model", bound=BaseModel)
log = logging.getLogger(__name__)
_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"

UPLOAD_TYPES = ("image/jpeg", "image/png", "image/webp", "image/tiff")
_TYPE_OF_FORMAT = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png",
                   "WEBP": "image/webp", "TIFF": "image/tiff"}
MAX_FILES = 6  # image, mask, style and structure references: more is not a Firefly request
# Where a request names images, in the order an empty source takes the next file.
_SOURCES = (("image", "source"), ("image", "mask"), ("mask", "source"),
            ("style", "imageReference", "source"), ("structure", "imageReference", "source"))


def _error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, message, family="firefly")


def keep_upload(svc: Services, owner: str, data: bytes, content_type: str) -> str:
    """Store an image for ``owner`` as an upload; its id. Not an image: a 400."""
    try:
        probe(data)
    except InputError as exc:
        raise _error(400, "bad_request", f"not a readable image: {exc}") from None
    stored = svc.uploads.add(owner, content_type)
    svc.objects.put(stored.key, data, content_type)
    return stored.id


def discard_uploads(svc: Services, owner: str, upload_ids: list[str]) -> None:
    """Forget uploads stored for a request that did not become a job (and their bytes)."""
    for upload_id in upload_ids:
        stored = svc.uploads.get(upload_id, owner)
        if stored is not None:
            try:
                svc.objects.delete(stored.key)
            except Exception as exc:  # the registry entry goes anyway; purge removes the rest
                log.warning("upload %s not deleted: %s", upload_id, exc)
    svc.uploads.forget(list(upload_ids))


def _validated(model: type[Model], data: Any) -> Model:
    """The body as ``model``, or the same 422 a JSON body gets from FastAPI."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None


def _sources(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's image sources, in the order empty ones take the files."""
    found = []
    for path in _SOURCES:
        node: Any = body
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            found.append(node)
    return found


async def _multipart(request: Request, model: type[Model], who: Principal,
                     svc: Services, fresh: list[str]) -> Model:
    """(The body is capped by the app's ``LimitBodies``, as a JSON one is.) Only the files
    a source uses are stored, once the body is valid; their ids are added to ``fresh``."""
    form = await request.form(max_files=MAX_FILES, max_fields=4)
    try:
        part = form.get("request")
        text = await part.read() if isinstance(part, UploadFile) else part
        if not text:
            raise _error(400, "bad_request", "a multipart body needs a 'request' part with the "
                                             "request's JSON")
        try:
            body = json.loads(text)
        except ValueError:
            raise _error(400, "bad_request", "the 'request' part is not valid JSON: send the "
                                             "request's JSON object there") from None
        if not isinstance(body, dict):
            raise _error(400, "bad_request", "the 'request' part must be a JSON object")
        sources = _sources(body)
        named = {s["uploadId"] for s in sources if isinstance(s.get("uploadId"), str)}
        files = [f for key in ("files", "files[]") for f in form.getlist(key)
                 if isinstance(f, UploadFile)]
        by_name = {f.filename: f for f in files if f.filename is not None and f.filename in named}
        unnamed = [f for f in files if f.filename is None or f.filename not in named]
        used: list[tuple[dict[str, Any], UploadFile]] = []
        for source in sources:
            upload_id = source.get("uploadId")
            if isinstance(upload_id, str) and upload_id in by_name:
                used.append((source, by_name[upload_id]))
            elif not source and unnamed:
                used.append((source, unnamed.pop(0)))
                source["uploadId"] = _PLACEHOLDER  # replaced once the file is stored
        # the body is checked before any file is stored: a refused request leaves none behind
        _validated(model, body)
        stored: dict[int, str] = {}  # one upload per file, whichever sources share it
        try:
            for source, file in used:
                if id(file) not in stored:
                    data = await file.read()
                    stored[id(file)] = await run_in_threadpool(
                        keep_upload, svc, who.client_id, data, _content_type(file, data))
                    fresh.append(stored[id(file)])
                source["uploadId"] = stored[id(file)]
            return _validated(model, body)
        except BaseException:
            await run_in_threadpool(discard_uploads, svc, who.client_id, fresh)
            fresh.clear()
            raise
    finally:
        await form.close()


def _content_type(file: UploadFile, data: bytes) -> str:
    """The part's declared image type, else the type its header shows."""
    declared = (file.content_type or "").split(";")[0].strip().lower()
    if declared in UPLOAD_TYPES:
        return declared
    try:
        kind = _TYPE_OF_FORMAT.get(probe(data)[2] or "")
    except InputError:
        kind = None
    if kind is None:
        raise _error(415, "invalid_content_type", f"{file.filename or 'a file'}: the image "
                     f"must be one of {', '.join(UPLOAD_TYPES)}")
    return kind


def firefly_body(model: type[Model]) -> Callable[..., AsyncIterator[Model]]:
    """The route dependency: ``model`` from a JSON body or a multipart one (after the
    caller is authenticated, so a stranger's files are never stored). A multipart body's
    files are deleted again when the route fails before its job is committed
    (``jobs_common.submit`` keeps them from then on)."""

    async def read(request: Request, who: Principal = Depends(principal),
                   svc: Services = Depends(services)) -> AsyncIterator[Model]:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            fresh: list[str] = []
            token = FRESH_UPLOADS.set(fresh)
            try:
                parsed = await _multipart(request, model, who, svc, fresh)
                try:
                    yield parsed
                except BaseException:
                    if fresh:  # no job took them
                        await run_in_threadpool(discard_uploads, svc, who.client_id, fresh)
                    raise
            finally:
                with contextlib.suppress(ValueError):  # closed from another context
                    FRESH_UPLOADS.reset(token)
            return
        raw = await request.body()
        if not raw.strip():
            raise ApiError(400, "empty_input_body", "the request has no body: send the "
                                                    "request's JSON object", family="firefly")
        try:
            data = json.loads(raw)
        except ValueError:
            raise ApiError(400, "invalid_json", "the request body is not valid JSON: send a "
                                                "JSON object (Content-Type: application/json)",
                           family="firefly") from None
        yield _validated(model, data)

    return read
