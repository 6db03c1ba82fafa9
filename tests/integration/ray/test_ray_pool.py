"""``RayPool`` on a real (local, single-node) Ray: what a caller of a pool sees — results, a
function's own exceptions, an actor's death as ``WorkerDied`` and its replacement, giving up
when actors cannot start, queued calls cancelled — and one actor per GPU where the cluster has
GPUs. The GPU is declared to Ray (``num_gpus=1``) on a machine without one: the test checks
the scheduling (one actor, holding the GPU slot), not CUDA, which cannot run here."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from lampyris.errors import JobError
from lampyris.models.session import default_options
from lampyris.ops.pool import RestartPolicy, WorkerDied, WorkerStart
from lampyris.ops.ray_pool import RayPool
from support.procs import remove_tree, short_tempdir
from support.ray_cluster import RAY_ENV, require_loopback_namespace

pytestmark = pytest.mark.ray

_SETUP: dict[str, str] = {}


def remember(value: str) -> None:
    """A setup function: runs once in each actor before its first call."""
    _SETUP["value"] = value


def recalled() -> str:
    return _SETUP.get("value", "unset")


def square(x: int) -> int:
    return x * x


def refuse(x: int) -> int:
    raise ValueError(f"no {x}")


def snooze(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def die() -> None:
    os._exit(3)  # as a worker killed for memory: no exception, no goodbye


def cannot_start() -> None:
    raise RuntimeError("the model file is missing")


def gpus() -> tuple[str, tuple[str, ...]]:
    """The GPUs Ray gave this actor, and the providers its models would ask for."""
    return os.environ.get("CUDA_VISIBLE_DEVICES", ""), default_options().providers


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    require_loopback_namespace()
    ray = pytest.importorskip("ray")
    temp = short_tempdir("rpool")  # Ray's socket paths must stay short; CI's TMPDIR is not
    token = temp / "auth_token"  # a new local Ray writes none to ~/.ray
    token.write_text(secrets.token_hex(32))
    saved = dict(os.environ)
    os.environ.update({**RAY_ENV, "RAY_AUTH_TOKEN_PATH": str(token)})
    # the actors import this module (its functions travel by reference)
    here = Path(__file__).parent
    path = os.pathsep.join([str(here), str(here.parent.parent)])
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False, _temp_dir=str(temp),
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    try:
        yield
    finally:
        ray.shutdown()
        os.environ.clear()
        os.environ.update(saved)
        remove_tree(temp)


def cpu_pool(workers: int = 2, **start: object) -> RayPool:
    return RayPool(workers, start=WorkerStart(**start),  # type: ignore[arg-type]
                   restarts=RestartPolicy("call"), gpus_per_worker=0)


def test_calls_run_after_the_start_up_and_exceptions_come_back_as_themselves(local_ray: None):
    pool = cpu_pool(setup=remember, setup_args=("warm",))
    try:
        pool.start_all()
        assert [pool.submit(square, n).result(60) for n in range(6)] == [0, 1, 4, 9, 16, 25]
        assert pool.submit(recalled).result(60) == "warm"
        error = pool.submit(refuse, 7).exception(60)
        assert type(error) is ValueError and str(error) == "no 7"
    finally:
        pool.shutdown()


def test_a_dead_actor_fails_its_call_with_worker_died_and_is_replaced(local_ray: None):
    pool = cpu_pool()
    try:
        pool.start_all()
        doomed = pool.submit(die)
        assert isinstance(doomed.exception(60), WorkerDied)
        assert "Ray worker died" in str(doomed.exception())
        # the pool goes on at full size: both actors answer again
        deadline = time.monotonic() + 120
        while pool.ready < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        calls = [pool.submit(snooze, 0.3) for _ in range(8)]
        pids = {call.result(120) for call in calls}
        assert len(pids) == 2
        assert pool.restarts == 1
    finally:
        pool.shutdown()


def test_actors_that_cannot_start_make_the_pool_give_up(local_ray: None):
    pool = cpu_pool(1, setup=cannot_start)
    try:
        with pytest.raises(JobError, match=r"keep dying.*: RuntimeError: "
                                                 r"the model file is missing$"):
            pool.start_all()
        with pytest.raises(JobError, match="keep dying"):
            pool.submit(square, 2)
    finally:
        pool.shutdown()


def test_shutdown_with_cancel_drops_the_queued_calls(local_ray: None):
    pool = cpu_pool(1)
    pool.start_all()
    futures: list[Future[int]] = [pool.submit(snooze, 1.0) for _ in range(5)]
    time.sleep(0.3)
    pool.shutdown(cancel=True)
    ran = [f for f in futures if not f.cancelled()]
    assert 1 <= len(ran) <= 2  # the running call and the one queued on the actor
    assert all(f.cancelled() for f in futures[2:])


def test_one_actor_per_gpu_when_the_cluster_has_gpus(local_ray: None):
    pool = RayPool(0, start=WorkerStart(), restarts=RestartPolicy("call"))
    try:
        assert (pool.workers, pool.gpus_per_worker) == (1, 1.0)
        # Ray gave the actor the GPU slot, and its model would ask for the GPU's provider
        # (ONNX Runtime falls back to the CPU here: this build has no CUDA)
        assert pool.submit(gpus).result(120) == ("0", ("auto",))
    finally:
        pool.shutdown()
    pool = cpu_pool(0)
    try:
        assert pool.workers == 2  # CPU slots when told to keep off GPUs
    finally:
        pool.shutdown()
