"""The guarded HTTP fetch against a real server on 127.0.0.1: retries, limits, redirects."""

from __future__ import annotations

import gzip
import logging
import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from lampyris.errors import (
    ForbiddenUrlError,
    ObjectTooLargeError,
    StorageDeniedError,
    StorageError,
    StorageUnavailableError,
    TransferTooSlowError,
)
from lampyris.storage import Blob, HttpFetcher, StorageSettings, redact
from support.hostile_http import Answer, HostileServer, MiB, Pace, gzip_of_zeros, stacked_gzip_bomb
from support.http_server import Reply, ScriptedServer, tls_contexts

MakeFetcher = Callable[..., HttpFetcher]


def test_get_returns_the_body_and_content_type(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    http_server.script("/in.png", Reply(200, b"\x89PNG...", {"Content-Type": "image/png"}))
    blob = make_fetcher().request("GET", http_server.url("/in.png?X-Amz-Signature=abc"))
    assert (blob.data, blob.content_type) == (b"\x89PNG...", "image/png")
    assert http_server.requests[0].path == "/in.png?X-Amz-Signature=abc"


def test_private_urls_are_refused_without_the_allow_list(http_server: ScriptedServer) -> None:
    with HttpFetcher(StorageSettings()) as fetcher, pytest.raises(ForbiddenUrlError):
        fetcher.request("GET", http_server.url("/in.png"))
    assert http_server.requests == []


def test_5xx_is_retried_until_it_succeeds(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    http_server.script("/flaky", Reply(500), Reply(500), Reply(200, b"ok"))
    assert make_fetcher(storage_retries=3).request("GET", http_server.url("/flaky")).data == b"ok"
    assert http_server.hits("/flaky") == 3


def test_5xx_forever_gives_up_after_the_configured_retries(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    http_server.script("/down", Reply(503))
    with pytest.raises(StorageUnavailableError, match="after 3 attempt"):
        make_fetcher(storage_retries=2).request("GET", http_server.url("/down"))
    assert http_server.hits("/down") == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_4xx_is_denied_at_once(
    http_server: ScriptedServer, make_fetcher: MakeFetcher, status: int
) -> None:
    http_server.script("/denied", Reply(status, b"<Error>AccessDenied</Error>"))
    with pytest.raises(StorageDeniedError) as caught:
        make_fetcher().request("GET", http_server.url("/denied?X-Amz-Signature=SECRET"))
    assert caught.value.storage_status == status
    assert str(status) in str(caught.value)
    assert "127.0.0.1" in str(caught.value)
    assert "SECRET" not in str(caught.value)
    assert http_server.hits("/denied") == 1


def test_429_honours_retry_after_up_to_the_cap(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    http_server.script(
        "/busy", Reply(429, headers={"Retry-After": "3600"}), Reply(429), Reply(200, b"ok")
    )
    waits: list[float] = []
    fetcher = make_fetcher(storage_retry_after_max=0.25, storage_backoff=0.01)
    fetcher._sleep = waits.append
    assert fetcher.request("GET", http_server.url("/busy")).data == b"ok"
    assert waits[0] == 0.25  # Retry-After capped
    assert 0.01 <= waits[1] <= 0.03  # no header: backoff (2nd retry) with jitter


def test_backoff_grows_exponentially_with_jitter(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    http_server.script("/down", Reply(502))
    waits: list[float] = []
    fetcher = make_fetcher(storage_retries=3, storage_backoff=1.0)
    fetcher._sleep = waits.append
    with pytest.raises(StorageUnavailableError):
        fetcher.request("GET", http_server.url("/down"))
    assert len(waits) == 3
    for attempt, wait in enumerate(waits):
        assert 0.5 * 2**attempt <= wait <= 1.5 * 2**attempt


def test_a_response_slower_than_the_timeout_is_unavailable(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    http_server.script("/slow", Reply(200, b"late", delay=1.0))
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError, match="Timeout"):
        make_fetcher(storage_timeout=0.1, storage_retries=1).request(
            "GET", http_server.url("/slow")
        )
    assert time.monotonic() - started < 0.9
    assert http_server.hits("/slow") == 2


def test_an_unreachable_port_is_retried_then_unavailable(make_fetcher: MakeFetcher) -> None:
    waits: list[float] = []
    fetcher = make_fetcher(storage_retries=2)
    fetcher._sleep = waits.append
    with pytest.raises(StorageUnavailableError, match="ConnectError"):
        fetcher.request("GET", "http://127.0.0.1:9/nothing-listens-here")
    assert len(waits) == 2


def test_redirects_are_followed_to_allowed_targets(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    http_server.script("/old", Reply(302, headers={"Location": "/hop"}))
    http_server.script("/hop", Reply(301, headers={"Location": http_server.url("/new")}))
    http_server.script("/new", Reply(200, b"moved"))
    assert make_fetcher().request("GET", http_server.url("/old")).data == b"moved"
    assert [r.path for r in http_server.requests] == ["/old", "/hop", "/new"]


def test_a_redirect_to_the_metadata_service_is_refused(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    location = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    http_server.script("/evil", Reply(302, headers={"Location": location}))
    with pytest.raises(ForbiddenUrlError, match=r"169\.254\.169\.254"):
        make_fetcher().request("GET", http_server.url("/evil"))


def test_redirect_loops_stop_after_five_hops(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    http_server.script("/loop", Reply(302, headers={"Location": "/loop"}))
    with pytest.raises(StorageDeniedError, match="more than 5 redirects"):
        make_fetcher().request("GET", http_server.url("/loop"))
    assert http_server.hits("/loop") == 6


def test_a_307_repeats_the_upload_but_a_302_does_not(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    http_server.script("/put", Reply(307, headers={"Location": "/put-here"}))
    http_server.script("/post", Reply(302, headers={"Location": "/put-here"}))
    fetcher = make_fetcher()
    fetcher.request("PUT", http_server.url("/put"), content=b"data")
    assert http_server.objects["/put-here"].data == b"data"
    with pytest.raises(StorageDeniedError, match="307/308") as caught:
        fetcher.request("POST", http_server.url("/post"), content=b"data")
    assert caught.value.storage_status == 302


def test_content_length_over_the_cap_is_refused_before_reading(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    http_server.script("/big", Reply(200, b"x" * 10, content_length=5_000_000))
    with pytest.raises(ObjectTooLargeError, match="5000000 bytes"):
        make_fetcher(storage_max_bytes=1_000_000).request("GET", http_server.url("/big"))
    assert http_server.hits("/big") == 1


def test_a_chunked_body_over_the_cap_is_cut_off_while_streaming(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    http_server.script("/stream", Reply(200, b"x" * 300_000, chunked=True))
    with pytest.raises(ObjectTooLargeError, match="100000-byte limit"):
        make_fetcher(storage_max_bytes=100_000).request("GET", http_server.url("/stream"))
    small = make_fetcher(storage_max_bytes=300_000).request("GET", http_server.url("/stream"))
    assert len(small.data) == 300_000


def test_connects_to_the_pinned_ip_with_the_original_host_header(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    """Pre-signed signatures cover the Host header: it must be the URL's, not the IP's."""
    http_server.objects["/k.png"] = _blob(b"png")
    fetcher = make_fetcher(resolver={"bucket.example.test": ["127.0.0.1"]})
    url = http_server.url("/k.png?X-Amz-SignedHeaders=host", host="bucket.example.test")
    assert fetcher.request("GET", url).data == b"png"
    assert http_server.requests[0].headers["host"] == f"bucket.example.test:{http_server.port}"


def test_dns_is_resolved_once_so_rebinding_cannot_swap_the_address(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])
    http_server.objects["/k"] = _blob(b"safe")
    fetcher = make_fetcher()
    fetcher.guard._resolver = lambda host, port: next(answers)
    assert fetcher.request("GET", http_server.url("/k", host="rebind.example.test")).data == b"safe"


def test_https_uses_the_url_host_for_sni_and_certificate_checks(
    start_server: Callable[..., ScriptedServer], make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    server_tls, client_tls = tls_contexts("bucket.example.test", tmp_path)
    server = start_server(server_tls)
    server_tls.sni_callback = lambda sock, name, ctx: server.sni_names.append(name)
    server.objects["/k.png"] = _blob(b"secure")
    fetcher = make_fetcher(
        resolver={"bucket.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]},
        transport=httpx.HTTPTransport(verify=client_tls),
    )
    url = server.url("/k.png", host="bucket.example.test")
    assert fetcher.request("GET", url).data == b"secure"
    assert server.sni_names == ["bucket.example.test"]
    with pytest.raises(StorageUnavailableError, match="certificate"):
        fetcher.request("GET", server.url("/k.png", host="other.example.test"))
    assert server.sni_names[1:] == ["other.example.test"]  # not retried: it cannot get better


@pytest.mark.parametrize(
    "reply",
    [Reply(403), Reply(503), Reply(200, b"x" * 100, chunked=True), Reply(200, delay=1.0)],
    ids=["denied", "unavailable", "too-large", "timeout"],
)
def test_errors_and_logs_never_carry_the_query_string(
    http_server: ScriptedServer,
    make_fetcher: MakeFetcher,
    caplog: pytest.LogCaptureFixture,
    reply: Reply,
) -> None:
    http_server.script("/obj", reply)
    url = http_server.url("/obj?X-Amz-Credential=AKIA&X-Amz-Signature=SECRET")
    fetcher = make_fetcher(storage_max_bytes=10, storage_timeout=0.1, storage_retries=1)
    with caplog.at_level(logging.DEBUG), pytest.raises(StorageError) as caught:
        fetcher.request("GET", url)
    for text in (str(caught.value), caplog.text):
        assert "SECRET" not in text
        assert "AKIA" not in text


def test_redact_keeps_only_scheme_and_host() -> None:
    assert redact("https://h.example:8443/b/k.png?sig=1") == "https://h.example:8443/…"
    assert redact("https://content.dropboxapi.com/apitul/1/TOKEN") == (
        "https://content.dropboxapi.com/…"
    )


def _blob(data: bytes) -> Blob:
    return Blob(data, "application/octet-stream")


# -- hostile storage (issue 13): bombs, trickles, sinks that will not drink -------------------


def _peak_bytes(action: Callable[[], object]) -> int:
    """The most Python-allocated memory held at once while ``action`` runs (it must raise)."""
    tracemalloc.start()
    try:
        with pytest.raises(StorageError):
            action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_stacked_gzip_bomb_is_refused_before_any_decoding(
    hostile: HostileServer, make_fetcher: MakeFetcher
) -> None:
    """Issue 13: ``gzip, gzip`` over ~2 KB took a worker from 443 MB to 2.76 GB."""
    hostile.answer("/bomb.jpg", Answer(stacked_gzip_bomb(), {"Content-Encoding": "gzip, gzip"}))
    url = hostile.url("/bomb.jpg?X-Amz-Signature=SECRET")
    fetcher = make_fetcher()
    with pytest.raises(StorageError, match="stacked content-codings are refused") as caught:
        fetcher.request("GET", url)
    assert "SECRET" not in str(caught.value)
    assert _peak_bytes(lambda: fetcher.request("GET", url)) < 4 * MiB


def test_a_gzip_bomb_is_refused_at_the_cap_holding_no_more_than_the_cap(
    hostile: HostileServer, make_fetcher: MakeFetcher
) -> None:
    hostile.answer("/bomb.jpg", Answer(gzip_of_zeros(1024 * MiB), {"Content-Encoding": "gzip"}))
    cap = 8 * MiB
    fetcher = make_fetcher(storage_max_bytes=cap)
    with pytest.raises(ObjectTooLargeError, match=f"decodes .*to over the {cap}-byte limit"):
        fetcher.request("GET", hostile.url("/bomb.jpg"))
    assert _peak_bytes(lambda: fetcher.request("GET", hostile.url("/bomb.jpg"))) < cap + 2 * MiB


def test_the_cap_counts_the_compressed_bytes_too(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    """Random bytes grow when gzipped: under the cap decoded, over it on the wire."""
    data = os.urandom(100_000)
    body = gzip.compress(data)
    http_server.script("/in", Reply(200, body, {"Content-Encoding": "gzip"}, chunked=True))
    with pytest.raises(ObjectTooLargeError, match="100010-byte limit"):
        make_fetcher(storage_max_bytes=100_010).request("GET", http_server.url("/in"))
    assert make_fetcher(storage_max_bytes=len(body)).request(
        "GET", http_server.url("/in")
    ).data == data


def test_an_unknown_content_coding_is_refused(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    """httpx passed unknown codings through undecoded; now they are named and refused."""
    http_server.script("/in", Reply(200, b"\x1f\x9d...", {"Content-Encoding": "compress"}))
    with pytest.raises(StorageError, match="'compress', which lampyris does not decode"):
        make_fetcher().request("GET", http_server.url("/in"))


def _let_go(hostile: HostileServer, path: str, within: float = 2.0) -> None:
    """Wait for the server to see the client hang up (its handler ends early)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        visits = hostile.visits_to(path)
        if visits and all(v.ended is not None for v in visits):
            assert not any(v.complete for v in visits)
            return
        time.sleep(0.02)
    raise AssertionError(f"the client still holds {path}: {hostile.visits_to(path)}")


def test_a_trickling_body_fails_at_the_transfer_deadline(
    hostile: HostileServer, make_fetcher: MakeFetcher
) -> None:
    """Issue 13: one byte every few seconds never trips a per-read timeout."""
    hostile.answer("/trickle.jpg", Answer(bytes(40), pace=Pace(1, 0.25)))  # 10 s in all
    fetcher = make_fetcher(storage_transfer_deadline=1.0, storage_min_transfer_rate=0)
    started = time.monotonic()
    with pytest.raises(TransferTooSlowError) as caught:
        fetcher.request("GET", hostile.url("/trickle.jpg?sig=SECRET"))
    assert 1.0 <= time.monotonic() - started < 2.5  # HEAD: the whole 10 s
    message = str(caught.value)
    assert message.startswith(f"GET http://127.0.0.1:{hostile.port}/… did not finish within")
    assert "the 1 s transfer deadline (LAMPYRIS_STORAGE_TRANSFER_DEADLINE raises it)" in message
    assert "SECRET" not in message
    _let_go(hostile, "/trickle.jpg")
    assert len(hostile.visits_to("/trickle.jpg")) == 1  # a transfer past its deadline: no retry


def test_a_trickling_body_fails_under_the_minimum_rate_after_the_grace(
    hostile: HostileServer, make_fetcher: MakeFetcher
) -> None:
    hostile.answer("/trickle.jpg", Answer(bytes(40), pace=Pace(1, 0.25)))
    fetcher = make_fetcher(storage_min_transfer_rate=1024, storage_min_rate_grace=0.5)
    started = time.monotonic()
    with pytest.raises(TransferTooSlowError, match="under the minimum transfer rate of 1024 b"):
        fetcher.request("GET", hostile.url("/trickle.jpg"))
    assert 0.5 <= time.monotonic() - started < 2.0
    _let_go(hostile, "/trickle.jpg")


def test_a_slow_but_steady_body_gets_through(
    hostile: HostileServer, make_fetcher: MakeFetcher
) -> None:
    body = os.urandom(96 * 1024)
    hostile.answer("/steady.jpg", Answer(body, pace=Pace(4096, 0.02)))  # ~200 KB/s for ~0.5 s
    fetcher = make_fetcher(storage_min_transfer_rate=16 * 1024, storage_min_rate_grace=0.1)
    assert fetcher.request("GET", hostile.url("/steady.jpg")).data == body


def test_an_answer_that_never_comes_fails_at_the_deadline_not_the_read_timeout(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    http_server.script("/late", Reply(200, b"late", delay=5.0))
    fetcher = make_fetcher(storage_timeout=30.0, storage_transfer_deadline=1.0)
    started = time.monotonic()
    with pytest.raises(TransferTooSlowError, match="1 s transfer deadline"):
        fetcher.request("GET", http_server.url("/late"))
    assert time.monotonic() - started < 2.5
    assert http_server.hits("/late") == 1


def test_a_slow_sink_fails_the_upload_at_the_deadline(
    hostile: HostileServer, make_fetcher: MakeFetcher
) -> None:
    hostile.sink("/out.png", pace=Pace(1024, 0.1))  # reads 10 KiB/s
    fetcher = make_fetcher(storage_transfer_deadline=1.0, storage_min_transfer_rate=0)
    started = time.monotonic()
    with pytest.raises(TransferTooSlowError, match=r"PUT .* within the 1 s transfer deadline"):
        fetcher.request("PUT", hostile.url("/out.png"), content=os.urandom(4 * MiB),
                        headers={"Content-Type": "image/png"})
    assert time.monotonic() - started < 2.5
    assert "/out.png" not in hostile.uploads  # the sink drains what it got, then sees EOF


def test_an_upload_to_a_willing_sink_keeps_its_length_and_bytes(
    hostile: HostileServer, make_fetcher: MakeFetcher
) -> None:
    data = os.urandom(3 * MiB + 123)
    make_fetcher().request("PUT", hostile.url("/ok.png"), content=data)
    assert hostile.uploads["/ok.png"] == data


def test_retries_stop_at_the_transfer_deadline(
    http_server: ScriptedServer, make_fetcher: MakeFetcher
) -> None:
    http_server.script("/down", Reply(503))
    fetcher = make_fetcher(storage_retries=8, storage_backoff=0.01, storage_transfer_deadline=1.0)
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError, match="retry would pass the 1 s transfer deadl"):
        fetcher.request("GET", http_server.url("/down"))
    assert time.monotonic() - started < 1.5
    assert http_server.hits("/down") < 9
