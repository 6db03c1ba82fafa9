"""A real multi-node Ray cluster on 127.0.0.1 for the tests: a head and worker nodes, each a
``ray start --block`` process of its own, so a node can be SIGKILLed as a machine would die.

Each node is started in its own session (support.procs.spawn): its raylet, agents and log
monitor share that process group. The workers the raylet forks (actors included) each start a
session of their own, so ``kill_node(i)`` also finds them by ancestry and by the
``RAY_RAYLET_PID`` they inherit, SIGKILLs everything at once and checks with psutil that
nothing of the node is left. Every node gets its own temp dir (Ray's sockets live there; it
must stay short: a Unix socket path is limited to 107 bytes and CI sets a 150-byte TMPDIR) and
its own free ports; worker ports are random (``--min-worker-port=0``).

The cluster uses token auth (Ray's default for a new cluster) with a token of its own; a
process that talks to it (a driver) needs ``cluster.env()``. A dead node is noticed by the GCS
in ~1-2 s (``RAY_ENV``'s health checks) rather than Ray's default ~15-30 s.

Ray's gRPC servers listen on every interface whatever address they are given, so Ray must only
ever run inside a loopback-only network namespace (``unshare -n``, as ``make test-ray`` does):
``start_cluster`` refuses to start anywhere else. Checked with ``in_loopback_namespace``, which
asks the kernel (netlink) for this process's interfaces: /sys/class/net is not a reliable
answer, it shows the namespace of whoever mounted /sys (after a bare ``unshare -n`` that is
still the host's).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from support.procs import (
    ServerStartError,
    free_ports,
    port_open,
    register_cleanup,
    remove_tree,
    short_tempdir,
    spawn,
    tail,
    unregister_cleanup,
    wait_until,
)

RAY = Path(sys.executable).with_name("ray")
HOST = "127.0.0.1"
RUN_HINT = "run them with `make test-ray` (or `unshare -n sh -c 'ip link set lo up && …'`)"

# For every Ray process (and for a driver, pass ``ray_env()`` on): no usage stats, and a dead
# node noticed by the GCS in ~2 s instead of ~15-30 s (health check every 0.5 s, 3 misses).
RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


def ray_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` with ``RAY_ENV`` (and ``extra``) on top: for Ray nodes and drivers."""
    return {**os.environ, **RAY_ENV, **(extra or {})}


def interfaces() -> list[str]:
    """The network interfaces of this process's network namespace."""
    return sorted(name for _, name in socket.if_nameindex())


def in_loopback_namespace() -> bool:
    """Whether this process's network namespace has no interface but ``lo``."""
    return interfaces() == ["lo"]


def require_loopback_namespace() -> None:
    if not in_loopback_namespace():
        raise RuntimeError(
            f"refusing to start Ray outside a loopback-only network namespace (interfaces: "
            f"{', '.join(interfaces())}): Ray listens on every interface; {RUN_HINT}"
        )


@dataclass(frozen=True)
class NodeSpec:
    """One node: its CPU slots, custom resources (``{"worker": 1}``) and object store."""

    cpus: int = 1
    resources: Mapping[str, float] = field(default_factory=dict)
    object_store_bytes: int = 100 * 1024 * 1024


@dataclass
class RayNode:
    index: int
    spec: NodeSpec
    temp_dir: Path
    node_manager_port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None  # ``ray start --block``: its PID is the group
    node_id: str | None = None
    raylet_pid: int | None = None

    @property
    def head(self) -> bool:
        return self.index == 0

    def processes(self) -> list[psutil.Process]:
        """Every live (non-zombie) process of this node: its process group, the raylet's
        workers (each in a session of its own, so found as descendants of ``ray start`` and by
        the ``RAY_RAYLET_PID`` they inherit, also once orphaned), and anything naming the
        node's temp dir on its command line."""
        if self.proc is None:
            return []
        pgid = self.proc.pid
        with contextlib.suppress(psutil.Error):
            family = psutil.Process(pgid).children(recursive=True)
            self.raylet_pid = self.raylet_pid or next(
                (c.pid for c in family if c.name() == "raylet"), None)
        raylet = str(self.raylet_pid)
        return _processes(lambda p: _pgid(p) == pgid or _parent_chain_has(p, pgid)
                          or _environ(p).get("RAY_RAYLET_PID") == raylet
                          or _mentions(p, self.temp_dir, environ=False))


