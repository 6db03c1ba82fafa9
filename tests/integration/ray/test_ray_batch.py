"""``lampyris batch --backend ray`` on a real two-node Ray cluster, bucket → bucket on Ceph:
a node SIGKILLed mid-run loses only the items it held, which are retried on the node left;
the driver SIGKILLed mid-run resumes without redoing anything; and a Ray the driver starts
itself gives the same pixels as the local backend."""

from __future__ import annotations

import io
import json
import secrets
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from support import s3
from support.batch_ledger import done_count, lampyris, ledger_rows
from support.ceph import CephS3
from support.images import assert_sane_cutout, distinct_products
from support.procs import spawn, stop_group, tail, wait_until
from support.ray_cluster import (
    NodeSpec,
    RayCluster,
    kill_processes_under,
    processes_under,
    ray_env,
)

pytestmark = pytest.mark.ray

COUNT = 200
SIZE = (160, 120)


def summary_of(ledger: Path) -> dict[str, Any]:
    path = ledger.with_name(ledger.name.replace(".ledger.db", ".summary.json"))
    summary: dict[str, Any] = json.loads(path.read_text())
    return summary


def busy_actor(cluster: RayCluster, node: int) -> bool:
    """Whether an actor on ``node`` is running an item now (Ray titles a worker process
    ``ray::CLASS.METHOD`` while it runs that method)."""
    titles = []
    for p in cluster.nodes[node].processes():
        try:
            titles.append(p.cmdline()[0])
        except Exception:  # gone meanwhile
            continue
    return any(t.startswith("ray::") and t.endswith(".call") for t in titles)


@pytest.fixture(scope="module")
def photos() -> list[bytes]:
    return distinct_products(COUNT, SIZE)


class Buckets:
    """The input bucket (``COUNT`` photos under ``input/``) and an empty output bucket."""

    def __init__(self, ceph: CephS3, bucket: str, photos: list[bytes]) -> None:
        self.client = s3.client_for(ceph)
        self.source, self.dest = bucket, f"{bucket}-out"
        for i, data in enumerate(photos):
            s3.put_object(self.client, bucket, f"input/sku-{i:04d}.jpg", data)
        s3.create_bucket(self.client, self.dest)
        self.options = ["--storage-option", f"s3.endpoint_url={ceph.endpoint_url}",
                        "--storage-option", f"s3.key={ceph.access_key}",
                        "--storage-option", f"s3.secret={ceph.secret_key}"]

    def batch(self, cluster: RayCluster, ledger: Path) -> list[str]:
        return lampyris("batch", f"s3://{self.source}/input/", f"s3://{self.dest}/catalog/",
                        *self.options, "--backend", "ray", "--ray-address", cluster.address,
                        "--ledger", str(ledger))

    def outputs(self) -> list[str]:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.dest, Prefix="catalog/"):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return sorted(keys)

    def check_outputs(self) -> None:
        assert self.outputs() == [f"catalog/sku-{i:04d}.png" for i in range(COUNT)]
        for key in self.outputs():
            assert_sane_cutout(s3.get_object(self.client, self.dest, key), SIZE)


@pytest.fixture
def buckets(ceph_s3: CephS3, s3_bucket: str, photos: list[bytes]) -> Buckets:
    return Buckets(ceph_s3, s3_bucket, photos)


def check_ledger(ledger: Path) -> list[dict[str, Any]]:
    rows = ledger_rows(ledger)
    assert len(rows) == COUNT and {r["status"] for r in rows} == {"done"}, \
        sorted({(r["status"], r["error"]) for r in rows if r["status"] != "done"})
    assert len({r["input_url"] for r in rows}) == COUNT
    return rows


# The head declares 2 CPUs: 3 actors on this 2-core machine while both nodes live, and the
# head's 2 go on at full speed once node 1 is gone (with 1 + 1 the last 85 % of the batch ran
# on one core: twice the time).
@pytest.mark.parametrize("ray_cluster", [[NodeSpec(cpus=2), NodeSpec(resources={"worker": 1})]],
                         indirect=True, ids=["head2+node1"])
