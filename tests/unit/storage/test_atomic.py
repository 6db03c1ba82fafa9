"""Whole-object writes: temp file + rename on a local disk, the store's put elsewhere, with the
content type where the store keeps one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem

from lampyris.storage.atomic import write_atomic


def test_write_atomic_replaces_whole_files(tmp_path: Path) -> None:
    dest = tmp_path / "a" / "b.bin"
    write_atomic(dest, b"one")
    write_atomic(dest, b"two")
    assert dest.read_bytes() == b"two"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["b.bin"]


def test_a_local_filesystem_writes_through_a_temp_file_too(tmp_path: Path) -> None:
    dest = tmp_path / "deep" / "er" / "c.png"
    write_atomic(str(dest), b"png", LocalFileSystem(), content_type="image/png")
    assert dest.read_bytes() == b"png"
    assert [p.name for p in dest.parent.iterdir()] == ["c.png"]


def test_an_interrupted_write_keeps_the_old_file_and_no_temp(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "b.bin"
    write_atomic(dest, b"old")

    def fail(self: Path, target: Path) -> Path:
        raise OSError("disk gone")

    monkeypatch.setattr(Path, "replace", fail)
    with pytest.raises(OSError, match="disk gone"):
        write_atomic(dest, b"new")
    assert dest.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["b.bin"]


def test_an_object_store_gets_one_put(memfs: MemoryFileSystem) -> None:
    write_atomic("/bucket/out/a.png", b"first", memfs, content_type="image/png")
    write_atomic("/bucket/out/a.png", b"second", memfs)
    assert memfs.cat_file("/bucket/out/a.png") == b"second"
    assert memfs.find("/bucket") == ["/bucket/out/a.png"]


class Recorder(MemoryFileSystem):
    """A stand-in store that records what ``pipe_file`` was given."""

    def __init__(self, protocol: str) -> None:
        super().__init__()
        self.protocol = protocol  # type: ignore[assignment]
        self.calls: list[dict[str, Any]] = []

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite",  # type: ignore[override]
                  **kwargs: Any) -> None:
        self.calls.append(kwargs)


@pytest.mark.parametrize(("protocol", "kwargs"), [
    ("s3", {"ContentType": "image/png"}),
    ("az", {"content_settings": {"content_type": "image/png"}}),
    ("dropbox", {}),
])
def test_the_content_type_goes_where_the_store_keeps_it(protocol: str,
                                                        kwargs: dict[str, Any]) -> None:
    store = Recorder(protocol)
    write_atomic("b/a.png", b"x", store, content_type="image/png")
    write_atomic("b/a.png", b"x", store)
    assert store.calls == [kwargs, {}]
