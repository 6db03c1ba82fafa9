"""The batch runner's ``remote`` backend against a live lampyris server: inputs in a real S3
bucket (pre-signed for the server), results downloaded from the server into the sink."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from support import s3
from support.ceph import CephS3
from support.images import distinct_products
from support.lampyris_server import LampyrisServer


def test_remote_backend_runs_the_workflow_on_the_server(
    server: LampyrisServer, ceph_s3: CephS3, s3_bucket: str, tmp_path: Path
):
    client = s3.client_for(ceph_s3)
    for i, data in enumerate(distinct_products(12)):
        s3.put_object(client, s3_bucket, f"in/{i:02d}.jpg", data)
    assert server.client is not None
    ledger = tmp_path / "remote.ledger.db"
    command = [
        sys.executable, "-m", "lampyris.cli.app", "batch", f"s3://{s3_bucket}/in/",
        str(tmp_path / "out"), "--backend", "remote", "--server", server.url,
        "--client-id", server.client.client_id, "--client-secret", server.client.client_secret,
        "--storage-option", f"s3.endpoint_url={ceph_s3.endpoint_url}",
        "--storage-option", f"s3.key={ceph_s3.access_key}",
        "--storage-option", f"s3.secret={ceph_s3.secret_key}",
        "--jobs", "3", "--trim", "--ledger", str(ledger),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in outputs] == [f"{i:02d}.png" for i in range(12)]
    for path in outputs:
        rgba = np.asarray(Image.open(io.BytesIO(path.read_bytes())))
        assert rgba.shape[2] == 4 and rgba.shape[0] < 120, "trimmed on the server"
        assert rgba[rgba.shape[0] // 2, rgba.shape[1] // 2, 3] == 255
    with sqlite3.connect(ledger) as db:
        jobs = [json.loads(d)["job"] for (d,) in db.execute("SELECT details FROM items")]
    assert len(set(jobs)) == 12, "one server job per input"
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0 and "skipped 12" in again.stderr
