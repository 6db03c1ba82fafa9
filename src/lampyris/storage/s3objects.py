"""The server's object store on an S3 bucket, so hosted results are downloaded from S3 itself.

Several server processes (or machines) share one bucket where a local directory would tie
results to one disk; ``url`` hands out S3's own pre-signed GET URL, so the bytes never pass
back through the server. Talks to S3 with botocore (it comes with ``lampyris[s3]`` through
s3fs → aiobotocore), imported only when an S3 store is made. Works with AWS and with
S3-compatible gateways (Ceph radosgw) at ``endpoint_url``.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from lampyris.errors import (
    InvalidParameterError,
    StorageDeniedError,
    StorageUnavailableError,
    UnknownObjectError,
)
from lampyris.storage.base import Blob
from lampyris.storage.objectstore import validate_key

INSTALL_HINT = "the S3 object store needs botocore: install lampyris[s3]"
MAX_URL_TTL = 7 * 24 * 3600  # SigV4 pre-signed URLs cannot live longer than a week
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,254}")
_DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")``; the prefix may be empty."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or parts.query or parts.fragment or "@" in parts.netloc:
        raise InvalidParameterError(
            f"invalid S3 object store URL {url!r}: expected s3://bucket/optional/prefix"
        )
    if not _BUCKET.fullmatch(parts.netloc):
        raise InvalidParameterError(f"invalid S3 bucket name {parts.netloc!r} in {url!r}")
    prefix = parts.path.strip("/")
    if prefix:
        validate_key(prefix)
    return parts.netloc, prefix


class S3ObjectStore:
    """Objects under ``s3://bucket/prefix/<key>``; the content type is the object's own.

    Usage::

        store = S3ObjectStore("s3://lampyris-results/objects",
                              endpoint_url="http://127.0.0.1:7480", key="…", secret="…")
        store.put("results/urn:ff:jobs:1/cutout.png", png, "image/png")
        url = store.url("results/urn:ff:jobs:1/cutout.png", 3600, base_url="")

    Credentials, region and endpoint left as None come from botocore's usual chain
    (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``, ``~/.aws``, instance
    roles). Making one is cheap and it holds only plain values, so it pickles to workers; the
    botocore client is made on first use, once per process and set of credentials.
    """

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        key: str | None = None,
        secret: str | None = None,
        region: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        if (key is None) != (secret is None):
            raise InvalidParameterError("give both the S3 access key and its secret, or neither")
        _botocore_available()
        self.endpoint_url = endpoint_url
        self.region = region
        self._key = key
        self._secret = secret
        self._clock = clock

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing any previous object (S3 PUTs are atomic)."""
        if "\n" in content_type or "\r" in content_type:
            raise InvalidParameterError("content type must be a single line")
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._name(key), "Body": data}
        if content_type:
            params["ContentType"] = content_type
        self._call("put_object", key, **params)

    def get(self, key: str) -> Blob:
        """The object under ``key``; UnknownObjectError if there is none."""
        answer = self._call("get_object", key, Bucket=self.bucket, Key=self._name(key))
        body = answer["Body"]
        try:
            data = body.read()
        except _botocore_errors() as exc:  # the connection dropped or stalled mid-body
            raise _translate(exc, key) from exc
        finally:
            body.close()
        return Blob(data, answer.get("ContentType") or "")

    def delete(self, key: str) -> None:
        """Remove the object under ``key``; a missing one is not an error (nor is it to S3)."""
        self._call("delete_object", key, Bucket=self.bucket, Key=self._name(key))

    def exists(self, key: str) -> bool:
        """True if an object is stored under ``key``."""
        try:
            self._call("head_object", key, Bucket=self.bucket, Key=self._name(key))
        except UnknownObjectError:
            return False
        return True

    def delete_older_than(self, seconds: float) -> int:
        """Retention: remove objects under the prefix last written more than ``seconds`` ago
        (by S3's LastModified); returns how many."""
        cutoff = self._clock() - seconds
        old = [item["Key"] for item in self._list() if item["LastModified"].timestamp() < cutoff]
        for start in range(0, len(old), _DELETE_BATCH):
            batch = [{"Key": name} for name in old[start : start + _DELETE_BATCH]]
            answer = self._call(
                "delete_objects",
                self.prefix,
                Bucket=self.bucket,
                Delete={"Objects": batch, "Quiet": True},
            )
            failed = [e for e in answer.get("Errors", []) if e.get("Code") != "NoSuchKey"]
            if failed:
                first = failed[0]
                raise StorageDeniedError(
                    f"S3 refused to delete {len(failed)} object(s), e.g. {first.get('Key')!r}: "
                    f"{first.get('Code')} {first.get('Message', '')}".rstrip()
                )
        return len(old)

    def url(self, key: str, ttl: int, base_url: str = "") -> str:
        """A pre-signed S3 GET URL valid ``ttl`` seconds; ``base_url`` is not used (the
        download goes straight to the bucket)."""
        if not 1 <= ttl <= MAX_URL_TTL:
            raise InvalidParameterError(f"URL lifetime must be 1..{MAX_URL_TTL} s, not {ttl}")
        params = {"Bucket": self.bucket, "Key": self._name(key)}
        try:
            url: str = self._client().generate_presigned_url(
                "get_object", Params=params, ExpiresIn=int(ttl)
            )
        except _botocore_errors() as exc:  # no credentials, bad region or endpoint
            raise _translate(exc, key) from exc
        return url

    def _name(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _list(self) -> Iterator[dict[str, Any]]:
        params = {"Bucket": self.bucket, "Prefix": f"{self.prefix}/" if self.prefix else ""}
        try:
            for page in self._client().get_paginator("list_objects_v2").paginate(**params):
                yield from page.get("Contents", [])
        except _botocore_errors() as exc:
            raise _translate(exc, self.prefix) from exc

    def _call(self, operation: str, key: str, **params: Any) -> Any:
        try:
            return getattr(self._client(), operation)(**params)
        except _botocore_errors() as exc:
            raise _translate(exc, key) from exc

    def _client(self) -> Any:
        return _client(os.getpid(), self.endpoint_url, self._key, self._secret, self.region)


def _botocore_available() -> None:
    try:
        import botocore.session  # noqa: F401
    except ImportError as exc:
        raise StorageUnavailableError(INSTALL_HINT) from exc


@functools.lru_cache(maxsize=16)
def _client(
    pid: int, endpoint_url: str | None, key: str | None, secret: str | None, region: str | None
) -> Any:
    """One botocore client per process (``pid``: a forked worker must not share the parent's
    connection pool) and per endpoint/credentials; botocore clients are thread-safe."""
    import botocore.session
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        # A gateway at an explicit endpoint rarely has wildcard DNS for virtual-host buckets.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        retries={"mode": "standard", "total_max_attempts": 3},
        connect_timeout=10,
        read_timeout=60,
        # Trailing CRC checksums (botocore ≥ 1.36's default) are refused by older gateways.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    session = botocore.session.get_session()
    return session.create_client(
        "s3",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=config,
    )


@functools.cache
def _botocore_errors() -> tuple[type[Exception], ...]:
    """Every exception botocore raises on purpose (anything else is a bug, left alone)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def _translate(exc: Exception, key: str) -> Exception:
    """botocore's exception -> lampyris's: missing key, refused (4xx), unreachable (5xx…)."""
    from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = f"S3 answered {status} {code} for object {key!r}: {error.get('Message', '')}"
        if code in ("NoSuchKey", "404", "NotFound"):
            return UnknownObjectError(f"no object under key {key!r}")
        if isinstance(status, int) and 400 <= status < 500 and status not in (408, 429):
            return StorageDeniedError(message.rstrip(": "), status)
        return StorageUnavailableError(message.rstrip(": "))
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return StorageDeniedError(f"no S3 credentials for object {key!r}: {exc}")
    return StorageUnavailableError(f"S3 is unreachable for object {key!r}: {exc}")
