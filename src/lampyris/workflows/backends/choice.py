"""Which backend a run names: ``local`` worker processes, a ``ray`` cluster or a ``remote``
service."""

from __future__ import annotations

from collections.abc import Sequence

from lampyris.errors import InvalidParameterError
from lampyris.workflows.backends.base import Backend
from lampyris.workflows.backends.local import LocalBackend
from lampyris.workflows.backends.remote import RemoteBackend, RemoteSettings
from lampyris.workflows.steps import Step
from lampyris.workflows.workflow import RayConfig, RemoteConfig


def chain_model(steps: Sequence[Step]) -> str | None:
    """The matting model a chain's workers load before their first image (its cutout's)."""
    cutout = next((s for s in steps if s.name == "cutout"), None)
    return str(cutout.params.get("model", "u2netp")) if cutout else None


def open_backend(name: str, jobs: int, steps: Sequence[Step], remote: RemoteConfig | None,
                 ray: RayConfig | None = None) -> Backend:
    """The backend ``name`` with ``jobs`` workers (0: one per core, one per CPU slot or GPU
    of a Ray cluster; remote: 4 requests)."""
    if name == "local":
        return LocalBackend(jobs, model=chain_model(steps))
    if name == "ray":
        from lampyris.workflows.backends.cluster import RayBackend  # Ray is an extra

        ray = ray or RayConfig()
        return RayBackend(jobs, address=ray.address, model=chain_model(steps),
                          gpus_per_worker=ray.gpus_per_worker)
    if name == "remote":
        if remote is None:
            raise InvalidParameterError(
                "the remote backend needs --server (or none for Adobe), --client-id and "
                "--client-secret (or LAMPYRIS_CLIENT_ID / LAMPYRIS_CLIENT_SECRET)")
        return RemoteBackend(RemoteSettings(remote.client_id, remote.client_secret, remote.url,
                                            remote.timeout), concurrency=jobs or 4)
    raise InvalidParameterError(f"unknown backend {name!r}: use local, ray or remote")
