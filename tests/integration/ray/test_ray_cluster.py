"""The test cluster itself (support.ray_cluster), with a plain Ray driver: an actor on each
node; ``kill_node(1)`` leaves no process of that node (its actor's worker included, which
runs in a session of its own), the GCS marks it dead within seconds, and the head, its actor
and the driver go on; ``stop()`` leaves no Ray process at all."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from support.ray_cluster import RayCluster, processes_under

pytestmark = pytest.mark.ray

DRIVER = r"""
import os, sys, time, ray
ray.init(address=sys.argv[1], log_to_driver=False)

@ray.remote(num_cpus=1)
class Probe:
    def pid(self):
        return os.getpid()
    def sleep(self, seconds):
        time.sleep(seconds)

on_node = Probe.options(resources={"worker": 1}).remote()
on_head = Probe.remote()
print("probe", ray.get(on_node.pid.remote()), ray.get(on_head.pid.remote()), flush=True)
busy = on_node.sleep.remote(600)
sys.stdin.readline()  # node 1 is killed now
try:
    ray.get(busy, timeout=60)
    print("probe survived", flush=True)
except ray.exceptions.RayActorError as exc:
    print("probe lost", type(exc).__name__, flush=True)
print("probe head", ray.get(on_head.pid.remote(), timeout=60), flush=True)
"""


def said(driver: subprocess.Popen[str]) -> list[str]:
    """The driver's next line of its own (Ray prints notes of its own to a driver's stdout)."""
    assert driver.stdout is not None
    while line := driver.stdout.readline():
        if line.startswith("probe "):
            return line.split()[1:]
    raise AssertionError(f"the driver ended ({driver.wait(10)}) without saying more")


def test_kill_node_leaves_nothing_of_it_and_the_rest_goes_on(ray_cluster: RayCluster):
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, ray_cluster.address],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=ray_cluster.env())
    try:
        assert driver.stdin is not None
        node_actor, head_actor = map(int, said(driver))
        assert node_actor in {p.pid for p in ray_cluster.nodes[1].processes()}
        assert head_actor in {p.pid for p in ray_cluster.nodes[0].processes()}
        head_before = {p.pid for p in ray_cluster.nodes[0].processes()}

        t0 = time.monotonic()
        killed = ray_cluster.kill_node(1)
        assert node_actor in killed
        assert not psutil.pid_exists(node_actor) or \
            psutil.Process(node_actor).status() == psutil.STATUS_ZOMBIE
        ray_cluster.wait_node_state(1, "DEAD", timeout=20)
        noticed = time.monotonic() - t0
        assert ray_cluster.node_states() == {0: "ALIVE", 1: "DEAD"}
        assert head_before <= {p.pid for p in ray_cluster.nodes[0].processes()}

        driver.stdin.write("\n")
        driver.stdin.flush()
        assert said(driver)[0] == "lost"
        assert said(driver) == ["head", str(head_actor)]
        driver.communicate(timeout=30)
        assert driver.returncode == 0
        print(f"\nnode 1: {len(killed)} processes SIGKILLed, dead in the GCS {noticed:.1f} s "
              f"later")
    finally:
        if driver.poll() is None:
            driver.kill()
        driver.communicate()
    ray_cluster.stop()
    assert processes_under(ray_cluster.base_dir) == []
    assert not ray_cluster.base_dir.exists()
