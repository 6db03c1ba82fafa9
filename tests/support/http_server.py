"""A real, scriptable HTTP(S) server on 127.0.0.1 for the storage tests (no mocked network).

By default it behaves like a tiny object store keyed by path (PUT/POST store the body, GET
serves it, 404 otherwise); a test scripts a path to answer a sequence of replies instead, and
reads back every request the server received.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lampyris.storage import Blob, StorageSettings

LOOPBACK = "127.0.0.0/8"


@dataclass(frozen=True)
class Reply:
    """One scripted answer; ``delay`` holds back the status line, ``chunked`` drops the length."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunked: bool = False
    content_length: int | None = None  # lie about the length (the cap must act on the header)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-cased names
    body: bytes


class ScriptedServer:
    """The server's state, shared by the handler threads and the test."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.objects: dict[str, Blob] = {}
        self.sni_names: list[str | None] = []
        self.stopping = threading.Event()
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self.port = 0
        self.scheme = "http"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer ``path`` with these replies in turn; the last one repeats."""
        self._scripts[path] = list(replies)

    def hits(self, path: str) -> int:
        return sum(urlsplit(r.path).path == path for r in self.requests)

    def next_reply(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            key = urlsplit(recorded.path).path
            script = self._scripts.get(key)
            if script:
                return script.pop(0) if len(script) > 1 else script[0]
            if recorded.method in ("PUT", "POST"):
                content_type = recorded.headers.get("content-type", "")
                self.objects[key] = Blob(recorded.body, content_type)
                return Reply(201)
            blob = self.objects.get(key)
        if blob is None:
            return Reply(404, b"no such object")
        return Reply(200, blob.data, {"Content-Type": blob.content_type})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def _serve(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = state.next_reply(Recorded(self.command, self.path, headers, body))
        if reply.delay and state.stopping.wait(reply.delay):
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Connection", "close")
            if reply.chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(reply.body), 16384):
                    chunk = reply.body[start : start + 16384]
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                length = len(reply.body) if reply.content_length is None else reply.content_length
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up on purpose (cap, timeout)
        self.close_connection = True

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ScriptedServer) -> None:
        self.state = state
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # aborted connections are the point of several tests


def serve(state: ScriptedServer, tls: ssl.SSLContext | None) -> Iterator[ScriptedServer]:
    """Run the server until the generator is resumed (a fixture's setup and teardown)."""
    server = _Server(state)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        state.scheme = "https"
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield state
    finally:
        state.stopping.set()
        server.shutdown()
        thread.join()
        server.server_close()


def fast_settings(**overrides: object) -> StorageSettings:
    """Settings for tests: loopback allowed, tiny backoff and timeout."""
    values: dict[str, object] = {
        "allow_private_urls": LOOPBACK,
        "storage_retries": 2,
        "storage_backoff": 0.001,
        "storage_timeout": 2.0,
        "storage_retry_after_max": 0.01,
    }
    values.update(overrides)
    return StorageSettings(**values)  # type: ignore[arg-type]


def tls_contexts(cert_name: str, tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway CA and a server certificate for ``cert_name``: (server, client) contexts.

    A test that wants the SNI names the server saw sets ``server.sni_callback`` itself.
    """
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def issue(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: Any, signer: Any, ca: bool
    ) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                critical=False,
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lampyris test CA")])
    ca_cert = issue("lampyris test CA", ca_key, ca_name, ca_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = issue(cert_name, leaf_key, ca_name, ca_key, ca=False)

    pem = serialization.Encoding.PEM
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    cert_file.write_bytes(leaf_cert.public_bytes(pem))
    key_file.write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=ca_cert.public_bytes(pem).decode())
    return server, client
