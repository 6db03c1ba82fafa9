"""Hostile storage of the tests' own on 127.0.0.1: bombs, trickles and a sink that will not drink.

``HostileServer`` answers each GET path with an ``Answer`` (bytes, headers, and how fast to send
them) and each PUT/POST path as an object store would, storing the body (read at the path's
``pace`` if one is set: a slow sink). Handlers run on daemon threads and watch the server's
stop event, so a trickle never outlives its test.

Usage::

    with HostileServer() as storage:
        storage.answer("/bomb.jpg", Answer(stacked_gzip_bomb(), {"Content-Encoding": "gzip, gzip"}))
        storage.answer("/trickle.jpg", Answer(photo, pace=Pace(1, 1.0)))  # a byte a second
        storage.sink("/slow-out.png", pace=Pace(1024, 1.0))
        href = storage.url("/bomb.jpg")
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

MiB = 1 << 20


@dataclass(frozen=True)
class Pace:
    """Send (or read) ``step`` bytes, then wait ``every`` seconds, until done."""

    step: int
    every: float


@dataclass(frozen=True)
class Answer:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    pace: Pace | None = None
    status: int = 200


@dataclass
class Visit:
    """One request as the server saw it: when it came, when the client let go or it ended."""

    method: str
    path: str
    started: float
    ended: float | None = None
    moved: int = 0  # body bytes sent (GET) or read (PUT/POST)
    complete: bool = False


class HostileServer:
    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.paces: dict[str, Pace] = {}
        self.uploads: dict[str, bytes] = {}
        self.visits: list[Visit] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, answer: Answer) -> None:
        self.answers[path] = answer

    def sink(self, path: str, pace: Pace | None = None) -> None:
        """Accept uploads to ``path``, reading them at ``pace`` (None: at once)."""
        if pace is not None:
            self.paces[path] = pace

    def visits_to(self, path: str) -> list[Visit]:
        with self._lock:
            return [v for v in self.visits if v.path == path]

    def record(self, method: str, path: str) -> Visit:
        visit = Visit(method, path, time.monotonic())
        with self._lock:
            self.visits.append(visit)
        return visit

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        state = self.server.state
        path = urlsplit(self.path).path
        visit = state.record("GET", path)
        answer = state.answers.get(path)
        if answer is None:
            stored = state.uploads.get(path)
            answer = Answer(b"no such object", status=404) if stored is None else Answer(stored)
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self._send(answer, visit)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client let go: the point of most answers here
        visit.ended = time.monotonic()
        self.close_connection = True

    def _send(self, answer: Answer, visit: Visit) -> None:
        pace = answer.pace
        step = len(answer.body) if pace is None else pace.step
        for start in range(0, len(answer.body), max(step, 1)):
            if start and pace is not None and self.server.state.stopping.wait(pace.every):
                return
            piece = answer.body[start : start + step]
            self.wfile.write(piece)
            self.wfile.flush()
            visit.moved += len(piece)
        visit.complete = True

    def _upload(self) -> None:
        state = self.server.state
        path = urlsplit(self.path).path
        visit = state.record(self.command, path)
        length = int(self.headers.get("Content-Length") or 0)
        pace = state.paces.get(path)
        received = bytearray()
        try:
            while len(received) < length:
                if pace is not None and received and state.stopping.wait(pace.every):
                    break
                want = length - len(received)
                piece = self.rfile.read(want if pace is None else min(pace.step, want))
                if not piece:
                    break  # the client let go
                received += piece
                visit.moved = len(received)
            if len(received) == length:
                state.uploads[path] = bytes(received)
                visit.complete = True
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass
        visit.ended = time.monotonic()
        self.close_connection = True

    do_PUT = do_POST = _upload


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: HostileServer) -> None:
        self.state = state
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # A small receive buffer (inherited by every accepted socket), so a slow sink's pace
        # is what the sender feels: the kernel's default would swallow a test image at once.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        super().server_bind()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hang up on purpose here


@cache
def gzip_of_zeros(size: int) -> bytes:
    """A gzip member of ``size`` zero bytes (a whole number of MiB) in ~1/1000 of that, built in
    a fraction of the time compressing would take: after a full flush the compressor starts
    afresh, so the deflate block of one zero MiB can simply be repeated."""
    assert size % MiB == 0 and size >= 2 * MiB
    zero = bytes(MiB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = deflate.compress(zero) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(zero) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush()
    crc = 0
    for _ in range(size // MiB):
        crc = zlib.crc32(zero, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return header + first + block * (size // MiB - 1) + end + trailer


@cache
def stacked_gzip_bomb() -> bytes:
    """Issue 13's input: gzip of gzip of 1 GiB of zeros, ~2.5 KB on the wire (served as
    ``Content-Encoding: gzip, gzip``)."""
    return zlib.compress(gzip_of_zeros(1024 * MiB), 9, wbits=zlib.MAX_WBITS | 16)
