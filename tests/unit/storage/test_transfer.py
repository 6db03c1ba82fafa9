"""One transfer's limits on their own: content decoding within the cap, the watch's verdicts."""

from __future__ import annotations

import gzip
import os
import time
import zlib
from collections.abc import Iterator
from itertools import islice

import httpx
import pytest

from lampyris.errors import ObjectTooLargeError, StorageError, TransferTooSlowError
from lampyris.storage import StorageSettings
from lampyris.storage.transfer import (
    CHUNK,
    BrotliDecoder,
    IdentityDecoder,
    TransferClock,
    TransferWatch,
    UploadStream,
    ZlibDecoder,
    decoder_for,
    read_body,
)
from support.hostile_http import MiB, gzip_of_zeros

WHERE = "GET http://storage.test/…"


def _headers(*encodings: str) -> httpx.Headers:
    return httpx.Headers([("Content-Encoding", e) for e in encodings])


def _response(body: bytes, *encodings: str, piece: int = 16 * 1024) -> httpx.Response:
    """A response whose raw body arrives ``piece`` bytes at a time, as from the network."""
    chunks = [body[i : i + piece] for i in range(0, len(body), piece)]
    return httpx.Response(200, headers=_headers(*encodings), stream=_Chunks(chunks))


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


@pytest.mark.parametrize(
    "encodings",
    [("gzip, gzip",), ("gzip", "gzip"), ("deflate, gzip",), ("br, gzip",), ("gzip,identity,br",)],
    ids=["gzip-gzip", "two-headers", "deflate-gzip", "br-gzip", "with-identity"],
)
def test_stacked_content_codings_are_refused(encodings: tuple[str, ...]) -> None:
    with pytest.raises(StorageError, match="stacked content-codings are refused"):
        decoder_for(_headers(*encodings), WHERE)


@pytest.mark.parametrize("encoding", ["compress", "zstd", "x-bomb", "gzip;q=1"])
def test_unknown_content_codings_are_refused(encoding: str) -> None:
    with pytest.raises(StorageError, match="does not decode") as caught:
        decoder_for(_headers(encoding), WHERE)
    assert "gzip, deflate, br, identity" in str(caught.value)


@pytest.mark.parametrize(
    ("encodings", "kind"),
    [((), IdentityDecoder), (("identity",), IdentityDecoder), (("GZIP",), ZlibDecoder),
     (("x-gzip",), ZlibDecoder), (("identity, deflate",), ZlibDecoder)],
)
def test_one_known_coding_picks_its_decoder(encodings: tuple[str, ...], kind: type) -> None:
    assert isinstance(decoder_for(_headers(*encodings), WHERE), kind)


PAYLOAD = os.urandom(50_000) + b"lampyris " * 20_000


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("", PAYLOAD),
        ("identity", PAYLOAD),
        ("gzip", gzip.compress(PAYLOAD)),
        ("gzip", gzip.compress(PAYLOAD[:1000]) + gzip.compress(PAYLOAD[1000:])),  # 2 members
        ("deflate", zlib.compress(PAYLOAD)),
        ("deflate", zlib.compress(PAYLOAD, wbits=-zlib.MAX_WBITS)),  # raw, as some servers do
    ],
    ids=["none", "identity", "gzip", "gzip-members", "deflate", "deflate-raw"],
)
@pytest.mark.parametrize("piece", [1, 7, 16 * 1024])
def test_bodies_decode_to_what_was_encoded(encoding: str, body: bytes, piece: int) -> None:
    response = _response(body, *([encoding] if encoding else []), piece=piece)
    assert read_body(response, 10 * MiB, WHERE) == PAYLOAD


def test_brotli_bodies_decode_within_the_cap() -> None:
    brotli = pytest.importorskip("brotli")
    if not hasattr(brotli.Decompressor, "can_accept_more_data"):
        pytest.skip("brotli < 1.2 cannot bound its output")
    assert read_body(_response(brotli.compress(PAYLOAD), "br"), 10 * MiB, WHERE) == PAYLOAD
    bomb = brotli.compress(bytes(64 * MiB), quality=5)
    decoder = BrotliDecoder(WHERE)
    pieces = list(islice(decoder.feed(bomb), 8))
    assert len(pieces) == 8 and all(len(p) <= 2 * CHUNK for p in pieces)
    with pytest.raises(ObjectTooLargeError, match="decodes"):
        read_body(_response(bomb, "br"), MiB, WHERE)


def test_without_a_bounded_brotli_br_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lampyris.storage.transfer._brotli", lambda: None)
    with pytest.raises(StorageError, match="cannot decode safely"):
        decoder_for(_headers("br"), WHERE)


