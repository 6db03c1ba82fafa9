"""The server on a PostgreSQL job store (what several replicas share)."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from support import s3
from support.ceph import CephS3
from support.images import assert_sane_cutout
from support.lampyris_server import LampyrisServer

LOOPBACK = {"LAMPYRIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8"}


def test_jobs_and_clients_live_in_postgresql(
    postgres_url: str, fresh_server_dir: Path, ceph_s3: CephS3, s3_bucket: str, photo: bytes
):
    database = f"lampyris_{fresh_server_dir.name.replace('-', '_').lower()}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    url = postgres_url.rsplit("/", 1)[0] + f"/{database}"
    client = s3.client_for(ceph_s3)
    s3.put_object(client, s3_bucket, "in.jpg", photo)
    live = LampyrisServer(fresh_server_dir, env=LOOPBACK, database_url=url, workers=1).start()
    try:
        done = live.wait(live.post("/v2/remove-background", {
            "image": {"source": {"url": s3.presign_get(client, s3_bucket, "in.jpg")}},
            "output": {"mediaType": "image/png"},
        }).json()["statusUrl"])
        assert done["status"] == "succeeded", done
        assert_sane_cutout(httpx.get(done["result"]["outputs"][0]["url"]).content)
    finally:
        live.stop()
    assert not (fresh_server_dir / "lampyris.db").exists(), "no SQLite file beside PostgreSQL"
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT state FROM jobs")).scalars().all() == ["succeeded"]
        assert conn.execute(text("SELECT count(*) FROM clients")).scalar() == 1
    engine.dispose()
    admin.dispose()
