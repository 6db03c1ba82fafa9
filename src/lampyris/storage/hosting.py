"""Choosing the server's object store from one setting: a directory, or an S3 bucket.

Worker processes call ``open_object_store`` with the same plain values as the server (paths,
bytes, strings all pickle), so both ends find the same objects.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from lampyris.errors import InvalidParameterError
from lampyris.storage.objectstore import LocalObjectStore, ObjectStore
from lampyris.storage.s3objects import S3ObjectStore


def open_object_store(
    root: Path,
    secret: bytes,
    url: str | None = None,
    *,
    endpoint_url: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    region: str | None = None,
    clock: Callable[[], float] = time.time,
) -> ObjectStore:
    """The store ``url`` names: None/empty → files under ``root``; a plain path or
    ``file:///path`` → files there; ``s3://bucket/prefix`` → that bucket.

    Usage::

        store = open_object_store(Path("/var/lib/lampyris/objects"), b"…")
        store = open_object_store(root, secret, "s3://results/lampyris",
                                  endpoint_url="http://127.0.0.1:7480",
                                  access_key="…", secret_key="…")

    ``secret`` signs the local store's ``/files`` URLs; S3 signs its own, with ``access_key``/
    ``secret_key`` (None: botocore's chain, ``AWS_ACCESS_KEY_ID`` and friends). Cheap: nothing
    connects until the first call on the store.
    """
    if not url:
        return LocalObjectStore(root, secret, clock=clock)
    if "://" not in url:
        return LocalObjectStore(Path(url), secret, clock=clock)
    scheme = urlsplit(url).scheme.lower()
    if scheme == "s3":
        return S3ObjectStore(
            url,
            endpoint_url=endpoint_url,
            key=access_key,
            secret=secret_key,
            region=region,
            clock=clock,
        )
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise InvalidParameterError(f"invalid object store URL {url!r}: use file:///path")
        return LocalObjectStore(Path(parts.path), secret, clock=clock)
    raise InvalidParameterError(
        f"unsupported object store URL {url!r}: use a directory, file:///path or s3://bucket/prefix"
    )
