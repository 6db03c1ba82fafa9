"""Batch runs between real object stores: 200 images bucket → bucket on Ceph (S3) and
container → container on Azurite, SIGKILLed half way and run again: the ledger shows every
input processed exactly once, and every output exists and decodes."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from support import azure_blob, s3
from support.azurite import Azurite
from support.batch_ledger import done_count, lampyris, ledger_rows
from support.ceph import CephS3
from support.images import distinct_products
from support.procs import spawn, stop_group, wait_until

COUNT = 200


def kill_half_way_then_finish(
    command: list[str], ledger: Path, log: Path, read_output: Callable[[str], bytes],
    list_outputs: Callable[[], list[str]],
) -> None:
    """Start the batch, SIGKILL it (whole process group) once ~a third is done, run it again,
    then check the ledger and every output."""
    proc = spawn(command, log=log)
    try:
        wait_until(lambda: done_count(ledger) >= COUNT // 3, timeout=300,
                   what="first third of the batch", alive=[proc], log=log)
    finally:
        stop_group(proc.pid, sig=signal.SIGKILL)
        proc.wait(10)
    first = {r["input_url"]: r for r in ledger_rows(ledger) if r["status"] == "done"}
    assert COUNT // 3 <= len(first) < COUNT, len(first)

    again = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0, again.stderr[-3000:]

    rows = ledger_rows(ledger)
    assert len(rows) == COUNT and {r["status"] for r in rows} == {"done"}
    assert len({r["input_url"] for r in rows}) == COUNT
    for row in rows:  # what the first run finished was not done again
        if row["input_url"] in first:
            assert row["run_id"] == first[row["input_url"]]["run_id"] == 1
            assert row["attempts"] == 1
        else:
            assert row["run_id"] == 2
    summary = json.loads(ledger.with_name(ledger.name.replace(".ledger.db", ".summary.json"))
                         .read_text())
    assert summary["this_run"]["skipped"] == len(first)
    assert summary["this_run"]["done"] == COUNT - len(first)

    outputs = list_outputs()
    assert len(outputs) == COUNT
    for name in outputs:
        rgba = np.asarray(Image.open(io.BytesIO(read_output(name))))
        assert rgba.shape == (120, 160, 4)
        assert rgba[60, 80, 3] == 255 and rgba[0, 0, 3] == 0


@pytest.fixture(scope="module")
def photos() -> list[bytes]:
    return distinct_products(COUNT)


def test_s3_bucket_to_bucket_survives_sigkill(
    ceph_s3: CephS3, s3_bucket: str, photos: list[bytes], tmp_path: Path
):
    client = s3.client_for(ceph_s3)
    for i, data in enumerate(photos):
        s3.put_object(client, s3_bucket, f"input/sku-{i:04d}.jpg", data)
    out_bucket = f"{s3_bucket}-out"
    s3.create_bucket(client, out_bucket)
    ledger = tmp_path / "s3.ledger.db"
    command = lampyris(
        "batch", f"s3://{s3_bucket}/input/", f"s3://{out_bucket}/catalog/",
        "--storage-option", f"s3.endpoint_url={ceph_s3.endpoint_url}",
        "--storage-option", f"s3.key={ceph_s3.access_key}",
        "--storage-option", f"s3.secret={ceph_s3.secret_key}",
        "--ledger", str(ledger), "--jobs", "2",
    )

    def list_outputs() -> list[str]:
        listed = client.list_objects_v2(Bucket=out_bucket, Prefix="catalog/")
        return [o["Key"] for o in listed.get("Contents", [])]

    kill_half_way_then_finish(command, ledger, tmp_path / "run.log",
                              lambda key: s3.get_object(client, out_bucket, key), list_outputs)
    assert sorted(list_outputs()) == [f"catalog/sku-{i:04d}.png" for i in range(COUNT)]


def test_azure_container_to_container_survives_sigkill(
    azurite: Azurite, blob_container: str, photos: list[bytes], tmp_path: Path
):
    for i, data in enumerate(photos):
        azure_blob.upload_blob(azurite, blob_container, f"in/sku-{i:04d}.jpg", data)
    out_container = f"{blob_container}-out"
    azure_blob.create_container(azurite, out_container)
    ledger = tmp_path / "az.ledger.db"
    command = lampyris(
        "batch", f"az://{blob_container}/in/", f"az://{out_container}/",
        "--storage-option", f"az.connection_string={azurite.connection_string}",
        "--ledger", str(ledger), "--jobs", "2",
    )
    service = azure_blob.service_client(azurite)

    def list_outputs() -> list[str]:
        return [b.name for b in service.get_container_client(out_container).list_blobs()]

    kill_half_way_then_finish(
        command, ledger, tmp_path / "run.log",
        lambda name: azure_blob.download_blob(azurite, out_container, name), list_outputs)
    assert sorted(list_outputs()) == [f"sku-{i:04d}.png" for i in range(COUNT)]


def test_ctrl_c_stops_cleanly_and_the_next_run_resumes(tmp_path: Path):
    source, dest = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    for i, data in enumerate(distinct_products(40)):
        (source / f"{i:02d}.jpg").write_bytes(data)
    ledger = tmp_path / "local.ledger.db"
    command = lampyris("batch", str(source), str(dest), "--ledger", str(ledger), "--jobs", "2")
    proc = spawn(command, log=tmp_path / "run.log")
    wait_until(lambda: done_count(ledger) >= 8, timeout=120, what="first images",
               alive=[proc], log=tmp_path / "run.log")
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(60) == 130
    rows = ledger_rows(ledger)
    assert {r["status"] for r in rows} <= {"done", "pending"}, "nothing left running"
    assert not list(dest.rglob("*.part")), "no half-written outputs"
    done_first = sum(r["status"] == "done" for r in rows)
    assert 8 <= done_first < 40
    time.sleep(0.2)
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr[-2000:]
    rows = ledger_rows(ledger)
    assert len(rows) == 40 and {r["status"] for r in rows} == {"done"}
    assert sorted(p.name for p in dest.iterdir()) == [f"{i:02d}.png" for i in range(40)]


def test_an_empty_prefix_is_empty_and_a_missing_bucket_is_an_error(
    ceph_s3: CephS3, s3_bucket: str, tmp_path: Path
):
    options = ["--storage-option", f"s3.endpoint_url={ceph_s3.endpoint_url}",
               "--storage-option", f"s3.key={ceph_s3.access_key}",
               "--storage-option", f"s3.secret={ceph_s3.secret_key}",
               "--ledger", str(tmp_path / "e.ledger.db")]
    empty = subprocess.run(lampyris("batch", f"s3://{s3_bucket}/nothing-yet/",
                                    str(tmp_path / "out"), *options),
                           capture_output=True, text=True, timeout=120, check=False)
    assert empty.returncode == 0, empty.stderr
    assert "done 0" in empty.stderr
    missing = subprocess.run(lampyris("batch", "s3://no-such-bucket-here/in/",
                                      str(tmp_path / "out"), *options),
                             capture_output=True, text=True, timeout=120, check=False)
    assert missing.returncode == 2 and "no such bucket" in missing.stderr
