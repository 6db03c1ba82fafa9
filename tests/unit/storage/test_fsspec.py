"""FsspecStorage without a server: options by protocol, refused refs, errors as one line.
(The Storage contract runs against every backend in tests/integration/storage/.)"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from lampyris.errors import InvalidParameterError, StorageDeniedError
from lampyris.storage import Blob, FsspecStorage, Storage, StorageRef


def test_a_local_file_round_trips_without_a_content_type(tmp_path: Path) -> None:
    storage: Storage = FsspecStorage()
    ref = StorageRef(f"file://{tmp_path}/out/a.png")
    storage.write(ref, b"png", "image/png")
    assert (tmp_path / "out" / "a.png").read_bytes() == b"png"
    assert storage.read(ref) == Blob(b"png", "")
    assert storage.read(StorageRef(str(tmp_path / "out" / "a.png"))).data == b"png"  # a path


def test_memory_round_trips(memfs: MemoryFileSystem) -> None:
    storage = FsspecStorage()
    storage.write(StorageRef("memory://b/a.bin"), b"one", "")
    assert memfs.cat_file("/b/a.bin") == b"one"
    assert storage.read(StorageRef("memory://b/a.bin")).data == b"one"


def test_a_missing_object_is_denied_with_404(tmp_path: Path) -> None:
    with pytest.raises(StorageDeniedError) as caught:
        FsspecStorage().read(StorageRef(f"file://{tmp_path}/none.png"))
    assert caught.value.storage_status == 404
    assert "\n" not in str(caught.value)


def test_each_url_gets_its_own_protocols_options() -> None:
    storage = FsspecStorage({"s3": {"endpoint_url": "http://127.0.0.1:1"},
                             "az": {"account_name": "a"}})
    assert storage.location(StorageRef("s3://b/k.png")).options == {
        "endpoint_url": "http://127.0.0.1:1"}
    assert storage.location(StorageRef("az://c/k.png")).options == {"account_name": "a"}
    assert storage.location(StorageRef("memory://k.png")).options == {}
    storage.location(StorageRef("s3://b/k.png")).options["key"] = "x"  # a copy
    assert storage.options["s3"] == {"endpoint_url": "http://127.0.0.1:1"}
    assert pickle.loads(pickle.dumps(storage)).options == storage.options


def test_a_hosted_key_is_not_a_url() -> None:
    with pytest.raises(InvalidParameterError, match="server's store"):
        FsspecStorage().read(StorageRef("results/a.png", "hosted"))


def test_an_unknown_protocol_is_a_parameter_error() -> None:
    with pytest.raises(InvalidParameterError):
        FsspecStorage().write(StorageRef("nosuchproto://x/a.png"), b"x", "")
