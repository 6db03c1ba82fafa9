"""Real servers for the integration tests, started once per test session on 127.0.0.1.

- ``ceph_s3``: Ceph mon + memstore OSD + radosgw (S3), user testkey/testsecret → ``CephS3``
- ``azurite``: Azurite blob service, well-known dev account → ``Azurite``
- ``postgres_server`` / ``postgres_url``: PostgreSQL 15 → ``Postgres`` / SQLAlchemy URL string
- ``node_modules``: tests/node/node_modules (Adobe SDKs, azurite) for ``support.node.run_node``
- ``s3_bucket`` / ``blob_container``: a fresh, uniquely named bucket / container per test
- ``ray_cluster``: a two-node Ray cluster on 127.0.0.1 (head: 1 CPU; node 1: 1 CPU and the
  resource ``worker``), per test → ``RayCluster``; other nodes by indirect parametrization
  with a list of ``NodeSpec``

Tests marked ``ray`` (Ray, or anything a Ray cluster talks to) run only inside a loopback-only
network namespace: Ray listens on every interface. ``make test`` runs them in one
(``unshare -n``), after the rest; elsewhere they skip, saying how to run them, and under
``LAMPYRIS_TEST_NETNS=1`` (set by make) they fail instead.

``make test`` installs everything first (scripts/install-test-services.sh). A fixture skips only
when its program is truly absent; a server that is installed but fails to start is an error.
Every server is stopped (its whole process group) and its temp directory removed at the end of
the session, also when tests fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import azure_blob, ceph, node, postgres, s3
from support import azurite as azurite_support
from support import ray_cluster as ray_support
from support.azurite import Azurite
from support.ceph import CephS3
from support.postgres import Postgres
from support.ray_cluster import NodeSpec, RayCluster

INSTALL_HINT = "run `bash scripts/install-test-services.sh` (make test does)"


@pytest.fixture(scope="session")
def ceph_s3() -> Iterator[CephS3]:
    missing = ceph.missing_binaries()
    if missing:
        pytest.skip(f"Ceph is not installed (missing {', '.join(missing)}); {INSTALL_HINT}")
    server = ceph.start_ceph()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    if node.node_binary() is None:
        pytest.skip("node is not on PATH: Azurite cannot run")
    if not azurite_support.available():
        pytest.skip(f"Azurite is not installed ({azurite_support.AZURITE_BLOB}); {INSTALL_HINT}")
    server = azurite_support.start_azurite()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    if not postgres.available():
        pytest.skip(f"PostgreSQL 15 is not installed (no initdb/pg_ctl under {postgres.PG_BIN})")
    server = postgres.start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: Postgres) -> str:
    """``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres`` (trust auth)."""
    return postgres_server.url


@pytest.fixture(scope="session")
def node_modules() -> Path:
    if node.node_binary() is None:
        pytest.skip("node is not on PATH")
    if not node.NODE_MODULES.is_dir():
        pytest.skip(f"{node.NODE_MODULES} is missing; {INSTALL_HINT}")
    return node.NODE_MODULES


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3_bucket(ceph_s3: CephS3) -> str:
    """A new empty bucket on ``ceph_s3`` (valid DNS-style name; buckets need ≥ 3 chars)."""
    name = _unique("test")
    s3.create_bucket(s3.client_for(ceph_s3), name)
    return name


@pytest.fixture
def blob_container(azurite: Azurite) -> str:
    """A new empty container on ``azurite``."""
    name = _unique("test")
    azure_blob.create_container(azurite, name)
    return name


def require_ray_namespace() -> None:
    """Skip (fail under ``LAMPYRIS_TEST_NETNS=1``) outside a loopback-only network namespace."""
    if ray_support.in_loopback_namespace():
        return
    reason = (f"needs a loopback-only network namespace, Ray listens on every interface "
              f"(here: {', '.join(ray_support.interfaces())}); {ray_support.RUN_HINT}")
    if os.environ.get("LAMPYRIS_TEST_NETNS") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A ``ray`` test outside the namespace skips before its fixtures start any server."""
    if item.get_closest_marker("ray") is not None:
        require_ray_namespace()


DEFAULT_RAY_NODES = (NodeSpec(cpus=1), NodeSpec(cpus=1, resources={"worker": 1}))


@pytest.fixture
def ray_cluster(request: pytest.FixtureRequest) -> Iterator[RayCluster]:
    """A fresh Ray cluster (``DEFAULT_RAY_NODES``, or the ``NodeSpec`` list given with
    ``@pytest.mark.parametrize("ray_cluster", [[...]], indirect=True)``), stopped after the
    test with every process it started."""
    require_ray_namespace()
    if not ray_support.RAY.exists():
        pytest.skip(f"Ray is not installed ({ray_support.RAY}); pip install -e '.[ray]'")
    cluster = ray_support.start_cluster(getattr(request, "param", DEFAULT_RAY_NODES))
    try:
        yield cluster
    finally:
        cluster.stop()
