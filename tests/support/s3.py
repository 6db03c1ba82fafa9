"""boto3 helpers for the Ceph radosgw S3 endpoint: client, bucket, object, pre-signed URLs.

Always path-style addressing (``http://127.0.0.1:PORT/bucket/key``), SigV4, region us-east-1.
A pre-signed URL signs the ``host`` header: fetch it with exactly the host:port it was made for
(``127.0.0.1:PORT``, not ``localhost:PORT``).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from support.ceph import CephS3


def s3_client(
    endpoint_url: str,
    access_key: str,
    secret_key: str,
    *,
    region: str = "us-east-1",
) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


def client_for(server: CephS3) -> Any:
    return s3_client(
        server.endpoint_url, server.access_key, server.secret_key, region=server.region
    )


def create_bucket(client: Any, bucket: str) -> None:
    """Create ``bucket`` (no error when this user already owns it)."""
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)


def put_object(
    client: Any,
    bucket: str,
    key: str,
    data: bytes,
    *,
    content_type: str = "application/octet-stream",
) -> None:
    client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)


def get_object(client: Any, bucket: str, key: str) -> bytes:
    body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def presign_get(client: Any, bucket: str, key: str, *, expires: int = 3600) -> str:
    url: str = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
    )
    return url


def presign_put(
    client: Any,
    bucket: str,
    key: str,
    *,
    expires: int = 3600,
    content_type: str | None = None,
) -> str:
    """A pre-signed PUT URL. With ``content_type`` the uploader must send exactly that header."""
    params: dict[str, str] = {"Bucket": bucket, "Key": key}
    if content_type is not None:
        params["ContentType"] = content_type
    url: str = client.generate_presigned_url("put_object", Params=params, ExpiresIn=expires)
    return url
