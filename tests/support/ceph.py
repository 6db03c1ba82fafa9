"""A throw-away single-node Ceph cluster with an S3 gateway, bound to 127.0.0.1.

One monitor, one OSD on ``memstore`` (objects live in the OSD's RAM) and one radosgw, all on
free ports, all data under one temp directory, cephx off. radosgw enforces S3 auth for real:
SigV4, pre-signed URL expiry and tampering, anonymous access → 403.

Needs the Debian packages ceph-mon, ceph-osd, radosgw and ceph-common
(``scripts/install-test-services.sh`` installs them). Starts in ~1.5 s: the monitor's Paxos
proposal interval is cut from 1 s to 0.05 s, otherwise each pool creation (RGW_POOLS and the
four radosgw makes itself) waits a full second and the start takes 12-17 s.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from support.procs import (
    ServerStartError,
    free_ports,
    register_cleanup,
    remove_tree,
    short_tempdir,
    spawn,
    stop_group,
    tail,
    unregister_cleanup,
    wait_until,
)

ACCESS_KEY = "testkey"
SECRET_KEY = "testsecret"
REGION = "us-east-1"
REQUIRED_BINARIES = (
    "ceph-mon",
    "ceph-osd",
    "radosgw",
    "radosgw-admin",
    "ceph",
    "ceph-authtool",
    "monmaptool",
)
# Pre-created so the first bucket / object / multipart request does not stall ~2 s on each.
RGW_POOLS = ("default.rgw.buckets.index", "default.rgw.buckets.data", "default.rgw.buckets.non-ec")


def missing_binaries() -> list[str]:
    return [b for b in REQUIRED_BINARIES if shutil.which(b) is None]


@dataclass
class CephS3:
    """A running cluster. ``endpoint_url`` is the radosgw S3 endpoint (path-style buckets)."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str
    port: int
    data_dir: Path
    start_seconds: float = 0.0
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    def stop(self) -> None:
        unregister_cleanup(id(self))
        # radosgw first, then the OSD, then the monitor; each in its own process group.
        for proc in reversed(self._procs):
            stop_group(proc.pid, grace=5.0)
            proc.wait(timeout=5)
        self._procs.clear()
        remove_tree(self.data_dir)


def _conf(d: Path, fsid: str, mon_addrs: str, rgw_port: int) -> str:
    return f"""[global]
fsid = {fsid}
mon_host = {mon_addrs}
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
public_network = 127.0.0.0/8
cluster_network = 127.0.0.0/8
ms_bind_ipv4 = true
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_client_mode = crc
ms_mon_service_mode = crc
ms_service_mode = crc
ms_cluster_mode = crc
ms_mon_cluster_mode = crc
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
mon_data_avail_warn = 5
# Commit monitor map changes after 50 ms, not 1 s: start-up goes from ~15 s to ~1.5 s.
paxos_propose_interval = 0.05
run_dir = {d}/run
admin_socket = {d}/run/$name.asok
pid_file = {d}/run/$name.pid
log_file = {d}/log/$name.log
keyring = {d}/keyring
crash_dir = {d}/crash
[mon]
mon_data = {d}/$name
[osd]
osd_data = {d}/$name
osd_objectstore = memstore
memstore_device_bytes = 4294967296
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw_data = {d}/rgw
rgw_dns_name = localhost
"""


