"""The ray backend: steps run on the actors of a Ray cluster (``ops.ray_pool.RayPool``).

Each actor holds a warm model and runs the same ``item.process`` as a local worker, reading
its input from and writing its output to the storage location itself: the driver sends
only the ``WorkItem`` (paths and settings) and gets the outcome back, and keeps the ledger as
for the local backend. An actor or node lost mid-item makes that item retryable; the runner
retries it on the actors left. Actors that keep dying before finishing anything (a model
that cannot load on the nodes) stop the run instead of being started forever.
"""

from __future__ import annotations

from lampyris.ops.pool import RestartPolicy, WorkerStart
from lampyris.ops.ray_pool import RayPool
from lampyris.workflows.backends.local import PoolBackend


class RayBackend(PoolBackend):
    name = "ray"

    def __init__(self, workers: int = 0, *, address: str | None = None,
                 model: str | None = "u2netp", gpus_per_worker: float | None = None) -> None:
        pool = RayPool(workers, address=address, start=WorkerStart(model=model),
                       restarts=RestartPolicy("file"), gpus_per_worker=gpus_per_worker)
        super().__init__(pool, pool.died)
        pool.start_all()
