"""Two ``lampyris serve`` replicas sharing everything: one PostgreSQL database (jobs, clients,
the token signing key), one Ceph bucket (hosted files, uploads) and one Ray cluster (the
replicas' jobs run on its actors). One replica is SIGKILLed mid-queue: the other takes over
its jobs once their lease runs out, and every job ends ``succeeded`` when asked through the
survivor, with a sane cutout behind each result URL. A job sent to one replica is cancelled
through the other, with the first one's token."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from support import s3
from support.ceph import CephS3
from support.images import assert_sane_cutout, distinct_products
from support.lampyris_server import LampyrisServer
from support.procs import remove_tree, short_tempdir, wait_until
from support.ray_cluster import RayCluster

pytestmark = pytest.mark.ray

JOBS = 50
SIZE = (160, 120)
LEASE = 5  # seconds: a dead replica's jobs are someone else's 5 s after its last heartbeat
UNFINISHED = ("pending", "running", "cancel_pending")


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    name = f"lampyris_replicas_{time.monotonic_ns()}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.dispose()


@pytest.fixture
def data_dirs() -> Iterator[list[Path]]:
    dirs = [short_tempdir("lampyris-rep-") for _ in range(2)]
    try:
        yield dirs
    finally:
        for d in dirs:
            remove_tree(d)


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def _states(url: str, ids: list[str]) -> dict[str, tuple[str, int]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, state, attempts FROM jobs")).all()
    finally:
        engine.dispose()
    return {r.id: (r.state, r.attempts) for r in rows if r.id in ids}


def _health(server: LampyrisServer) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{server.url}/health", timeout=10).json()
    return body


def _poll(url: str, headers: dict[str, str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(url, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["status"] not in UNFINISHED:
            return body
        assert time.monotonic() < deadline, f"still {body['status']} after {timeout} s: {body}"
        time.sleep(0.2)


def test_two_replicas_share_jobs_tokens_and_files_and_survive_one_s_death(
    ray_cluster: RayCluster, database: str, ceph_s3: CephS3, s3_bucket: str,
    data_dirs: list[Path]
):
    client = s3.client_for(ceph_s3)
    env = ray_cluster.env({
        "LAMPYRIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8",
        "LAMPYRIS_OBJECTS_URL": f"s3://{s3_bucket}/objects",
        "LAMPYRIS_OBJECTS_ENDPOINT_URL": ceph_s3.endpoint_url,
        "AWS_ACCESS_KEY_ID": ceph_s3.access_key,
        "AWS_SECRET_ACCESS_KEY": ceph_s3.secret_key,
        "AWS_DEFAULT_REGION": ceph_s3.region,
        "LAMPYRIS_JOBS_LEASE_SECONDS": str(LEASE),
        "LAMPYRIS_JOBS_POLL_INTERVAL": "0.5",
    })
    # One actor per replica: the cluster has a CPU slot for each.
    a = LampyrisServer(data_dirs[0], env=env, workers=1, database_url=database,
                       executor="ray", ray_address=ray_cluster.address)
    b = LampyrisServer(data_dirs[1], env=env, workers=1, database_url=database,
                       executor="ray", ray_address=ray_cluster.address)
    try:
        a.start(timeout=120)
        b.client = a.client  # a client registered through A; B learns of it from the DB
        b.start(timeout=120)
        for live in (a, b):
            assert {k: _health(live)[k] for k in ("executor", "workers")} == \
                {"executor": "ray", "workers": 1}
        headers = a.headers()  # A's token, for both replicas

        photos = distinct_products(JOBS, SIZE)
        for i, data in enumerate(photos):
            s3.put_object(client, s3_bucket, f"inputs/{i:02d}.jpg", data)
        ids: list[str] = []
        for i in range(JOBS):
            live = (a, b)[i % 2]
            answer = httpx.post(f"{live.url}/v2/remove-background", headers=headers, json={
                "image": {"source": {"url": s3.presign_get(client, s3_bucket,
                                                            f"inputs/{i:02d}.jpg")}},
                "output": {"mediaType": "image/png"}}, timeout=30)
            assert answer.status_code == 202, answer.text
            accepted = answer.json()
            assert accepted["statusUrl"] == f"{live.url}/v2/status/{accepted['jobId']}"
            ids.append(accepted["jobId"])

        # A Firefly job sent to A, behind the 50, cancelled through B with A's token; its
        # input is an upload made through A (hosted in the shared bucket).
        scene = np.random.default_rng(3).integers(0, 255, (48, 64, 3), dtype=np.uint8)
        hole = np.zeros((48, 64), np.uint8)
        hole[10:20, 10:30] = 255
        uploads = [httpx.post(f"{a.url}/v2/storage/image", content=_png(pixels), timeout=30,
                              headers={**headers, "Content-Type": "image/png"})
                   for pixels in (scene, hole)]
        assert [u.status_code for u in uploads] == [200, 200], [u.text for u in uploads]
        photo, mask = (u.json()["images"][0]["id"] for u in uploads)
        fill = httpx.post(f"{a.url}/v3/images/fill-async", headers=headers, timeout=30, json={
            "image": {"source": {"uploadId": photo}}, "mask": {"source": {"uploadId": mask}}})
        assert fill.status_code == 202, fill.text
        fill_id = fill.json()["jobId"]
        cancel = httpx.put(f"{b.url}/v3/cancel/{fill_id}", headers=headers, timeout=30)
        cancelled = _poll(f"{b.url}/v3/status/{fill_id}", headers, 120)
        if cancel.status_code == 200:  # pending: cancelled now; running: once it stops
            assert cancel.json() in ({"jobId": fill_id, "status": "cancelled"},
                                     {"jobId": fill_id, "status": "cancel_pending"})
            assert cancelled["status"] == "cancelled", cancelled
        else:  # it had finished already
            assert cancel.status_code == 409 and cancel.json()["error_code"] == "job_completed"
            assert cancelled["status"] == "succeeded", cancelled

        # A token B issued is as good at A.
        at_a = httpx.get(f"{a.url}/v2/status/{ids[0]}", headers=b.headers(), timeout=30)
        assert at_a.status_code == 200, at_a.text

        # Kill A once 10 jobs are done and while it runs one (its lease then lapses).
        wait_until(lambda: sum(s == "succeeded" for s, _ in _states(database, ids).values())
                   >= 10 and _health(a)["busy"] >= 1, timeout=240,
                   what="10 jobs done, A busy", interval=0.1, alive=[a.proc, b.proc], log=a.log)
        a.kill()
        killed_at = time.monotonic()
        left = sum(s != "succeeded" for s, _ in _states(database, ids).values())
        assert left > 0, "the queue was empty when A died"

        # Every job, asked through B with A's token, ends succeeded; the results are there.
        for job_id in ids:
            body = _poll(f"{b.url}/v2/status/{job_id}", headers, 240)
            assert body["status"] == "succeeded", body
            output = httpx.get(body["result"]["outputs"][0]["url"], timeout=30)
            assert output.status_code == 200, output.text
            assert_sane_cutout(output.content, SIZE)
        finished = time.monotonic() - killed_at
        states = _states(database, ids)
        taken_over = [job_id for job_id, (_, attempts) in states.items() if attempts >= 2]
        assert taken_over, "no job A was running came back to B"
        assert {s for s, _ in states.values()} == {"succeeded"}
        print(f"\ncancel through B: {cancel.status_code} {cancel.json()}, then "
              f"{cancelled['status']}; A killed with {left} of {JOBS} jobs left, "
              f"{len(taken_over)} taken over by B; all done {finished:.1f} s later")
    except BaseException:
        print(f"--- replica A\n{a.tail()}\n--- replica B\n{b.tail()}")
        raise
    finally:
        a.stop()
        b.stop()