@dataclass
class RayCluster:
    """``address`` (``127.0.0.1:PORT``, for ``ray.init``/``--ray-address``), ``nodes`` (0 is
    the head), ``kill_node(i)``, ``stop()``."""

    address: str
    base_dir: Path
    nodes: list[RayNode] = field(default_factory=list)
    start_seconds: float = 0.0

    @property
    def gcs_port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    # -- what the GCS says ---------------------------------------------------------------
    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for a process that talks to this cluster (a driver: ``lampyris
        batch --ray-address``, ``lampyris serve --executor ray``): its auth token, no stats."""
        return ray_env({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(self.token_file),
                        **(extra or {})})

    @property
    def token_file(self) -> Path:
        return self.base_dir / "auth_token"

    def node_states(self) -> dict[int, str]:
        """``{node index: "ALIVE" | "DEAD" | "UNKNOWN"}`` as the GCS has them now."""
        by_port = {int(n["port"]): str(n["state"]) for n in _gcs_query(self)}
        return {n.index: by_port.get(n.node_manager_port, "UNKNOWN") for n in self.nodes}

    def wait_node_state(self, i: int, state: str, timeout: float = 30.0) -> None:
        """Wait until the GCS has node ``i`` in ``state`` (a killed node: ``DEAD``)."""
        node = self.nodes[i]
        alive = [n.proc for n in self.nodes if n.proc is not None] if state == "ALIVE" else []
        for n in _gcs_query(self, node.node_manager_port, state, timeout=timeout, alive=alive,
                            log=node.log):
            if n["port"] == node.node_manager_port:
                node.node_id = n["node_id"]

    # -- killing -------------------------------------------------------------------------
    def kill_node(self, i: int, timeout: float = 10.0) -> list[int]:
        """SIGKILL every process of node ``i`` at once (raylet, agents, workers and actors);
        returns their PIDs. Fails when one survives, or when another node went with it."""
        node = self.nodes[i]
        if node.proc is None:
            raise RuntimeError(f"ray node {i} is not running")
        victims = node.processes()
        others = {p.pid for j, n in enumerate(self.nodes) if j != i for p in n.processes()}
        assert not others & {p.pid for p in victims}, "processes shared between nodes"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.proc.pid, signal.SIGKILL)
        for p in victims:
            with contextlib.suppress(psutil.Error):
                p.kill()
        node.proc.wait(timeout)
        deadline = time.monotonic() + timeout
        while (left := _still_running(victims) + node.processes()) \
                and time.monotonic() < deadline:
            for p in left:
                with contextlib.suppress(psutil.Error):
                    p.kill()
            time.sleep(0.05)
        if left:
            raise AssertionError(f"ray node {i}: survived SIGKILL: {_describe(left)}")
        node.proc = None
        gone = [j for j, n in enumerate(self.nodes)
                if j != i and n.proc is not None and n.proc.poll() is not None]
        if gone:
            raise AssertionError(f"killing ray node {i} also ended node(s) {gone}")
        return [p.pid for p in victims]

    def stop(self) -> None:
        """SIGKILL every node (workers first), sweep up strays, remove the temp dirs."""
        unregister_cleanup(id(self))
        for i in reversed(range(len(self.nodes))):
            if self.nodes[i].proc is not None:
                with contextlib.suppress(AssertionError, RuntimeError):
                    self.kill_node(i)
        kill_processes_under(self.base_dir)
        remove_tree(self.base_dir)

    def logs(self, lines: int = 20) -> str:
        return "\n".join(f"--- ray node {n.index} ({n.log})\n{tail(n.log, lines)}"
                         for n in self.nodes)


def _spawn_node(cluster: RayCluster, i: int, spec: NodeSpec, env: dict[str, str],
                dashboard_port: int) -> RayNode:
    node_dir = cluster.base_dir / f"n{i}"
    node_dir.mkdir()
    (manager, objects, agent_http, agent_grpc, runtime_env, metrics) = free_ports(6)
    node = RayNode(i, spec, node_dir, manager, cluster.base_dir / f"n{i}.log")
    argv: list[str | os.PathLike[str]] = [
        RAY, "start", "--block", f"--node-ip-address={HOST}", "--disable-usage-stats",
        f"--num-cpus={spec.cpus}", "--num-gpus=0",
        f"--resources={json.dumps(dict(spec.resources))}",
        f"--object-store-memory={spec.object_store_bytes}",
        f"--temp-dir={node_dir}", f"--node-manager-port={manager}",
        f"--object-manager-port={objects}", f"--dashboard-agent-listen-port={agent_http}",
        f"--dashboard-agent-grpc-port={agent_grpc}", f"--runtime-env-agent-port={runtime_env}",
        f"--metrics-export-port={metrics}", "--min-worker-port=0", "--max-worker-port=0",
    ]
    if node.head:
        argv += ["--head", f"--port={cluster.gcs_port}", "--include-dashboard=false",
                 f"--dashboard-port={dashboard_port}"]
    else:
        argv += [f"--address={cluster.address}"]
    node.proc = spawn(argv, log=node.log, cwd=cluster.base_dir, env=env)
    cluster.nodes.append(node)
    return node


def start_cluster(
    nodes: Sequence[NodeSpec] = (NodeSpec(), NodeSpec(resources={"worker": 1})),
    *,
    temp_dir: Path | None = None,
    timeout: float = 90.0,
) -> RayCluster:
    """Start ``nodes[0]`` as the head, then each other node joined to it; return once the GCS
    lists every node alive. ``temp_dir`` (default: a fresh short one) holds ``n0``, ``n1``, …:
    each node's Ray temp dir and log, all removed by ``stop()``."""
    require_loopback_namespace()
    if not RAY.exists():
        raise ServerStartError(f"ray: no {RAY}; `pip install ray` (the `ray` extra)")
    t0 = time.monotonic()
    base = temp_dir or short_tempdir("lampyris-ray-")
    base.mkdir(parents=True, exist_ok=True)
    gcs_port, dashboard_port = free_ports(2)
    cluster = RayCluster(address=f"{HOST}:{gcs_port}", base_dir=base)
    register_cleanup(id(cluster), cluster.stop)
    # Token auth, as Ray sets up a new cluster by default, with a token of the cluster's own:
    # never ~/.ray/auth_token (a `ray start --head` turns token auth on when that file exists).
    cluster.token_file.write_text(secrets.token_hex(32))
    cluster.token_file.chmod(0o600)
    env = cluster.env()
    try:
        # The head first; the other nodes together as soon as its GCS answers.
        for i, spec in enumerate(nodes):
            node = _spawn_node(cluster, i, spec, env, dashboard_port)
            if node.head:
                wait_until(lambda: port_open(gcs_port), timeout=timeout, what="ray head GCS",
                           alive=[node.proc], log=node.log)  # type: ignore[list-item]
        for i in range(len(nodes)):
            cluster.wait_node_state(i, "ALIVE", max(5.0, timeout - (time.monotonic() - t0)))
    except BaseException as exc:
        logs = cluster.logs(15)
        cluster.stop()
        if isinstance(exc, ServerStartError):
            raise ServerStartError(f"{exc}\n{logs}") from exc
        raise
    cluster.start_seconds = time.monotonic() - t0
    return cluster


