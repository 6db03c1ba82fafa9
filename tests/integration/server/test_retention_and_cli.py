"""Retention (old jobs and their hosted files go away) and the ``clients`` commands."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from support import s3
from support.ceph import CephS3
from support.lampyris_server import LampyrisServer

LOOPBACK = {"LAMPYRIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8"}


def lampyris(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lampyris.cli.app", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_finished_jobs_and_their_files_are_deleted_after_retention(
    fresh_server_dir: Path, ceph_s3: CephS3, s3_bucket: str, photo: bytes
):
    client = s3.client_for(ceph_s3)
    s3.put_object(client, s3_bucket, "in.jpg", photo)
    env = {**LOOPBACK, "LAMPYRIS_JOBS_RETENTION_HOURS": str(2 / 3600)}  # two seconds
    live = LampyrisServer(fresh_server_dir, env=env, workers=1).start()
    try:
        status_url = live.post("/v2/remove-background", {
            "image": {"source": {"url": s3.presign_get(client, s3_bucket, "in.jpg")}},
        }).json()["statusUrl"]
        done = live.wait(status_url)
        result_url = done["result"]["outputs"][0]["url"]
        assert httpx.get(result_url).status_code == 200
        hosted = list((fresh_server_dir / "objects").rglob("output.*"))
        assert len(hosted) == 1
    finally:
        live.stop()
    time.sleep(3)
    live.start()  # retention runs at start-up, then hourly
    try:
        assert httpx.get(status_url, headers=live.headers()).status_code == 404
        assert httpx.get(result_url).status_code == 404
        assert not hosted[0].exists()
    finally:
        live.stop()


def test_clients_add_list_remove(tmp_path: Path):
    data = str(tmp_path / "data")
    added = lampyris("clients", "add", "catalog-team", "--data-dir", data, "--json")
    assert added.returncode == 0, added.stderr
    client = json.loads(added.stdout)
    assert client["name"] == "catalog-team" and len(client["client_secret"]) >= 40
    twice = lampyris("clients", "add", "catalog-team", "--data-dir", data)
    assert twice.returncode == 2 and "already exists" in twice.stderr
    listed = json.loads(lampyris("clients", "list", "--data-dir", data, "--json").stdout)
    assert [c["client_id"] for c in listed] == [client["client_id"]]
    assert "client_secret" not in listed[0]
    assert lampyris("clients", "remove", client["client_id"], "--data-dir", data).returncode == 0
    assert json.loads(lampyris("clients", "list", "--data-dir", data, "--json").stdout) == []
    missing = lampyris("clients", "remove", "nobody", "--data-dir", data)
    assert missing.returncode == 1 and "no client" in missing.stderr


def test_serve_help_lists_the_options():
    shown = lampyris("serve", "--help")
    assert shown.returncode == 0
    for option in ("--host", "--port", "--data-dir", "--workers", "--database-url",
                   "--public-url"):
        assert option in shown.stdout
