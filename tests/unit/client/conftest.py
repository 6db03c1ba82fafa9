"""Fixtures for the client tests: a scripted server, a fake clock, a client wired to both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lampyris.client import PhotoshopClient

from .scripted import BASE, IMS, FakeTime, ScriptedServer


@pytest.fixture
def server() -> ScriptedServer:
    return ScriptedServer()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(
    server: ScriptedServer, fake_time: FakeTime
) -> Iterator[Callable[..., PhotoshopClient]]:
    """``make_client(**overrides)``: a PhotoshopClient on the scripted server and fake time."""
    made: list[PhotoshopClient] = []

    def make(**overrides: Any) -> PhotoshopClient:
        options: dict[str, Any] = {
            "base_url": BASE,
            "ims_url": IMS,
            "transport": server.transport,
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
        }
        options.update(overrides)
        client = PhotoshopClient("cid", "secret", **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., PhotoshopClient]) -> PhotoshopClient:
    return make_client()