def test_a_node_killed_mid_batch_loses_only_its_items_which_are_retried(
    ray_cluster: RayCluster, buckets: Buckets, tmp_path: Path
):
    ledger, log = tmp_path / "ray.ledger.db", tmp_path / "run.log"
    proc = spawn(buckets.batch(ray_cluster, ledger), log=log, env=ray_cluster.env())
    try:
        # Kill once 30 are done and the worker node's actor is in the middle of an item
        # (it holds that one and the next): those items were in flight on the dead node.
        wait_until(lambda: done_count(ledger) >= 30 and busy_actor(ray_cluster, 1),
                   timeout=300, what="30 done, the worker node busy", interval=0.1,
                   alive=[proc], log=log)
        killed = ray_cluster.kill_node(1)
        done_at_kill = done_count(ledger)
        assert len(killed) >= 5 and proc.poll() is None, "the driver lives on"
        ray_cluster.wait_node_state(1, "DEAD")
        assert ray_cluster.node_states()[0] == "ALIVE"
        assert proc.wait(400) == 0, tail(log, 40)
    finally:
        stop_group(proc.pid, sig=signal.SIGKILL)
    assert done_at_kill < COUNT, "the batch was not over when the node died"

    rows = check_ledger(ledger)
    summary = summary_of(ledger)["this_run"]
    retried = [r for r in rows if r["attempts"] >= 2]
    assert summary["done"] == COUNT and summary["failed"] == 0
    # The items the dead node held came back retryable and were done again on the head.
    assert retried, "no item was in flight on the killed node"
    assert summary["retries"] == sum(r["attempts"] - 1 for r in rows) >= 1
    print(f"\nnode 1 killed ({len(killed)} processes) with {done_at_kill} done; "
          f"{len(retried)} item(s) retried; {summary['seconds']:.0f} s, "
          f"{summary['images_per_second']:.1f} images/s")
    buckets.check_outputs()


def test_the_driver_killed_mid_batch_resumes_without_redoing_anything(
    ray_cluster: RayCluster, buckets: Buckets, tmp_path: Path
):
    ledger, log = tmp_path / "ray.ledger.db", tmp_path / "run.log"
    command = buckets.batch(ray_cluster, ledger)
    proc = spawn(command, log=log, env=ray_cluster.env())
    try:
        wait_until(lambda: done_count(ledger) >= COUNT // 3, timeout=300,
                   what="first third of the batch", alive=[proc], log=log)
    finally:
        stop_group(proc.pid, sig=signal.SIGKILL)  # the driver's group; the cluster lives on
        proc.wait(10)
    first = {r["input_url"]: r for r in ledger_rows(ledger) if r["status"] == "done"}
    assert COUNT // 3 <= len(first) < COUNT, len(first)
    assert ray_cluster.node_states() == {0: "ALIVE", 1: "ALIVE"}

    again = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False,
                           env=ray_cluster.env())
    assert again.returncode == 0, again.stderr[-3000:]

    rows = check_ledger(ledger)
    for row in rows:  # what the first run finished was not done again
        if row["input_url"] in first:
            assert row["run_id"] == first[row["input_url"]]["run_id"] == 1
            assert row["attempts"] == 1
        else:
            assert row["run_id"] == 2
    summary = summary_of(ledger)["this_run"]
    assert summary["skipped"] == len(first)
    assert summary["done"] == COUNT - len(first)
    buckets.check_outputs()


@pytest.fixture
def own_ray(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment for a driver that starts a Ray of its own: Ray's auth token in a file of
    the test's (so a new local Ray writes none to ~/.ray), and a mark by which every process
    of that Ray is found and SIGKILLed afterwards, should the driver leave one behind."""
    token = tmp_path / "ray-token"
    token.write_text(secrets.token_hex(32))
    mark = str(tmp_path / "own-ray")
    env = ray_env({"RAY_AUTH_TOKEN_PATH": str(token), "LAMPYRIS_TEST_RAY_OWNER": mark})
    for key in ("RAY_ADDRESS", "LAMPYRIS_RAY_ADDRESS", "RAY_AUTH_MODE"):
        env.pop(key, None)
    try:
        yield env
    finally:
        left = processes_under(Path(mark))
        kill_processes_under(Path(mark))
        assert not left, f"the driver's own Ray outlived it: {[p.pid for p in left]}"


def test_without_an_address_the_driver_starts_a_ray_and_the_pixels_match_local(
    own_ray: dict[str, str], tmp_path: Path
):
    source = tmp_path / "in"
    source.mkdir()
    for i, data in enumerate(distinct_products(6, SIZE)):
        (source / f"{i}.jpg").write_bytes(data)
    pixels = {}
    for backend in ("local", "ray"):
        dest = tmp_path / backend
        run = subprocess.run(
            lampyris("batch", str(source), str(dest), "--backend", backend, "--jobs", "1",
                     "--ledger", str(tmp_path / f"{backend}.ledger.db")),
            capture_output=True, text=True, timeout=300, check=False, env=own_ray)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "done 6" in run.stderr, run.stderr[-2000:]
        pixels[backend] = {p.name: np.asarray(Image.open(io.BytesIO(p.read_bytes())))
                           for p in sorted(dest.glob("*.png"))}
    assert sorted(pixels["ray"]) == [f"{i}.png" for i in range(6)]
    assert pixels["ray"].keys() == pixels["local"].keys()
    for name, ray_pixels in pixels["ray"].items():
        assert ray_pixels.shape == (SIZE[1], SIZE[0], 4)
        assert np.array_equal(ray_pixels, pixels["local"][name]), name
