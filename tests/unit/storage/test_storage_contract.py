"""The contract every Storage backend passes (STYLE #4): add a new backend to ``BACKENDS``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from lampyris.errors import InvalidParameterError, StorageDeniedError
from lampyris.storage import STORAGE_TYPES, MemoryStorage, PresignedStorage, Storage, StorageRef
from support.http_server import ScriptedServer, fast_settings


@dataclass
class Harness:
    """A backend under test and how to name a fresh object for it."""

    storage: Storage
    href: Callable[[str], str]


@pytest.fixture(params=["memory", "presigned"])
def harness(request: pytest.FixtureRequest, http_server: ScriptedServer) -> Iterator[Harness]:
    if request.param == "memory":
        yield Harness(MemoryStorage(), lambda name: f"https://memory.test/{name}?sig=1")
        return
    with PresignedStorage(fast_settings()) as presigned:
        yield Harness(presigned, lambda name: http_server.url(f"/{name}?sig=1"))


class TestStorageContract:
    @pytest.mark.parametrize("kind", STORAGE_TYPES)
    def test_write_then_read_returns_the_same_bytes(self, harness: Harness, kind: str) -> None:
        data = bytes(range(256)) * 64
        ref = StorageRef(harness.href(f"{kind}.bin"), kind)  # type: ignore[arg-type]
        harness.storage.write(ref, data, "image/png")
        assert harness.storage.read(ref).data == data

    def test_the_content_type_written_is_read_back(self, harness: Harness) -> None:
        ref = StorageRef(harness.href("typed.png"), "external")
        harness.storage.write(ref, b"png", "image/png")
        assert harness.storage.read(ref).content_type == "image/png"

    def test_a_second_write_replaces_the_first(self, harness: Harness) -> None:
        ref = StorageRef(harness.href("twice.png"), "azure")
        harness.storage.write(ref, b"first", "image/png")
        harness.storage.write(ref, b"second", "image/png")
        assert harness.storage.read(ref).data == b"second"

    def test_a_missing_object_is_denied_with_404(self, harness: Harness) -> None:
        with pytest.raises(StorageDeniedError) as caught:
            harness.storage.read(StorageRef(harness.href("missing.png")))
        assert caught.value.storage_status == 404

    @pytest.mark.parametrize("call", ["read", "write"])
    def test_an_unknown_storage_type_names_the_allowed_ones(
        self, harness: Harness, call: str
    ) -> None:
        ref = StorageRef(harness.href("x.png"), "s3")  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterError, match="external, azure, dropbox"):
            if call == "read":
                harness.storage.read(ref)
            else:
                harness.storage.write(ref, b"x", "image/png")
