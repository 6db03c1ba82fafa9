"""Smoke tests: the servers the integration tests start are real and enforce auth."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import sqlalchemy as sa

from support import azure_blob, node, s3
from support.azurite import Azurite
from support.ceph import CephS3


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- Ceph radosgw (S3) -------------------------------------------------------------------------


def test_ceph_presigned_get_and_put(ceph_s3: CephS3, s3_bucket: str) -> None:
    client = s3.client_for(ceph_s3)
    s3.put_object(client, s3_bucket, "in/photo.jpg", b"jpeg bytes", content_type="image/jpeg")

    got = httpx.get(s3.presign_get(client, s3_bucket, "in/photo.jpg"), timeout=10)
    assert got.status_code == 200
    assert got.content == b"jpeg bytes"
    assert got.headers["content-type"] == "image/jpeg"

    put_url = s3.presign_put(client, s3_bucket, "out/result.png", content_type="image/png")
    put = httpx.put(
        put_url, content=b"png bytes", headers={"content-type": "image/png"}, timeout=10
    )
    assert put.status_code == 200, put.text
    assert s3.get_object(client, s3_bucket, "out/result.png") == b"png bytes"
    head = client.head_object(Bucket=s3_bucket, Key="out/result.png")
    assert head["ContentType"] == "image/png"


def test_ceph_refuses_tampered_anonymous_and_expired(ceph_s3: CephS3, s3_bucket: str) -> None:
    client = s3.client_for(ceph_s3)
    s3.put_object(client, s3_bucket, "a.bin", b"a")
    s3.put_object(client, s3_bucket, "b.bin", b"b")

    url = s3.presign_get(client, s3_bucket, "a.bin")
    assert httpx.get(url, timeout=10).status_code == 200
    # same signature, other object
    assert httpx.get(url.replace("/a.bin?", "/b.bin?"), timeout=10).status_code == 403
    # signature altered
    sig = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    bad = _with_query(url, **{"X-Amz-Signature": ("0" if sig[0] != "0" else "1") + sig[1:]})
    assert httpx.get(bad, timeout=10).status_code == 403
    # no signature at all
    assert httpx.get(f"{ceph_s3.endpoint_url}/{s3_bucket}/a.bin", timeout=10).status_code == 403
    # a pre-signed PUT is refused for another key
    put_url = s3.presign_put(client, s3_bucket, "c.bin")
    assert (
        httpx.put(put_url.replace("/c.bin?", "/d.bin?"), content=b"x", timeout=10).status_code
        == 403
    )

    short = s3.presign_get(client, s3_bucket, "a.bin", expires=1)
    time.sleep(2.1)
    expired = httpx.get(short, timeout=10)
    assert expired.status_code == 403
    assert "AccessDenied" in expired.text


# --- Azurite (Azure Blob) ----------------------------------------------------------------------


def test_azurite_sas_read_and_write(azurite: Azurite, blob_container: str) -> None:
    azure_blob.upload_blob(
        azurite, blob_container, "in/photo.jpg", b"jpeg", content_type="image/jpeg"
    )

    got = httpx.get(azure_blob.read_sas_url(azurite, blob_container, "in/photo.jpg"), timeout=10)
    assert got.status_code == 200
    assert got.content == b"jpeg"

    put = httpx.put(
        azure_blob.write_sas_url(azurite, blob_container, "out/result.png"),
        content=b"png",
        headers={**azure_blob.BLOCK_BLOB_HEADERS, "content-type": "image/png"},
        timeout=10,
    )
    assert put.status_code == 201, put.text
    assert azure_blob.download_blob(azurite, blob_container, "out/result.png") == b"png"


def test_azurite_refuses_read_only_expired_and_tampered(
    azurite: Azurite, blob_container: str
) -> None:
    azure_blob.upload_blob(azurite, blob_container, "a.bin", b"a")
    azure_blob.upload_blob(azurite, blob_container, "b.bin", b"b")

    read_only = azure_blob.read_sas_url(azurite, blob_container, "new.bin")
    refused = httpx.put(read_only, content=b"x", headers=azure_blob.BLOCK_BLOB_HEADERS, timeout=10)
    assert refused.status_code == 403

    expired = azure_blob.read_sas_url(
        azurite, blob_container, "a.bin", expires_in=timedelta(minutes=-1)
    )
    assert httpx.get(expired, timeout=10).status_code == 403

    url = azure_blob.read_sas_url(azurite, blob_container, "a.bin")
    assert httpx.get(url, timeout=10).status_code == 200
    assert httpx.get(url.replace("/a.bin?", "/b.bin?"), timeout=10).status_code == 403
    assert httpx.get(url.split("?")[0], timeout=10).status_code in (403, 404)


# --- PostgreSQL --------------------------------------------------------------------------------


def test_postgres_accepts_sqlalchemy(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("select 1")).scalar_one() == 1
            version = conn.execute(sa.text("show server_version_num")).scalar_one()
            assert int(version) // 10000 == 15
    finally:
        engine.dispose()


# --- Node SDKs ---------------------------------------------------------------------------------

SDK_PROBE = """
const out = {};
for (const [pkg, name] of [
  ['@adobe/photoshop-apis', 'PhotoshopClient'],
  ['@adobe/aio-lib-photoshop-api', 'init'],
  ['@adobe/firefly-apis', 'FireflyClient'],
  ['@adobe/lightroom-apis', 'LightroomClient'],
]) {
  const mod = require(pkg);
  out[pkg] = { export: typeof mod[name], version: require(pkg + '/package.json').version };
}
out['node-fetch'] = typeof require('node-fetch');
out['azurite'] = require('azurite/package.json').version;
console.log(JSON.stringify(out));
"""


def test_node_sdks_and_azurite_installed(node_modules: Path) -> None:
    assert (node_modules / ".bin" / "azurite-blob").exists()
    res = node.run_node(SDK_PROBE, timeout=60).check()
    found = json.loads(res.stdout.strip().splitlines()[-1])
    assert found["@adobe/photoshop-apis"] == {"export": "function", "version": "2.0.1"}
    assert found["@adobe/aio-lib-photoshop-api"] == {"export": "function", "version": "1.1.0"}
    assert found["@adobe/firefly-apis"] == {"export": "function", "version": "2.0.1"}
    assert found["@adobe/lightroom-apis"] == {"export": "function", "version": "1.0.0"}
    assert found["node-fetch"] == "function"
    assert found["azurite"] == "3.35.0"
