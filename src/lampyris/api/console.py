"""``/console``: the web console's page and assets, served by the server itself (no CDN).

The page is static (``console_static/``, package data): it signs in through ``/ims/token/v3``
and calls only public routes (Adobe's and ``/lampyris/v1``), so neither the page nor its
assets need a token. Every answer carries a strict Content-Security-Policy (no inline script
or style, nothing from another origin but an S3 object store's, whose pre-signed URLs carry the
results) and ``Cache-Control: no-cache`` (an upgraded server
never runs with a stale script). ``LAMPYRIS_CONSOLE=false`` turns the page and the
``/lampyris/v1`` routes off (404).

Usage:
    lampyris serve            # then open http://127.0.0.1:8000/console
"""

from __future__ import annotations

import re
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from lampyris.api.errors import ApiError

if TYPE_CHECKING:
    from lampyris.api.services import Services

STATIC = "console_static"
PAGE = "index.html"
_CSP = ("default-src 'self'; img-src 'self' data: blob:{objects}; connect-src 'self'{objects}; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'")
CSP = _CSP.format(objects="")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
# Only these kinds are served: a file of another kind in the folder is not the console's.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png",
    ".ico": "image/x-icon", ".webp": "image/webp", ".woff2": "font/woff2",
    ".webmanifest": "application/manifest+json", ".txt": "text/plain; charset=utf-8",
}
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


def objects_origin(svc: Services) -> str | None:
    """The origin of the result URLs when hosted objects live on S3 (pre-signed URLs on the
    bucket's endpoint, which the page shows and fetches), else None: they are the server's."""
    server = svc.config.server
    if not (server.objects_url or "").startswith("s3://"):
        return None
    try:  # signing is local: the URL's own origin, whatever the endpoint and addressing
        url = svc.objects.url("console/origin", 60, "")
    except Exception:
        url = server.objects_endpoint_url or ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def headers_for(request: Request) -> dict[str, str]:
    """``HEADERS``, the S3 bucket's origin added to ``img-src`` and ``connect-src``."""
    origin = objects_origin(request.app.state.services)
    if origin is None:
        return HEADERS
    return {**HEADERS, "Content-Security-Policy": _CSP.format(objects=f" {origin}")}


def console_on(request: Request) -> None:
    """The dependency of every console route: 404 while the setting turns the console off."""
    if not request.app.state.services.config.server.console:
        raise ApiError(404, "not_found", "the console is turned off on this server "
                                         "(LAMPYRIS_CONSOLE=false): ask its operator to turn it on")


router = APIRouter(tags=["Console"], dependencies=[Depends(console_on)],
                   include_in_schema=False)


def static_root() -> Traversable:
    return files("lampyris.api").joinpath(STATIC)


def _asset(path: str) -> tuple[bytes, str] | None:
    """The bytes and content type of ``path`` under the static folder, or None. Each segment
    must be a plain name (no ``..``, no hidden file, no backslash) of a served kind."""
    segments = path.split("/")
    if not all(_SEGMENT.fullmatch(s) and ".." not in s for s in segments):
        return None
    suffix = "." + segments[-1].rsplit(".", 1)[-1] if "." in segments[-1] else ""
    kind = CONTENT_TYPES.get(suffix.lower())
    if kind is None:
        return None
    node = static_root()
    for segment in segments:
        node = node.joinpath(segment)
    try:
        return (node.read_bytes(), kind) if node.is_file() else None
    except OSError:
        return None


def _answer(found: tuple[bytes, str] | None, what: str, request: Request) -> Response:
    if found is None:
        raise ApiError(404, "not_found", f"the console has no {what}: reinstall lampyris "
                                         "if the console's own files are missing")
    data, kind = found
    return Response(data, media_type=kind, headers=headers_for(request))


@router.get("/console")
@router.get("/console/")
def page(request: Request) -> Response:
    """The single page; it needs no token (it signs in by itself)."""
    return _answer(_asset(PAGE), "page", request)


@router.get("/console/assets/{path:path}")
def asset(path: str, request: Request) -> Response:
    """A script, style sheet or icon of the page."""
    return _answer(_asset(path), f"file {path!r}", request)