def test_a_bomb_decodes_one_chunk_at_a_time() -> None:
    """1 GiB of zeros in ~1 MB: each step yields at most CHUNK bytes, lazily."""
    bomb = gzip_of_zeros(1024 * MiB)
    pieces = ZlibDecoder("gzip").feed(bomb)
    first = list(islice(pieces, 16))
    assert [len(p) for p in first] == [CHUNK] * 16


def test_a_bomb_is_refused_at_the_cap_not_after_it() -> None:
    kept: list[int] = []

    class Watch:
        def moved(self, count: int) -> None:
            kept.append(count)

        def body_done(self) -> None:
            raise AssertionError("a bomb never finishes")

    bomb = gzip_of_zeros(1024 * MiB)
    with pytest.raises(ObjectTooLargeError, match=r"decodes \(Content-Encoding gzip\) to over"):
        read_body(_response(bomb, "gzip"), 4 * MiB, WHERE, Watch())  # type: ignore[arg-type]
    assert sum(kept) < 64 * 1024  # ~4 KiB of the 1 MB body were read before the refusal


def test_the_cap_counts_the_compressed_size_too() -> None:
    """Random bytes grow when gzipped: under the cap decoded, over it on the wire."""
    data = os.urandom(100_000)
    body = gzip.compress(data)
    assert len(body) > 100_010
    with pytest.raises(ObjectTooLargeError, match="100010-byte limit"):
        read_body(_response(body, "gzip"), 100_010, WHERE)
    assert read_body(_response(body, "gzip"), len(body), WHERE) == data


def test_a_corrupt_body_is_a_storage_error() -> None:
    body = bytearray(gzip.compress(PAYLOAD))
    body[30:40] = b"\xff" * 10
    with pytest.raises(StorageError, match="does not decode as its Content-Encoding 'gzip'"):
        read_body(_response(bytes(body), "gzip"), 10 * MiB, WHERE)


def _settings(**values: float) -> StorageSettings:
    return StorageSettings(**values)  # type: ignore[arg-type]


def test_the_watch_trips_at_the_deadline() -> None:
    clock = TransferClock(_settings(storage_transfer_deadline=0.3, storage_min_transfer_rate=0))
    started = time.monotonic()
    with pytest.raises(TransferTooSlowError, match=r"0\.3 s transfer deadline") as caught, \
            TransferWatch(clock, WHERE) as watch:
        while True:
            time.sleep(0.02)
            watch.check()
    assert time.monotonic() - started < 0.3 + 1.0
    assert "LAMPYRIS_STORAGE_TRANSFER_DEADLINE" in str(caught.value)


def test_the_watch_trips_under_the_minimum_rate_after_the_grace() -> None:
    settings = _settings(storage_min_transfer_rate=1000, storage_min_rate_grace=0.3)
    started = time.monotonic()
    with pytest.raises(TransferTooSlowError, match="under the minimum transfer rate") as caught, \
            TransferWatch(TransferClock(settings), WHERE) as watch:
        watch.body_started()
        while True:
            time.sleep(0.05)
            watch.moved(10)  # 200 bytes/s
    assert 0.3 <= time.monotonic() - started < 0.3 + 1.0
    assert "LAMPYRIS_STORAGE_MIN_TRANSFER_RATE" in str(caught.value)


def test_the_rate_counts_only_while_a_body_moves() -> None:
    settings = _settings(storage_min_transfer_rate=10**9, storage_min_rate_grace=0.1)
    waited = False
    with pytest.raises(TransferTooSlowError, match="minimum transfer rate"), \
            TransferWatch(TransferClock(settings), WHERE) as watch:
        time.sleep(0.4)  # waiting for an answer: not the body's rate
        watch.check()  # not tripped: the rate was not measured yet
        waited = True
        watch.body_started()
        watch.moved(10)
        time.sleep(0.4)  # now a body crawls: measured, and far under the rate
        watch.check()
    assert waited, "the wait for an answer was counted against the rate"


def test_a_tripped_watch_turns_the_transfers_own_error_into_its_verdict() -> None:
    clock = TransferClock(_settings(storage_transfer_deadline=0.05))
    with pytest.raises(TransferTooSlowError), TransferWatch(clock, WHERE):
        time.sleep(0.4)
        raise httpx.ReadError("connection shut down under the read")


def test_an_upload_is_handed_over_chunk_by_chunk_and_stops_when_tripped() -> None:
    settings = _settings(storage_min_transfer_rate=10 * CHUNK, storage_min_rate_grace=0.2)
    sent: list[int] = []
    with pytest.raises(TransferTooSlowError, match="minimum transfer rate"), \
            TransferWatch(TransferClock(settings), "PUT http://sink.test/…") as watch:
        for piece in UploadStream(bytes(100 * CHUNK), watch):
            sent.append(len(piece))
            time.sleep(0.05)  # a sink draining ~1.3 MB/s, twice the minimum
            if len(sent) == 4:
                time.sleep(0.5)  # then stalling
    assert set(sent) == {CHUNK}
    assert len(sent) < 100
