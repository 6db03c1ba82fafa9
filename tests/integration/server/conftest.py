"""A live ``lampyris serve`` for the server tests, and generated product photos.

``server`` allows loopback URLs (Ceph and Azurite listen on 127.0.0.1); the SSRF tests start
their own server without that allowance.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.images import product_photo
from support.lampyris_server import LampyrisServer, running_server
from support.procs import remove_tree, short_tempdir

LOOPBACK = {"LAMPYRIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8"}


@pytest.fixture(scope="session")
def server() -> Iterator[LampyrisServer]:
    with running_server(env=LOOPBACK) as live:
        yield live


@pytest.fixture
def fresh_server_dir() -> Iterator[Path]:
    data = short_tempdir("lampyris-srv-")
    try:
        yield data
    finally:
        remove_tree(data)


@pytest.fixture(scope="session")
def photo() -> bytes:
    return product_photo()
