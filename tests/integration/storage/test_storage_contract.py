"""The Storage contract on real servers: every backend a worker or a batch reads and writes
objects through, the same five checks.

Backends: ``MemoryStorage`` (the unit tests' stand-in), ``FsspecStorage`` on a local folder,
on S3 (Ceph radosgw) and on Azure Blob Storage (Azurite), and the server's hosted objects
(``RoutedStorage`` over ``LocalObjectStore`` and over ``S3ObjectStore`` on Ceph). The servers
are the session's (``tests/integration/conftest.py``): a backend whose server is not installed
skips, one that fails to start is an error. Each backend gets one bucket or container for the
module and every test its own keys, so the contract adds a few requests, not a server start.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lampyris.errors import StorageDeniedError, UnknownObjectError
from lampyris.storage import (
    FsspecStorage,
    LocalObjectStore,
    MemoryStorage,
    RoutedStorage,
    S3ObjectStore,
    Storage,
    StorageRef,
)
from support import azure_blob, s3
from support.azurite import Azurite
from support.ceph import CephS3

BIG = 5 * 2**20
ODD_NAME = "dir with spaces/ünïcödé ☃ 商品 #1+2=3.png"


@dataclass
class Harness:
    """A backend under test: ``ref(name)`` names a fresh object below this test's own prefix;
    ``keeps_type``: the backend stores the content type with the object."""

    storage: Storage
    ref: Callable[[str], StorageRef]
    keeps_type: bool = True


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def contract_bucket(ceph_s3: CephS3) -> str:
    name = _unique("contract")
    s3.create_bucket(s3.client_for(ceph_s3), name)
    return name


@pytest.fixture(scope="module")
def contract_container(azurite: Azurite) -> str:
    name = _unique("contract")
    azure_blob.create_container(azurite, name)
    return name


def _memory(request: pytest.FixtureRequest, tmp: Path, prefix: str) -> Harness:
    return Harness(MemoryStorage(),
                   lambda name: StorageRef(f"https://memory.test/{prefix}/{name}?sig=1"))


def _local(request: pytest.FixtureRequest, tmp: Path, prefix: str) -> Harness:
    return Harness(FsspecStorage(), lambda name: StorageRef(f"file://{tmp}/{prefix}/{name}"),
                   keeps_type=False)


def _s3(request: pytest.FixtureRequest, tmp: Path, prefix: str) -> Harness:
    ceph: CephS3 = request.getfixturevalue("ceph_s3")
    bucket: str = request.getfixturevalue("contract_bucket")
    storage = FsspecStorage({"s3": {
        "endpoint_url": ceph.endpoint_url, "key": ceph.access_key, "secret": ceph.secret_key,
        "client_kwargs": {"region_name": ceph.region}}})
    return Harness(storage, lambda name: StorageRef(f"s3://{bucket}/{prefix}/{name}"))


def _azure(request: pytest.FixtureRequest, tmp: Path, prefix: str) -> Harness:
    server: Azurite = request.getfixturevalue("azurite")
    container: str = request.getfixturevalue("contract_container")
    storage = FsspecStorage({"az": {"connection_string": server.connection_string}})
    return Harness(storage, lambda name: StorageRef(f"az://{container}/{prefix}/{name}"))


def _hosted(objects: LocalObjectStore | S3ObjectStore, prefix: str) -> Harness:
    # nothing but hosted refs reach ``remote`` here: a MemoryStorage would show any that did
    return Harness(RoutedStorage(MemoryStorage(), objects),
                   lambda name: StorageRef(f"{prefix}/{name}", "hosted"))


def _hosted_local(request: pytest.FixtureRequest, tmp: Path, prefix: str) -> Harness:
    return _hosted(LocalObjectStore(tmp / "objects", secret=b"contract"), prefix)


def _hosted_s3(request: pytest.FixtureRequest, tmp: Path, prefix: str) -> Harness:
    ceph: CephS3 = request.getfixturevalue("ceph_s3")
    bucket: str = request.getfixturevalue("contract_bucket")
    objects = S3ObjectStore(f"s3://{bucket}/hosted", endpoint_url=ceph.endpoint_url,
                            key=ceph.access_key, secret=ceph.secret_key, region=ceph.region)
    return _hosted(objects, prefix)


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path, str], Harness]] = {
    "memory": _memory,
    "fsspec-local": _local,
    "fsspec-s3": _s3,
    "fsspec-azure": _azure,
    "hosted-local": _hosted_local,
    "hosted-s3": _hosted_s3,
}


@pytest.fixture(params=list(BACKENDS))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    yield BACKENDS[request.param](request, tmp_path, _unique("t"))


def test_write_then_read_returns_the_same_bytes_and_type(harness: Harness) -> None:
    data = bytes(range(256)) * 64
    ref = harness.ref("round.png")
    harness.storage.write(ref, data, "image/png")
    blob = harness.storage.read(ref)
    assert blob.data == data
    assert blob.content_type == ("image/png" if harness.keeps_type else "")


def test_a_second_write_replaces_the_first(harness: Harness) -> None:
    ref = harness.ref("twice.png")
    harness.storage.write(ref, b"first, and longer than the second", "image/png")
    harness.storage.write(ref, b"second", "image/jpeg")
    blob = harness.storage.read(ref)
    assert blob.data == b"second"
    assert blob.content_type == ("image/jpeg" if harness.keeps_type else "")


def test_a_missing_object_is_denied_with_404_on_every_backend(harness: Harness) -> None:
    harness.storage.write(harness.ref("here.png"), b"x", "image/png")  # its folder exists
    with pytest.raises(StorageDeniedError) as caught:
        harness.storage.read(harness.ref("not-here.png"))
    assert not isinstance(caught.value, UnknownObjectError)
    assert caught.value.storage_status == 404
    assert str(caught.value) and "\n" not in str(caught.value)


# The Azure SDK reads a body into bytes for one put, and aiohttp advises against bytes over
# 1 MiB with a ResourceWarning: Python shows none outside development mode, this suite makes
# every warning an error.
@pytest.mark.filterwarnings("ignore:Sending a large body directly:ResourceWarning")
def test_five_megabytes_round_trip(harness: Harness) -> None:
    data = uuid.uuid4().bytes * (BIG // 16)  # not one repeated byte: a shifted copy would show
    ref = harness.ref("big.bin")
    harness.storage.write(ref, data, "application/octet-stream")
    assert harness.storage.read(ref).data == data


def test_a_key_with_spaces_and_unicode(harness: Harness) -> None:
    ref = harness.ref(ODD_NAME)
    harness.storage.write(ref, b"odd", "image/png")
    assert harness.storage.read(ref).data == b"odd"
    with pytest.raises(StorageDeniedError):  # the name is kept exactly, not normalised
        harness.storage.read(harness.ref(ODD_NAME.replace("ü", "u")))
