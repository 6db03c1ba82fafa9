"""A fake Dropbox HTTP API on 127.0.0.1, backed by a folder: it stands in for Dropbox's cloud,
which the test machines cannot reach.

It answers the real ``dropbox`` SDK's calls that ``dropboxdrivefs`` and lampyris make, in
Dropbox's own JSON shapes and status codes (API v2): ``files/list_folder`` (+ ``/continue``,
paged), ``files/get_metadata``, ``files/get_temporary_link`` (and the link itself, with
ranges), ``files/download``, ``files/upload``, ``files/upload_session/start`` /
``append_v2`` / ``finish``, ``files/delete_v2``, ``files/create_folder_v2`` and
``oauth2/token`` (refresh). Every call checks the bearer token: an unknown one is 401
``invalid_access_token``, an expired one 401 ``expired_access_token``.

``routed_session()`` is a requests session whose transport sends ``https://api.dropboxapi.com``
and ``https://content.dropboxapi.com`` here; give it to the SDK as
``dropbox.Dropbox(token, session=...)``, or patch ``dropbox.dropbox_client.create_session``
to return it.

Usage::

    with FakeDropbox(tmp_path / "box", tokens={"sl.good"}) as box:
        dbx = dropbox.Dropbox("sl.good", session=box.routed_session())
        dbx.files_list_folder("")
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import HTTPAdapter

DROPBOX_HOSTS = frozenset({"api.dropboxapi.com", "content.dropboxapi.com"})
ROOT_AS_SLASH = ('Error in call to API function "files/list_folder": request body: path: '
                 'Specify the root folder as an empty string rather than as "/".')


class ApiFailure(Exception):
    """An answer other than 200: ``status`` with a JSON ``body`` (or a text one for 400)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def route_error(summary: str) -> ApiFailure:
    """A 409 route error, e.g. ``path/not_found``: Dropbox's nested-tag JSON."""
    tags = summary.split("/")
    error: dict[str, Any] = {".tag": tags[-1]}
    for tag in reversed(tags[:-1]):
        error = {".tag": tag, tag: error}
    return ApiFailure(409, {"error_summary": f"{summary}/..", "error": error})


def auth_error(tag: str) -> ApiFailure:
    return ApiFailure(401, {"error_summary": f"{tag}/", "error": {".tag": tag}})


@dataclass
class Call:
    route: str
    arg: Any
    token: str | None


