"""open_object_store: one setting picks a directory or an S3 bucket; nothing connects yet."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from lampyris.errors import InvalidParameterError
from lampyris.storage import (
    LocalObjectStore,
    S3ObjectStore,
    open_object_store,
    parse_s3_url,
)

SECRET = b"test-secret"


@pytest.mark.parametrize("url", [None, ""])
def test_no_url_is_files_under_root(tmp_path: Path, url: str | None) -> None:
    store = open_object_store(tmp_path, SECRET, url)
    assert isinstance(store, LocalObjectStore)
    assert store.root == tmp_path


def test_a_path_or_file_url_is_files_there(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    for url in (str(elsewhere), f"file://{elsewhere}"):
        store = open_object_store(tmp_path, SECRET, url)
        assert isinstance(store, LocalObjectStore)
        assert store.root == elsewhere


def test_s3_url_is_a_bucket_and_pickles(tmp_path: Path) -> None:
    store = open_object_store(
        tmp_path,
        SECRET,
        "s3://results/lampyris/objects/",
        endpoint_url="http://127.0.0.1:1",
        access_key="k",
        secret_key="s",
        region="us-east-1",
    )
    assert isinstance(store, S3ObjectStore)
    assert (store.bucket, store.prefix) == ("results", "lampyris/objects")
    copy = pickle.loads(pickle.dumps(store))
    assert (copy.bucket, copy.prefix, copy.endpoint_url) == (
        "results",
        "lampyris/objects",
        "http://127.0.0.1:1",
    )


@pytest.mark.parametrize(
    "url", ["gs://bucket/x", "https://bucket.s3.amazonaws.com/x", "file://host/x"]
)
def test_other_urls_are_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(InvalidParameterError):
        open_object_store(tmp_path, SECRET, url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [("s3://b-1", ("b-1", "")), ("s3://b.x/", ("b.x", "")), ("s3://bb/a/b", ("bb", "a/b"))],
)
def test_parse_s3_url(url: str, expected: tuple[str, str]) -> None:
    assert parse_s3_url(url) == expected


@pytest.mark.parametrize(
    "url",
    ["s3://", "s3:///prefix", "s3://k:s@bucket/x", "s3://bucket/../x", "s3://b/x?y=1", "bucket/x"],
)
def test_bad_s3_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidParameterError):
        S3ObjectStore(url)


def test_s3_key_without_secret_is_refused() -> None:
    with pytest.raises(InvalidParameterError):
        S3ObjectStore("s3://bucket", key="only-the-key")
