"""``GET /files/{key}``: results the server hosts, behind signed, expiring URLs.

The signature is the credential (like a pre-signed S3 URL), so no token is needed: a result
URL can be handed to a browser or a downstream system as is.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from lampyris.api.errors import ApiError
from lampyris.api.services import Services, services
from lampyris.errors import InvalidParameterError, UnknownObjectError
from lampyris.storage import LocalObjectStore

router = APIRouter(tags=["Files"])


@router.get("/files/{key:path}", summary="Download a hosted result (signed URL)")
def download(
    key: str,
    expires: int = Query(...),
    signature: str = Query(...),
    svc: Services = Depends(services),
) -> Response:
    valid, blob = False, None
    if not isinstance(svc.objects, LocalObjectStore):  # S3 hands out its own URLs
        raise ApiError(404, "not_found", "Files are served by the object store.")
    try:
        valid = svc.objects.verify(key, expires, signature)
        blob = svc.objects.get(key) if valid else None
    except (UnknownObjectError, InvalidParameterError):
        pass
    if not valid:
        raise ApiError(403, "access_error", "The link is invalid or has expired.")
    if blob is None:
        raise ApiError(404, "not_found", "The file no longer exists.")
    return Response(blob.data, media_type=blob.content_type or "application/octet-stream",
                    headers={"Cache-Control": "private, max-age=3600"})