@dataclass
class FakeDropbox:
    """The server: ``root`` holds the files (``/Apps/x.jpg`` is ``root/Apps/x.jpg``)."""

    root: Path
    tokens: set[str] = field(default_factory=lambda: {"sl.good"})
    expired: set[str] = field(default_factory=set)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh → access token
    page_size: int = 2  # small, so every listing pages through list_folder/continue
    calls: list[Call] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _cursors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _sessions: dict[str, bytearray] = field(default_factory=dict)
    _links: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- life ------------------------------------------------------------------------------
    def __enter__(self) -> FakeDropbox:
        self.root.mkdir(parents=True, exist_ok=True)
        fake = self

        class Handler(_Handler):
            box = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "use the fake as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def routed_session(self) -> requests.Session:
        """A session that sends Dropbox's API and content hosts to this server."""
        session = requests.Session()
        session.trust_env = False  # no proxy from the environment for 127.0.0.1
        session.mount("https://", _Reroute(self.base_url))
        return session

    def expire(self, token: str) -> None:
        """From now on ``token`` is answered 401 ``expired_access_token``."""
        with self._lock:
            self.tokens.discard(token)
            self.expired.add(token)

    def routes(self) -> list[str]:
        return [c.route for c in self.calls]

    # -- the API ----------------------------------------------------------------------------
    def call(self, route: str, arg: Any, token: str | None, body: bytes) -> tuple[Any, bytes]:
        """Answer one call: (JSON result, content bytes for a download)."""
        with self._lock:
            self.calls.append(Call(route, arg, token))
            if route == "oauth2/token":
                return self._refresh(arg), b""
            self._check(token)
            handler = getattr(self, "_" + route.replace("/", "_"), None)
            if handler is None:
                raise ApiFailure(400, f"Unknown API function: {route!r}")
            result = handler(arg, body)
            return result if isinstance(result, tuple) else (result, b"")

    def _check(self, token: str | None) -> None:
        if token is None:
            raise ApiFailure(400, 'Error in call to API function: Must provide HTTP header '
                             '"Authorization" or URL parameter "authorization".')
        if token in self.expired:
            raise auth_error("expired_access_token")
        if token not in self.tokens:
            raise auth_error("invalid_access_token")

    def _refresh(self, form: dict[str, str]) -> dict[str, Any]:
        access = self.refresh_tokens.get(form.get("refresh_token", ""))
        if form.get("grant_type") != "refresh_token" or access is None:
            raise ApiFailure(400, {"error": "invalid_grant",
                                   "error_description": "refresh token is invalid or revoked"})
        self.tokens.add(access)
        return {"access_token": access, "token_type": "bearer", "expires_in": 14400}

    def _files_list_folder(self, arg: dict[str, Any], _: bytes) -> dict[str, Any]:
        path = arg["path"]
        if path == "/":
            raise ApiFailure(400, ROOT_AS_SLASH)
        folder = self._disk(path)
        if not folder.exists():
            raise route_error("path/not_found")
        if not folder.is_dir():
            raise route_error("path/not_folder")
        pattern = "**/*" if arg.get("recursive") else "*"
        entries = [self._metadata(p) for p in sorted(folder.glob(pattern))]
        page = int(arg.get("limit") or self.page_size)
        return self._page(entries, page)

    def _files_list_folder_continue(self, arg: dict[str, Any], _: bytes) -> dict[str, Any]:
        entries = self._cursors.pop(arg["cursor"], None)
        if entries is None:
            raise route_error("reset")
        return self._page(entries, self.page_size)

    def _page(self, entries: list[dict[str, Any]], size: int) -> dict[str, Any]:
        cursor = uuid.uuid4().hex
        if len(entries) > size:
            self._cursors[cursor] = entries[size:]
        return {"entries": entries[:size], "cursor": cursor, "has_more": len(entries) > size}

    def _files_get_metadata(self, arg: dict[str, Any], _: bytes) -> dict[str, Any]:
        if arg["path"] in ("", "/"):
            raise ApiFailure(400, 'Error in call to API function "files/get_metadata": '
                             "request body: path: The root folder is unsupported.")
        return self._metadata(self._existing(arg["path"]))

    def _files_get_temporary_link(self, arg: dict[str, Any], _: bytes) -> dict[str, Any]:
        path = self._existing(arg["path"], file=True)
        link = uuid.uuid4().hex
        self._links[link] = arg["path"]
        return {"metadata": self._metadata(path), "link": f"{self.base_url}/link/{link}"}

    def _files_download(self, arg: dict[str, Any], _: bytes) -> tuple[dict[str, Any], bytes]:
        path = self._existing(arg["path"], file=True)
        return self._metadata(path), path.read_bytes()

    def _files_upload(self, arg: dict[str, Any], body: bytes) -> dict[str, Any]:
        return self._write(arg["path"], body)

    def _files_upload_session_start(self, _: dict[str, Any], body: bytes) -> dict[str, Any]:
        session = uuid.uuid4().hex
        self._sessions[session] = bytearray(body)
        return {"session_id": session}

    def _files_upload_session_append_v2(self, arg: dict[str, Any], body: bytes) -> None:
        self._append(arg["cursor"], body)

    def _files_upload_session_finish(self, arg: dict[str, Any], body: bytes) -> dict[str, Any]:
        self._append(arg["cursor"], body)
        data = self._sessions.pop(arg["cursor"]["session_id"])
        return self._write(arg["commit"]["path"], bytes(data))

    def _files_delete_v2(self, arg: dict[str, Any], _: bytes) -> dict[str, Any]:
        path = self._existing(arg["path"], tag="path_lookup")
        metadata = self._metadata(path)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        return {"metadata": metadata}

    def _files_create_folder_v2(self, arg: dict[str, Any], _: bytes) -> dict[str, Any]:
        path = self._disk(arg["path"])
        if path.exists():
            raise route_error("path/conflict/folder")
        path.mkdir(parents=True)
        metadata = self._metadata(path)
        del metadata[".tag"]
        return {"metadata": metadata}

    # -- files --------------------------------------------------------------------------
    def link_bytes(self, link: str) -> bytes | None:
        with self._lock:
            path = self._links.get(link)
        return self._disk(path).read_bytes() if path else None

    def _append(self, cursor: dict[str, Any], body: bytes) -> None:
        data = self._sessions.get(cursor["session_id"])
        if data is None:
            raise route_error("lookup_failed/not_found")
        if cursor["offset"] != len(data):
            raise route_error("lookup_failed/incorrect_offset")
        data.extend(body)

    def _write(self, path: str, data: bytes) -> dict[str, Any]:
        target = self._disk(path)
        if target.is_dir():
            raise route_error("path/conflict/folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return self._metadata(target)

    def _disk(self, path: str) -> Path:
        if path and not path.startswith("/"):
            raise ApiFailure(400, f"Error in call to API function: path: {path!r} did not "
                             "match pattern")
        return self.root.joinpath(*[p for p in path.split("/") if p])

    def _existing(self, path: str, *, file: bool = False, tag: str = "path") -> Path:
        target = self._disk(path)
        if not target.exists():
            raise route_error(f"{tag}/not_found")
        if file and target.is_dir():
            raise route_error(f"{tag}/not_file")
        return target

    def _metadata(self, path: Path) -> dict[str, Any]:
        display = "/" + path.relative_to(self.root).as_posix()
        common = {"name": path.name, "path_display": display, "path_lower": display.lower(),
                  "id": "id:" + hashlib.sha1(display.encode()).hexdigest()[:22]}
        if path.is_dir():
            return {".tag": "folder", **common}
        data = path.read_bytes()
        stamp = datetime.fromtimestamp(int(path.stat().st_mtime), UTC)
        return {".tag": "file", **common, "size": len(data),
                "client_modified": f"{stamp:%Y-%m-%dT%H:%M:%SZ}",
                "server_modified": f"{stamp:%Y-%m-%dT%H:%M:%SZ}",
                "rev": hashlib.sha1(data).hexdigest()[:16], "is_downloadable": True,
                "content_hash": hashlib.sha256(data).hexdigest()}

    def walk(self) -> Iterator[str]:
        """Every file, as a Dropbox path (``/Apps/x.jpg``)."""
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                yield "/" + path.relative_to(self.root).as_posix()


class _Reroute(HTTPAdapter):
    """Sends requests for Dropbox's hosts to the fake (plain HTTP on 127.0.0.1)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url)
        if parts.hostname in DROPBOX_HOSTS:
            request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, *args, **kwargs)


class _Handler(BaseHTTPRequestHandler):
    box: FakeDropbox
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # a temporary link, fetched with a Range header
        link = urlsplit(self.path).path.removeprefix("/link/")
        data = self.box.link_bytes(link)
        if data is None:
            self._send(404, b"not found", "text/plain")
            return
        first, last = 0, len(data) - 1
        wanted = self.headers.get("Range", "")
        if wanted.startswith("bytes="):
            start, _, end = wanted[len("bytes="):].partition("-")
            first, last = int(start or 0), min(int(end) if end else last, last)
        self._send(206 if wanted else 200, data[first:last + 1], "application/octet-stream")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        route = urlsplit(self.path).path.removeprefix("/2/").removeprefix("/")
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        try:
            if route == "oauth2/token":
                arg: Any = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            elif "Dropbox-API-Arg" in self.headers:  # content routes: the argument in a header
                arg = json.loads(self.headers["Dropbox-API-Arg"])
            else:
                arg = json.loads(body or b"null")
            content = body if "Dropbox-API-Arg" in self.headers else b""
            result, download = self.box.call(route, arg, token, content)
        except ApiFailure as failure:
            if isinstance(failure.body, str):
                self._send(failure.status, failure.body.encode(), "text/plain; charset=utf-8")
            else:
                self._send(failure.status, json.dumps(failure.body).encode(), "application/json")
            return
        if route == "files/download":
            self._send(200, download, "application/octet-stream",
                       {"Dropbox-API-Result": json.dumps(result)})
        else:
            self._send(200, json.dumps(result).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Dropbox-Request-Id", uuid.uuid4().hex[:16])
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
