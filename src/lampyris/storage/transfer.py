"""The limits on one transfer: a body decoded within the byte cap, a deadline, a minimum rate.

httpx decodes a whole network chunk at once and stacks a decoder per listed content-coding, so
a 1,827-byte body sent as ``Content-Encoding: gzip, gzip`` grew a worker by 2.3 GB before the
byte cap saw a single decoded byte. And a per-read timeout lets a peer that sends one byte
every 10 s hold a worker for as long as it likes. So the fetch reads the raw body itself, lets
at most one content-coding through and decodes it in pieces of at most ``CHUNK`` bytes
(``read_body``), and a watchdog thread cuts the connection of a transfer that passes its
deadline or falls under the minimum rate (``TransferWatch``).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import socket
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Protocol

import httpx

from lampyris.errors import ObjectTooLargeError, StorageError, TransferTooSlowError
from lampyris.storage.settings import StorageSettings

# Decoded bytes per step; httpcore reads the network 64 KiB at a time too. Decoding 256 MiB of
# zeros took 1.6 s in 64 KiB pieces, 1.5 s in 16 KiB ones, 3.6 s in 256 KiB ones and 5.4 s in
# one call (2-core dev VM): bounding the pieces costs nothing.
CHUNK = 64 * 1024
ENCODINGS = ("gzip", "deflate", "br", "identity")
_ALIASES = {"x-gzip": "gzip"}
_GZIP_MAGIC = b"\x1f\x8b"
WATCH_INTERVAL = 0.25  # seconds between the watchdog's looks: how far past a limit one may run


class Decoder(Protocol):
    """One content-coding, decoded incrementally: every piece it yields is at most ~CHUNK."""

    errors: tuple[type[Exception], ...]

    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def finish(self) -> Iterator[bytes]: ...


class IdentityDecoder:
    errors: tuple[type[Exception], ...] = ()

    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def finish(self) -> Iterator[bytes]:
        return iter(())


class ZlibDecoder:
    """``gzip`` (every member of a multi-member body) or ``deflate`` (zlib-wrapped, or the raw
    deflate some servers send under that name, told apart by its first two bytes). Bytes after
    the last gzip member are ignored, as httpx does."""

    errors: tuple[type[Exception], ...] = (zlib.error,)

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding == "gzip"
        self._obj = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._head: bytes | None = None if self._gzip else b""  # deflate: until 2 bytes came
        self._carry = b""
        self._ignoring = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._head is not None:
            data, self._head = self._head + data, None
            if len(data) < 2:
                self._head = data
                return
            wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0  # RFC 1950
            self._obj = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        data, self._carry = self._carry + data, b""
        while data and not self._ignoring:
            if self._obj.eof:  # a member ended: another one, or trailing bytes
                if self._gzip and len(data) < 2 and _GZIP_MAGIC.startswith(data):
                    self._carry = data  # perhaps the next member's first byte
                    return
                if not (self._gzip and data.startswith(_GZIP_MAGIC)):
                    self._ignoring = True
                    return
                self._obj = zlib.decompressobj(zlib.MAX_WBITS | 16)
            yield from self._drain(data)
            data = self._obj.unused_data if self._obj.eof else b""

    def _drain(self, data: bytes) -> Iterator[bytes]:
        """Decode ``data`` CHUNK by CHUNK: zlib holds the rest as ``unconsumed_tail``."""
        while True:
            piece = self._obj.decompress(data, CHUNK)
            if piece:
                yield piece
            data = self._obj.unconsumed_tail
            if self._obj.eof or (not data and len(piece) < CHUNK):
                return

    def finish(self) -> Iterator[bytes]:
        if self._head is None and not self._ignoring and not self._obj.eof:
            rest = self._obj.flush()  # after _drain nothing is pending: this is bytes, not MB
            if rest:
                yield rest


class BrotliDecoder:
    """``br``, through the optional ``brotli`` package (1.2+: the first whose decompressor can
    bound its output). Without it, ``br`` bodies are refused rather than decoded unbounded."""

    def __init__(self, where: str) -> None:
        module = _brotli()
        if module is None:
            raise StorageError(
                f"{where} answered Content-Encoding br, which this server cannot decode safely "
                "(install brotli>=1.2)"
            )
        self.errors: tuple[type[Exception], ...] = (module.error,)
        self._obj = module.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        # A piece stops growing once it reaches the limit (brotli 1.2.1: 96 KiB for 64 KiB);
        # a full one may leave output pending even when more input would be accepted.
        piece = self._obj.process(data, output_buffer_limit=CHUNK)
        while piece:
            yield piece
            if len(piece) < CHUNK and self._obj.can_accept_more_data():
                return
            piece = self._obj.process(b"", output_buffer_limit=CHUNK)

    def finish(self) -> Iterator[bytes]:
        while piece := self._obj.process(b"", output_buffer_limit=CHUNK):
            yield piece


def _brotli() -> Any:
    for name in ("brotli", "brotlicffi"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module.Decompressor, "can_accept_more_data"):
            return module
    return None


def decoder_for(headers: httpx.Headers, where: str) -> Decoder:
    """The decoder for a response's ``Content-Encoding``; StorageError for more than one
    content-coding (``gzip, gzip`` is how a kilobyte becomes gigabytes) or an unknown one."""
    codings = [
        _ALIASES.get(token, token)
        for token in (t.lower() for t in headers.get_list("content-encoding", split_commas=True))
        if token and token != "identity"
    ]
    if len(codings) > 1:
        raise StorageError(
            f"{where} answered Content-Encoding {', '.join(codings)}: stacked content-codings "
            f"are refused (one of {', '.join(ENCODINGS)} is accepted)"
        )
    if not codings:
        return IdentityDecoder()
    if codings[0] in ("gzip", "deflate"):
        return ZlibDecoder(codings[0])
    if codings[0] == "br":
        return BrotliDecoder(where)
    raise StorageError(
        f"{where} answered Content-Encoding {codings[0][:40]!r}, which lampyris does not "
        f"decode (accepted: {', '.join(ENCODINGS)})"
    )


def read_body(
    response: httpx.Response, cap: int, where: str, watch: TransferWatch | None = None
) -> bytes:
    """The decoded body, refused as soon as its raw or its decoded size passes ``cap``.

    Nothing is held beyond the bytes kept plus one raw network chunk and one decoded piece,
    so a bomb is refused at ``cap`` whatever its ratio. ``BytesIO.getvalue`` hands over its
    buffer without a copy, where joining a list of chunks would briefly hold the body twice.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise ObjectTooLargeError(
            f"{where}: object is {declared} bytes, over the {cap}-byte limit "
            "(LAMPYRIS_STORAGE_MAX_BYTES)"
        )
    decoder = decoder_for(response.headers, where)
    kept = io.BytesIO()
    raw = decoded = 0

    def keep(pieces: Iterator[bytes]) -> None:
        nonlocal decoded
        for piece in pieces:
            decoded += len(piece)
            if decoded > cap:
                raise ObjectTooLargeError(
                    f"{where}: object decodes (Content-Encoding "
                    f"{response.headers.get('content-encoding', '')}) to over the {cap}-byte "
                    "limit (LAMPYRIS_STORAGE_MAX_BYTES)"
                )
            kept.write(piece)

    try:
        for chunk in response.iter_raw():
            if watch is not None:
                watch.moved(len(chunk))
            raw += len(chunk)
            if raw > cap:
                raise ObjectTooLargeError(
                    f"{where}: object is over the {cap}-byte limit (LAMPYRIS_STORAGE_MAX_BYTES)"
                )
            keep(decoder.feed(chunk))
        keep(decoder.finish())
    except decoder.errors as exc:
        raise StorageError(
            f"{where}: the body does not decode as its Content-Encoding "
            f"{response.headers.get('content-encoding', '')!r} says ({exc})"
        ) from None
    if watch is not None:
        watch.body_done()
    return kept.getvalue()


