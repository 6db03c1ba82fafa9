"""Fixtures for the storage tests: real servers on 127.0.0.1, fetchers built for them, and a
clean ``memory://`` filesystem."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator, Sequence

import httpx
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from lampyris.storage import HttpFetcher, UrlGuard
from support.hostile_http import HostileServer
from support.http_server import ScriptedServer, fast_settings, serve


@pytest.fixture
def memfs() -> Iterator[MemoryFileSystem]:
    """The process-wide ``memory://`` filesystem, empty before and after the test."""
    _clear_memory()
    yield MemoryFileSystem()
    _clear_memory()


def _clear_memory() -> None:
    MemoryFileSystem.store.clear()
    MemoryFileSystem.pseudo_dirs.clear()
    MemoryFileSystem.pseudo_dirs.append("")


@pytest.fixture
def http_server() -> Iterator[ScriptedServer]:
    """A plain-HTTP scripted server on 127.0.0.1 (random port), stopped after the test."""
    yield from serve(ScriptedServer(), None)


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    """Bombs, trickles and slow sinks on 127.0.0.1 (random port), stopped after the test."""
    with HostileServer() as server:
        yield server


@pytest.fixture
def start_server() -> Iterator[Callable[[ssl.SSLContext | None], ScriptedServer]]:
    """Start servers with a given server-side TLS context; all stopped after the test."""
    running: list[Iterator[ScriptedServer]] = []

    def start(tls: ssl.SSLContext | None = None) -> ScriptedServer:
        runner = serve(ScriptedServer(), tls)
        running.append(runner)
        return next(runner)

    yield start
    for runner in running:
        next(runner, None)


def static_resolver(table: dict[str, Sequence[str]]) -> Callable[[str, int], Sequence[str]]:
    """A DNS stand-in: names map to the addresses listed, anything else to itself (literals)."""

    def resolve(host: str, port: int) -> Sequence[str]:
        return table.get(host, [host])

    return resolve


@pytest.fixture
def make_fetcher() -> Iterator[Callable[..., HttpFetcher]]:
    """Build fetchers from ``fast_settings`` overrides (plus DNS table/transport); closed after."""
    made: list[HttpFetcher] = []

    def make(
        *,
        resolver: dict[str, Sequence[str]] | None = None,
        transport: httpx.BaseTransport | None = None,
        **settings: object,
    ) -> HttpFetcher:
        config = fast_settings(**settings)
        guard = UrlGuard(config, resolver=static_resolver(resolver)) if resolver else None
        fetcher = HttpFetcher(config, guard=guard, transport=transport)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()
