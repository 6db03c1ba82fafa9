"""The in-process server (``support.inprocess``) for the route tests: one per test module,
with a scripted HTTP server on 127.0.0.1 that holds the inputs and takes the outputs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lampyris.storage import Blob
from support.http_server import ScriptedServer, serve
from support.images import product_photo
from support.inprocess import InProcessServer, inprocess_server


@pytest.fixture(scope="module")
def inproc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    with inprocess_server(tmp_path_factory.mktemp("inprocess")) as live:
        yield live


@pytest.fixture(scope="module")
def photo() -> bytes:
    return product_photo()


@pytest.fixture(scope="module")
def source(photo: bytes) -> Iterator[ScriptedServer]:
    """``/photo.jpg`` (a red disc on grey, 640x480) to read; PUT anything to store it."""
    state = ScriptedServer()
    state.objects["/photo.jpg"] = Blob(photo, "image/jpeg")
    yield from serve(state, None)
