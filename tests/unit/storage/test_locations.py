"""Locations and listing: local trees and ``memory://``, suffixes, order, stamps, errors;
every Dropbox URL form; a wrong S3 endpoint fails at once."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from lampyris.errors import InvalidParameterError, StorageError, StorageUnavailableError
from lampyris.storage.locations import Location, list_images

TREE = ["b.png", "a.JPG", "notes.txt", "sub/c.webp", "sub/readme.md", "sub/deep/d.TIFF",
        "sub/deep/e.jpeg", "z/.hidden.heic", "noext"]
IMAGES = ["a.JPG", "b.png", "sub/c.webp", "sub/deep/d.TIFF", "sub/deep/e.jpeg"]  # no dot files


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    for n, rel in enumerate(TREE):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x" * (n + 1))
    (root / "empty-folder.png").mkdir()  # a folder named like an image is not one
    return root


def test_a_local_tree_lists_images_only_with_relative_paths(tree: Path) -> None:
    found = list(list_images(Location(str(tree))))
    assert [f.rel for f in found] == IMAGES
    assert [f.path for f in found] == [str(tree / rel) for rel in IMAGES]
    assert [f.size for f in found] == [TREE.index(rel) + 1 for rel in IMAGES]
    assert all(f.stamp.startswith(f"{f.size}:") and len(f.stamp) > 4 for f in found)


def test_a_trailing_slash_or_file_url_lists_the_same(tree: Path) -> None:
    plain = list(list_images(Location(str(tree))))
    assert list(list_images(Location(f"{tree}/"))) == plain
    assert [f.rel for f in list_images(Location(f"file://{tree}"))] == IMAGES


def test_the_order_is_stable_whatever_the_creation_order(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    for name in ("m.png", "b.png", "z.png", "a.png"):
        (root / name).write_bytes(b"x")
    first = [f.rel for f in list_images(Location(str(root)))]
    assert first == ["a.png", "b.png", "m.png", "z.png"]
    assert [f.rel for f in list_images(Location(str(root)))] == first


def test_the_local_stamp_changes_with_the_content(tmp_path: Path) -> None:
    path = tmp_path / "in" / "a.png"
    path.parent.mkdir()
    path.write_bytes(b"one")
    (before,) = list_images(Location(str(path.parent)))
    assert list(list_images(Location(str(path.parent)))) == [before]
    path.write_bytes(b"two")  # same size: only the mtime can tell
    os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns + 1_000_000_000))
    (same_size,) = list_images(Location(str(path.parent)))
    assert same_size.size == before.size and same_size.stamp != before.stamp
    path.write_bytes(b"longer")
    (longer,) = list_images(Location(str(path.parent)))
    assert longer.stamp.startswith("6:") and longer.stamp != same_size.stamp


def test_memory_lists_nested_images_with_relative_paths(memfs: MemoryFileSystem) -> None:
    for rel in TREE:
        memfs.pipe_file(f"/in/{rel}", b"data")
    memfs.pipe_file("/other/x.png", b"data")
    found = list(list_images(Location("memory://in")))
    assert [f.rel for f in found] == IMAGES
    assert [f.path for f in found] == [f"/in/{rel}" for rel in IMAGES]
    assert [f.rel for f in list_images(Location("memory://in/sub/"))] == [
        "c.webp", "deep/d.TIFF", "deep/e.jpeg"]


def test_the_memory_stamp_changes_when_the_file_is_rewritten(memfs: MemoryFileSystem) -> None:
    memfs.pipe_file("/in/a.png", b"one")
    (before,) = list_images(Location("memory://in"))
    assert list(list_images(Location("memory://in"))) == [before]
    time.sleep(0.002)
    memfs.pipe_file("/in/a.png", b"two")
    (after,) = list_images(Location("memory://in"))
    assert after.size == before.size and after.stamp != before.stamp


def test_a_single_file_source_lists_itself(tree: Path, memfs: MemoryFileSystem) -> None:
    (one,) = list_images(Location(str(tree / "sub" / "c.webp")))
    assert (one.path, one.rel, one.size) == (str(tree / "sub" / "c.webp"), "c.webp", 4)
    memfs.pipe_file("/in/photo.jpg", b"12345")
    (mem,) = list_images(Location("memory://in/photo.jpg"))
    assert (mem.path, mem.rel, mem.size) == ("/in/photo.jpg", "photo.jpg", 5)


def test_an_empty_folder_lists_nothing(tmp_path: Path) -> None:
    assert list(list_images(Location(str(tmp_path)))) == []


@pytest.mark.parametrize("url", ["{tmp}/missing", "{tmp}/missing/deeper/", "memory://missing"])
def test_a_missing_folder_is_a_storage_error(tmp_path: Path, memfs: MemoryFileSystem,
                                             url: str) -> None:
    url = url.format(tmp=tmp_path)
    with pytest.raises(StorageError, match=f"{url}: no such folder"):
        list(list_images(Location(url)))


def test_an_unknown_protocol_is_a_parameter_error() -> None:
    with pytest.raises(InvalidParameterError, match="nosuch://bucket"):
        Location("nosuch://bucket/in").open()


def test_location_urls() -> None:
    assert Location("s3://b/in/").protocol == "s3"
    assert Location("/data/in").protocol == "file"
    assert Location("s3://b/in/").url_of("sub/a.png") == "s3://b/in/sub/a.png"
    assert Location("/data/in").url_of("a.png") == "/data/in/a.png"
    fs, root = Location("memory://in/").open()
    assert isinstance(fs, MemoryFileSystem) and root == "/in"


@pytest.mark.parametrize(("url", "protocol", "below"), [
    ("dropbox://Apps/shop/input", "dropbox", "dropbox://Apps/shop/input/a.png"),
    ("dropbox:///Apps/shop/input/", "dropbox", "dropbox:///Apps/shop/input/a.png"),
    ("dropbox:/Apps/shop/input", "dropbox", "dropbox:/Apps/shop/input/a.png"),
    ("dropbox://", "dropbox", "dropbox://a.png"),  # still the root's a.png when parsed again
])
def test_every_dropbox_url_form_is_dropbox(url: str, protocol: str, below: str) -> None:
    assert Location(url).protocol == protocol
    assert Location(url).url_of("a.png") == below


def test_a_wrong_s3_endpoint_fails_at_once_in_one_line() -> None:
    with socket.socket() as closed:  # bound, never listening: every connect is refused
        closed.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
        location = Location("s3://shop/in", {"endpoint_url": endpoint, "key": "k",
                                              "secret": "s"})
        start = time.monotonic()
        with pytest.raises(StorageUnavailableError) as raised:
            list(list_images(location))
    assert str(raised.value) == (f"cannot reach the S3 endpoint {endpoint} (connection "
                                 "refused): check --storage-option s3.endpoint_url")
    assert time.monotonic() - start < 5, "botocore's retries were waited out"
