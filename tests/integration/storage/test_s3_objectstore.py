"""S3ObjectStore against a real Ceph radosgw: round trips, pre-signed URLs, retention, errors."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from lampyris.errors import (
    InvalidParameterError,
    StorageDeniedError,
    StorageUnavailableError,
    UnknownObjectError,
)
from lampyris.storage import ObjectStore, S3ObjectStore, open_object_store, s3objects
from support import s3
from support.ceph import CephS3
from support.procs import free_ports

KEY = "results/urn:ff:jobs:1f2e3d/cut out.png"  # colons and a space, as job keys have
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


class Clock:
    """Real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def _store(server: CephS3, url: str, clock: Clock | None = None) -> S3ObjectStore:
    return S3ObjectStore(
        url,
        endpoint_url=server.endpoint_url,
        key=server.access_key,
        secret=server.secret_key,
        region=server.region,
        clock=clock or time.time,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(ceph_s3: CephS3, s3_bucket: str, clock: Clock) -> S3ObjectStore:
    return _store(ceph_s3, f"s3://{s3_bucket}/lampyris/objects", clock)


def test_put_get_exists_delete(store: S3ObjectStore, ceph_s3: CephS3, s3_bucket: str) -> None:
    hosted: ObjectStore = store
    assert not hosted.exists(KEY)
    hosted.put(KEY, PNG, "image/png")
    assert hosted.exists(KEY)
    blob = hosted.get(KEY)
    assert (blob.data, blob.content_type) == (PNG, "image/png")
    # Under the prefix, with the object's own Content-Type, as any S3 client sees it.
    head = s3.client_for(ceph_s3).head_object(Bucket=s3_bucket, Key=f"lampyris/objects/{KEY}")
    assert head["ContentType"] == "image/png"

    hosted.put(KEY, b"second", "text/plain; charset=utf-8")
    assert hosted.get(KEY) == type(blob)(b"second", "text/plain; charset=utf-8")

    hosted.delete(KEY)
    assert not hosted.exists(KEY)
    hosted.delete(KEY)  # deleting twice is fine


def test_missing_key_is_unknown(store: S3ObjectStore) -> None:
    with pytest.raises(UnknownObjectError):
        store.get("results/none.png")


@pytest.mark.parametrize("key", ["../escape.png", "/abs.png", "a//b.png", ".hidden", "a\\b"])
def test_bad_keys_are_refused(store: S3ObjectStore, key: str) -> None:
    for call in (
        lambda: store.put(key, b"x", "image/png"),
        lambda: store.get(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.url(key, 60, ""),
    ):
        with pytest.raises(InvalidParameterError):
            call()


def test_url_downloads_from_the_bucket_until_it_expires(store: S3ObjectStore) -> None:
    store.put(KEY, PNG, "image/png")
    url = store.url(KEY, 600, "https://ignored.example")
    assert url.startswith(f"{store.endpoint_url}/")
    got = httpx.get(url, timeout=10)
    assert got.status_code == 200
    assert (got.content, got.headers["content-type"]) == (PNG, "image/png")

    # SigV4 dates the URL to the whole second (X-Amz-Date): signed late in a second, a 1 s URL
    # has only what is left of that second, too little on a loaded machine. Sign just after a
    # second starts, for 2 s; check it again once it has been expired for over a second.
    time.sleep(1 - time.time() % 1 + 0.01)
    signed_at = int(time.time())
    short = store.url(KEY, 2, "")
    assert httpx.get(short, timeout=10).status_code == 200
    time.sleep(max(0.0, signed_at + 2 + 1.5 - time.time()))
    assert httpx.get(short, timeout=10).status_code == 403


def test_url_lifetime_is_checked(store: S3ObjectStore) -> None:
    for ttl in (0, 8 * 24 * 3600):
        with pytest.raises(InvalidParameterError):
            store.url(KEY, ttl, "")


def test_delete_older_than_keeps_young_objects_and_other_prefixes(
    ceph_s3: CephS3, s3_bucket: str, store: S3ObjectStore, clock: Clock
) -> None:
    neighbour = _store(ceph_s3, f"s3://{s3_bucket}/lampyris/objects-other")
    keys = [f"results/job-{n}/out.png" for n in range(3)]
    for key in keys:
        store.put(key, b"x", "image/png")
    neighbour.put(keys[0], b"y", "image/png")

    assert store.delete_older_than(3600) == 0
    clock.offset = 7200  # two hours on: everything is past a one-hour retention
    assert store.delete_older_than(3600) == 3
    assert not any(store.exists(key) for key in keys)
    assert neighbour.exists(keys[0])  # "objects-other" is not under "objects/"
    assert store.delete_older_than(0) == 0


def test_open_object_store_gives_the_bucket(
    ceph_s3: CephS3, s3_bucket: str, tmp_path: Path
) -> None:
    store = open_object_store(
        tmp_path,
        b"unused",
        f"s3://{s3_bucket}",
        endpoint_url=ceph_s3.endpoint_url,
        access_key=ceph_s3.access_key,
        secret_key=ceph_s3.secret_key,
        region=ceph_s3.region,
    )
    store.put("a.txt", b"hello", "text/plain")
    assert s3.get_object(s3.client_for(ceph_s3), s3_bucket, "a.txt") == b"hello"
    assert not any(tmp_path.iterdir())


def test_wrong_secret_is_denied(ceph_s3: CephS3, s3_bucket: str) -> None:
    store = S3ObjectStore(
        f"s3://{s3_bucket}",
        endpoint_url=ceph_s3.endpoint_url,
        key=ceph_s3.access_key,
        secret="not-the-secret",
        region=ceph_s3.region,
    )
    with pytest.raises(StorageDeniedError) as caught:
        store.put(KEY, b"x", "image/png")
    assert caught.value.storage_status == 403


def test_missing_bucket_is_denied(ceph_s3: CephS3) -> None:
    store = _store(ceph_s3, "s3://no-such-bucket-lampyris")
    with pytest.raises(StorageDeniedError) as caught:
        store.put(KEY, b"x", "image/png")
    assert caught.value.storage_status == 404


def test_unreachable_endpoint_is_unavailable() -> None:
    (port,) = free_ports(1)  # free a moment ago: nothing listens there
    store = S3ObjectStore(
        "s3://bucket/prefix", endpoint_url=f"http://127.0.0.1:{port}", key="k", secret="s"
    )
    for call in (
        lambda: store.put(KEY, b"x", "image/png"),
        lambda: store.get(KEY),
        lambda: store.exists(KEY),
        lambda: store.delete_older_than(0),
    ):
        with pytest.raises(StorageUnavailableError):
            call()


def test_credentials_and_endpoint_from_the_environment(
    ceph_s3: CephS3, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ceph_s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ceph_s3.secret_key)
    monkeypatch.setenv("AWS_ENDPOINT_URL", ceph_s3.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", ceph_s3.region)
    s3objects._client.cache_clear()  # a client made earlier in this process read another env
    try:
        store = S3ObjectStore(f"s3://{s3_bucket}/env")
        store.put(KEY, b"from env", "text/plain")
        assert httpx.get(store.url(KEY, 60, ""), timeout=10).content == b"from env"
    finally:
        s3objects._client.cache_clear()
