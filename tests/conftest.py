"""Every test run keeps lampyris's per-user state (the ledgers of URL destinations) in a
folder of its own, never in the home directory of whoever runs the suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = os.environ.get("LAMPYRIS_STATE_DIR")
    os.environ["LAMPYRIS_STATE_DIR"] = str(tmp_path_factory.mktemp("lampyris-state"))
    yield
    if previous is None:
        os.environ.pop("LAMPYRIS_STATE_DIR", None)
    else:
        os.environ["LAMPYRIS_STATE_DIR"] = previous