class TransferClock:
    """The deadline of one whole transfer: every attempt, retry wait and redirect counts."""

    def __init__(self, settings: StorageSettings) -> None:
        self.settings = settings
        self.deadline = time.monotonic() + settings.storage_transfer_deadline

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self, where: str, last: str = "") -> TransferTooSlowError:
        return TransferTooSlowError(
            f"{where} did not finish within the {self.settings.storage_transfer_deadline:g} s "
            "transfer deadline (LAMPYRIS_STORAGE_TRANSFER_DEADLINE raises it)"
            + (f"; last attempt: {last}" if last else "")
        )


class TransferWatch:
    """One attempt's watchdog: a thread that, once the deadline passes or the body's average
    rate falls under the minimum, shuts the attempt's socket down, which wakes a read or write
    blocked on it. Inside ``with watch:`` whatever that makes the transfer raise comes out as
    ``TransferTooSlowError``.

    The rate counts only while a body moves (the upload, or the answer's body), from its
    start, after ``storage_min_rate_grace`` seconds; waiting for the answer is bounded by the
    per-read timeout and the deadline.
    """

    def __init__(self, clock: TransferClock, where: str) -> None:
        self._clock = clock
        self._where = where
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lampyris-transfer", daemon=True)
        self._tripped: TransferTooSlowError | None = None
        self._moved = 0
        self._body_start: float | None = None

    def __enter__(self) -> TransferWatch:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        if exc is not None and self._tripped is not None and exc is not self._tripped:
            raise self._tripped from None

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore's ``trace`` extension: learn each socket the attempt opens."""
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.append(sock)
                tripped = self._tripped is not None
            if tripped:
                _shut(sock)

    def body_started(self) -> None:
        self._moved, self._body_start = 0, time.monotonic()

    def body_done(self) -> None:
        self._body_start = None

    def moved(self, count: int) -> None:
        self._moved += count
        self.check()

    def check(self) -> None:
        """Raise now if the watchdog has tripped (transports without a socket, tests)."""
        if self._tripped is not None:
            raise self._tripped

    def _verdict(self) -> TransferTooSlowError | None:
        now = time.monotonic()
        if now >= self._clock.deadline:
            return self._clock.expired(self._where)
        settings = self._clock.settings
        start, rate = self._body_start, settings.storage_min_transfer_rate
        if rate and start is not None:
            elapsed = now - start
            if elapsed >= settings.storage_min_rate_grace and self._moved < rate * elapsed:
                return TransferTooSlowError(
                    f"{self._where} moved {self._moved} bytes in {elapsed:.1f} s, under the "
                    f"minimum transfer rate of {rate} bytes/s (LAMPYRIS_STORAGE_MIN_TRANSFER_RATE "
                    "lowers it; 0 turns the check off)"
                )
        return None

    def _run(self) -> None:
        while not self._stop.wait(min(WATCH_INTERVAL, max(self._clock.remaining(), 0.0))):
            verdict = self._verdict()
            if verdict is None:
                continue
            with self._lock:
                self._tripped = verdict
                sockets = list(self._sockets)
            for sock in sockets:
                _shut(sock)
            return


class UploadStream(httpx.SyncByteStream):
    """A request body handed to httpcore CHUNK by CHUNK, so the watch sees it move (and a
    tripped watch stops it between chunks). The caller sets ``Content-Length``."""

    def __init__(self, data: bytes, watch: TransferWatch) -> None:
        self._data = data
        self._watch = watch

    def __iter__(self) -> Iterator[bytes]:
        self._watch.body_started()
        for start in range(0, len(self._data), CHUNK):
            self._watch.check()
            piece = self._data[start : start + CHUNK]
            yield piece
            self._watch.moved(len(piece))
        self._watch.body_done()


def _shut(sock: socket.socket) -> None:
    """Wake whatever blocks on ``sock``. The base class's shutdown, not SSLSocket's, which
    would drop its SSL object under the thread still reading through it."""
    with contextlib.suppress(OSError):  # already closed: the transfer ended on its own
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