# -- processes ---------------------------------------------------------------------------


def _pgid(p: psutil.Process) -> int | None:
    try:
        return os.getpgid(p.pid)
    except OSError:
        return None


def _environ(p: psutil.Process) -> dict[str, str]:
    try:
        return p.environ()
    except psutil.Error:
        return {}


def _mentions(p: psutil.Process, path: Path, *, environ: bool = True) -> bool:
    """Whether ``p``'s command line (or environment) names ``path``."""
    text = str(path)
    try:
        if any(text in arg for arg in p.cmdline()):
            return True
    except psutil.Error:
        return False
    return environ and any(text in value for value in _environ(p).values())


def _parent_chain_has(p: psutil.Process, pid: int) -> bool:
    try:
        return any(parent.pid == pid for parent in p.parents())
    except psutil.Error:
        return False


def _processes(match: Callable[[psutil.Process], bool]) -> list[psutil.Process]:
    me = os.getpid()
    found = []
    for p in psutil.process_iter():
        if p.pid == me:
            continue
        try:
            if p.status() == psutil.STATUS_ZOMBIE:
                continue
        except psutil.Error:
            continue
        if match(p):
            found.append(p)
    return found


def _still_running(procs: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.Error:
            continue
    return alive


def _describe(procs: list[psutil.Process]) -> str:
    out = []
    for p in procs:
        try:
            out.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
        except psutil.Error:
            out.append(str(p.pid))
    return "; ".join(out)


def processes_under(path: Path) -> list[psutil.Process]:
    """Live processes whose command line or environment names something under ``path``: every
    process of a cluster (``RAY_AUTH_TOKEN_PATH`` is in its base dir) or of a Ray a driver
    started itself under a temp dir of the test's (``RAY_TMPDIR``), workers included."""
    return _processes(lambda p: _mentions(p, path))


def kill_processes_under(path: Path, timeout: float = 10.0) -> list[int]:
    """SIGKILL every process ``processes_under(path)`` finds until none is left; their PIDs."""
    killed: list[int] = []
    deadline = time.monotonic() + timeout
    while procs := processes_under(path):
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.kill()
            killed.append(p.pid)
        if time.monotonic() > deadline:
            raise AssertionError(f"survived SIGKILL: {_describe(procs)}")
        time.sleep(0.05)
    return killed


# -- the GCS -------------------------------------------------------------------------------

# Asks the GCS for its nodes through Ray's own client, in a process of its own (Ray's auth token
# and config are per process), polling until node ``port`` is in ``state`` (``-`` : answer at
# once). Prints the node list as JSON; exit 3 when time ran out.
_GCS_QUERY = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
from ray._raylet import GcsClient
address, port, state, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
deadline, client, nodes, error = time.monotonic() + timeout, None, [], ""
while True:
    try:
        client = client or GcsClient(address=address)
        nodes = [{"port": i.node_manager_port, "state": "ALIVE" if i.state == 0 else "DEAD",
                  "head": bool(i.is_head_node), "node_id": i.node_id.hex()}
                 for i in client.get_all_node_info(timeout=2).values()]
    except Exception as exc:
        error = repr(exc)
    if state == "-" or any(n["port"] == port and n["state"] == state for n in nodes):
        print(json.dumps(nodes))
        sys.exit(0)
    if time.monotonic() > deadline:
        print(json.dumps(nodes))
        print(error, file=sys.stderr)
        sys.exit(3)
    time.sleep(0.2)
"""


def _gcs_query(
    cluster: RayCluster, port: int = 0, state: str = "-", *, timeout: float = 10.0,
    alive: Sequence[subprocess.Popen[bytes]] = (), log: Path | None = None,
) -> list[dict[str, Any]]:
    query = subprocess.Popen(
        [sys.executable, "-c", _GCS_QUERY, cluster.address, str(port), state, str(timeout)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cluster.env(),
        cwd=cluster.base_dir)
    try:
        while query.poll() is None:
            for proc in alive:
                if proc.poll() is not None:
                    detail = f"\n{tail(log)}" if log else ""
                    raise ServerStartError(
                        f"ray: {proc.args!r} exited with {proc.returncode}{detail}")
            time.sleep(0.05)
        out, err = query.communicate()
    finally:
        if query.poll() is None:
            query.kill()
            query.wait()
    nodes: list[dict[str, Any]] = json.loads(out or b"[]")
    if query.returncode == 3:
        detail = f"\n{tail(log)}" if log else ""
        raise ServerStartError(
            f"ray: node on port {port} not {state} after {timeout:.0f} s; GCS: {nodes} "
            f"{err.decode(errors='replace').strip()[-500:]}{detail}")
    if query.returncode != 0:
        raise RuntimeError(f"ray: GCS query failed: {err.decode(errors='replace')[-2000:]}")
    return nodes


if __name__ == "__main__":  # manual check, in a loopback-only namespace:
    # unshare -n sh -c 'ip link set lo up && cd tests && ../.venv/bin/python -m support.ray_cluster'
    cluster = start_cluster()
    print(f"ray up in {cluster.start_seconds:.1f} s at {cluster.address}: {cluster.node_states()}")
    print("killed", cluster.kill_node(1))
    cluster.wait_node_state(1, "DEAD")
    print(cluster.node_states())
    cluster.stop()
