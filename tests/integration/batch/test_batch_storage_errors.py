"""What ``lampyris batch`` says when S3 cannot be used, against a real Ceph radosgw: no
credentials, a wrong secret, an unknown key, no permission, a wrong endpoint port, an unknown
bucket. Each is exit 2 and ONE line on stderr that says what to do (no traceback), and the
wrong port fails in seconds, not after botocore's retries. A sink in a missing bucket fails
each file in one line, without retrying it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from lampyris.errors import StorageCredentialsError, StorageDeniedError, StorageUnavailableError
from lampyris.storage.locations import Location, probe
from support import s3
from support.ceph import CephS3
from support.images import distinct_products


def batch(*args: str, env: dict[str, str] | None = None) -> tuple[int, list[str], float]:
    """Run the real CLI with no AWS configuration at all (no env, no profile, no instance
    metadata) plus ``env``: exit code, stderr lines without the progress bar, seconds."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.update(AWS_CONFIG_FILE="/nonexistent/aws/config",
                 AWS_SHARED_CREDENTIALS_FILE="/nonexistent/aws/credentials",
                 AWS_EC2_METADATA_DISABLED="true", **(env or {}))
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "lampyris.cli.app", "batch", *args],
                          capture_output=True, text=True, timeout=120, env=clean, check=False)
    seconds = time.monotonic() - start
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.strip().splitlines()
             if line.strip() and not line.startswith("batch ")]
    return done.returncode, lines, seconds


def endpoint(server: CephS3) -> list[str]:
    return ["--storage-option", f"s3.endpoint_url={server.endpoint_url}"]


def keys(key: str, secret: str) -> list[str]:
    return ["--storage-option", f"s3.key={key}", "--storage-option", f"s3.secret={secret}"]


@pytest.fixture
def inbox(ceph_s3: CephS3, s3_bucket: str) -> str:
    s3.put_object(s3.client_for(ceph_s3), s3_bucket, "in/sku.jpg", distinct_products(1)[0])
    return f"s3://{s3_bucket}/in"


def test_no_credentials_is_one_line_naming_the_variables(
    ceph_s3: CephS3, inbox: str, tmp_path: Path
):
    code, lines, _ = batch(inbox, str(tmp_path / "out"), *endpoint(ceph_s3),
                           "--ledger", str(tmp_path / "l.db"))
    assert code == 2
    assert lines == [
        f"error: {inbox}: no S3 credentials found: set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or --storage-option s3.key=… s3.secret=…"]


def test_a_wrong_secret_from_the_environment_is_one_line(
    ceph_s3: CephS3, inbox: str, tmp_path: Path
):
    code, lines, _ = batch(inbox, str(tmp_path / "out"), *endpoint(ceph_s3),
                           "--ledger", str(tmp_path / "l.db"),
                           env={"AWS_ACCESS_KEY_ID": ceph_s3.access_key,
                                "AWS_SECRET_ACCESS_KEY": "not-the-secret"})
    assert code == 2
    assert lines == [f"error: {inbox}: S3 refused the secret key (SignatureDoesNotMatch): "
                     "check AWS_SECRET_ACCESS_KEY or --storage-option s3.secret"]


def test_an_unknown_access_key_is_one_line(ceph_s3: CephS3, inbox: str, tmp_path: Path):
    code, lines, _ = batch(inbox, str(tmp_path / "out"), *endpoint(ceph_s3),
                           *keys("nobody", "whatever"), "--ledger", str(tmp_path / "l.db"))
    assert code == 2
    assert lines == [f"error: {inbox}: S3 does not know the access key (InvalidAccessKeyId): "
                     "check AWS_ACCESS_KEY_ID or --storage-option s3.key"]


def test_no_permission_is_one_line(ceph_s3: CephS3, inbox: str, tmp_path: Path):
    code, lines, _ = batch(inbox, str(tmp_path / "out"), *endpoint(ceph_s3),
                           "--storage-option", "s3.anon=true", "--ledger", str(tmp_path / "l.db"))
    assert code == 2
    assert lines == [f"error: {inbox}: S3 denied access (AccessDenied): check the credentials "
                     "and that they may use this bucket"]


def test_a_wrong_endpoint_port_fails_in_seconds_in_one_line(
    ceph_s3: CephS3, inbox: str, tmp_path: Path
):
    code, lines, seconds = batch(
        inbox, str(tmp_path / "out"), "--storage-option", "s3.endpoint_url=http://127.0.0.1:1",
        *keys(ceph_s3.access_key, ceph_s3.secret_key), "--ledger", str(tmp_path / "l.db"))
    assert code == 2
    assert lines == ["error: cannot reach the S3 endpoint http://127.0.0.1:1 (connection "
                     "refused): check --storage-option s3.endpoint_url"]
    assert seconds < 10, f"{seconds:.1f} s: botocore's retries were waited out (16-22 s)"


def test_an_unknown_bucket_is_one_line(ceph_s3: CephS3, tmp_path: Path):
    bucket = f"nope-{uuid.uuid4().hex[:12]}"
    code, lines, _ = batch(f"s3://{bucket}/in", str(tmp_path / "out"), *endpoint(ceph_s3),
                           *keys(ceph_s3.access_key, ceph_s3.secret_key),
                           "--ledger", str(tmp_path / "l.db"))
    assert code == 2
    assert lines == [f"error: s3://{bucket}/in: no such bucket {bucket!r}: "
                     "create the bucket or check the name"]


def test_a_sink_in_a_missing_bucket_is_one_line_before_any_input_is_read(
    ceph_s3: CephS3, inbox: str, tmp_path: Path
):
    sink = f"s3://nope-{uuid.uuid4().hex[:12]}/out"
    code, lines, _ = batch(inbox, sink, *endpoint(ceph_s3),
                           *keys(ceph_s3.access_key, ceph_s3.secret_key),
                           "--ledger", str(tmp_path / "l.db"))
    assert code == 2
    assert lines == [f"error: {sink}: no such bucket {sink.split('/')[2]!r}: create the bucket "
                     "or check the name"]
    assert not (tmp_path / "l.db").exists()  # refused before it started: nothing recorded


def test_probe_finds_what_every_write_to_a_sink_would_hit(ceph_s3: CephS3, s3_bucket: str):
    good = {"endpoint_url": ceph_s3.endpoint_url, "key": ceph_s3.access_key,
            "secret": ceph_s3.secret_key}
    probe(Location(f"s3://{s3_bucket}/not-yet", good))  # a folder writes will make is fine
    with pytest.raises(StorageDeniedError, match="no such bucket 'nope-probe'"):
        probe(Location("s3://nope-probe/out", good))
    with pytest.raises(StorageCredentialsError, match="SignatureDoesNotMatch"):
        probe(Location(f"s3://{s3_bucket}/out", {**good, "secret": "wrong"}))
    with pytest.raises(StorageUnavailableError, match="cannot reach the S3 endpoint"):
        probe(Location(f"s3://{s3_bucket}/out", {**good, "endpoint_url": "http://127.0.0.1:1"}))
