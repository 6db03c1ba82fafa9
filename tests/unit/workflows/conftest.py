"""Fixtures for the batch engine's unit tests: a clean in-memory filesystem, small generated
inputs the bundled u2netp model segments reliably, and a check that an output is a real cutout.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from PIL import Image

WIDTH, HEIGHT = 160, 120


def _clear_memory() -> None:
    MemoryFileSystem.store.clear()
    MemoryFileSystem.pseudo_dirs.clear()
    MemoryFileSystem.pseudo_dirs.append("")


@pytest.fixture
def memfs() -> Iterator[MemoryFileSystem]:
    """The process-wide ``memory://`` filesystem, empty before and after the test."""
    _clear_memory()
    yield MemoryFileSystem()
    _clear_memory()


def make_image(index: int = 0, fmt: str = "PNG") -> bytes:
    """A saturated red disc on light grey, 160x120; ``index`` moves the disc a little, so
    every index gives a different image (and different bytes)."""
    rgb = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    rgb[:] = (240, 240, 240)
    cx, cy = WIDTH // 2 - 8 + 2 * (index % 9), HEIGHT // 2 - 4 + 2 * (index // 9 % 5)
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    rgb[(xx - cx) ** 2 + (yy - cy) ** 2 <= 36**2] = (200, 30, 30)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, fmt)
    return out.getvalue()


@pytest.fixture(scope="session")
def image() -> Callable[..., bytes]:
    """``image(index, fmt="PNG")``: the bytes of input number ``index``."""
    return make_image


def check_cutout(data: bytes) -> None:
    """``data`` is an RGBA PNG the size of the input: the disc opaque, the corners clear."""
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.format == "PNG"
        assert decoded.mode == "RGBA"
        assert decoded.size == (WIDTH, HEIGHT)
        alpha = np.asarray(decoded)[..., 3]
    assert alpha[HEIGHT // 2, WIDTH // 2] > 200
    for y, x in ((2, 2), (2, WIDTH - 3), (HEIGHT - 3, 2), (HEIGHT - 3, WIDTH - 3)):
        assert alpha[y, x] < 25


@pytest.fixture(scope="session")
def is_cutout() -> Callable[[bytes], None]:
    """``is_cutout(data)`` asserts ``data`` is a real cutout of a generated input."""
    return check_cutout