def _run(argv: list[str], *, cwd: Path, timeout: float, what: str, stdin: str | None = None) -> str:
    try:
        res = subprocess.run(
            argv,
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServerStartError(f"ceph: {what} timed out after {timeout:.0f} s") from exc
    if res.returncode != 0:
        raise ServerStartError(
            f"ceph: {what} failed ({res.returncode}): {res.stderr.strip() or res.stdout.strip()}"
        )
    return res.stdout


def _http_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer (403 for anonymous …) means the gateway is serving
    except OSError:
        return False


def start_ceph(*, timeout: float = 60.0) -> CephS3:
    """Start mon + OSD + radosgw and create the S3 user ``testkey``/``testsecret``."""
    missing = missing_binaries()
    if missing:
        raise ServerStartError(
            f"ceph: missing binaries {missing}; run scripts/install-test-services.sh"
        )
    t0 = time.monotonic()
    d = short_tempdir("lampyris-ceph-")
    for sub in ("run", "log", "crash", "rgw", "mon.a", "osd.0"):
        (d / sub).mkdir()
    mon_v2, mon_v1, rgw_port = free_ports(3)
    mon_addrs = f"[v2:127.0.0.1:{mon_v2},v1:127.0.0.1:{mon_v1}]"
    fsid = str(uuid.uuid4())
    conf = d / "ceph.conf"
    conf.write_text(_conf(d, fsid, mon_addrs, rgw_port))
    c = ["-c", str(conf)]
    cluster = CephS3(
        endpoint_url=f"http://127.0.0.1:{rgw_port}",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        port=rgw_port,
        data_dir=d,
    )
    register_cleanup(id(cluster), cluster.stop)
    try:
        _run(
            ["ceph-authtool", "--create-keyring", "keyring", "--gen-key", "-n", "mon.",
             "--cap", "mon", "allow *"],
            cwd=d, timeout=20, what="ceph-authtool",
        )  # fmt: skip
        _run(
            ["monmaptool", "--create", "--fsid", fsid, "--addv", "a", mon_addrs, "monmap"],
            cwd=d, timeout=20, what="monmaptool",
        )  # fmt: skip
        _run(
            ["ceph-mon", *c, "--mkfs", "-i", "a", "--monmap", "monmap", "--keyring", "keyring"],
            cwd=d, timeout=30, what="ceph-mon --mkfs",
        )  # fmt: skip
        cluster._procs.append(
            spawn(["ceph-mon", *c, "-i", "a", "-f"], log=d / "log/mon.out", cwd=d)
        )

        osd_uuid = str(uuid.uuid4())
        osd_id = _run(
            ["ceph", *c, "--connect-timeout", "20", "osd", "new", osd_uuid],
            cwd=d, timeout=30, what="ceph osd new",
        ).strip()  # fmt: skip
        _run(
            ["ceph-osd", *c, "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid],
            cwd=d, timeout=30, what="ceph-osd --mkfs",
        )  # fmt: skip
        cluster._procs.append(
            spawn(["ceph-osd", *c, "-i", osd_id, "-f"], log=d / "log/osd.out", cwd=d)
        )

        # One `ceph` process for all pool commands (each CLI start costs ~0.3 s).
        script = "".join(
            f"osd pool create {p} 8\nosd pool application enable {p} rgw\n" for p in RGW_POOLS
        )
        _run(["ceph", *c, "--connect-timeout", "20"], cwd=d, timeout=60, what="pool setup",
             stdin=script)  # fmt: skip

        rgw = spawn(["radosgw", *c, "-n", "client.rgw.a", "-f"], log=d / "log/rgw.out", cwd=d)
        cluster._procs.append(rgw)
        wait_until(
            lambda: _http_up(rgw_port),
            timeout=max(5.0, timeout - (time.monotonic() - t0)),
            what="radosgw",
            alive=cluster._procs,
            log=d / "log/client.rgw.a.log",
        )
        _run(
            ["radosgw-admin", *c, "user", "create", "--uid=test", "--display-name=test",
             f"--access-key={ACCESS_KEY}", f"--secret-key={SECRET_KEY}"],
            cwd=d, timeout=30, what="radosgw-admin user create",
        )  # fmt: skip
    except BaseException as exc:
        logs = "\n".join(
            f"--- {p.name}\n{tail(p, 15)}" for p in sorted((d / "log").glob("*")) if p.is_file()
        )
        cluster.stop()
        if isinstance(exc, ServerStartError):
            raise ServerStartError(f"{exc}\n{logs}") from exc
        raise
    cluster.start_seconds = time.monotonic() - t0
    return cluster


if __name__ == "__main__":  # manual check: cd tests && python -m support.ceph
    s3 = start_ceph()
    print(f"ceph up in {s3.start_seconds:.1f} s: {s3.endpoint_url} pids={s3.pids}")
    s3.stop()
