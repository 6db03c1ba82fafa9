"""Worker actors on a Ray cluster: ``WorkerPool``'s interface, with the cluster's nodes as workers.

``RayPool`` is the one way ops reach a cluster, for the batch runner's ``ray`` backend and the
server's ``ray`` executor alike: each actor runs ``WorkerStart`` once (setup, thread caps, the
model loaded) and then any module-level function it is handed (``item.process``, the server's
``_run``), so what runs on a node is exactly what runs in a local worker process. Calls wait in
the pool until an actor has said it is ready, at most ``PER_ACTOR`` on each (one running, one
queued behind it, so an actor never idles between calls); a call whose actor dies (its node
lost, killed for memory) fails with ``WorkerDied`` and the actor is replaced, on whichever node
has room. A replacement the cluster cannot place now (its node is gone) waits for room without
holding calls, so the batch goes on at the smaller size. Only the driver talks to the cluster;
inputs and outputs never pass through it. Ray's callbacks only record what happened: a thread
of the pool's own starts actors and hands out calls (Ray deadlocks when called from them).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from lampyris.errors import InvalidParameterError, JobError
from lampyris.models.settings import ModelSettings
from lampyris.ops.pool import RestartPolicy, WorkerDied, WorkerStart, available_cores, settle

log = logging.getLogger(__name__)

T = TypeVar("T")

PER_ACTOR = 2
"""Calls on one actor at once: one running and the next already there when it ends."""

FORWARDED_ENV = ("LAMPYRIS_", "AWS_", "AZURE_", "GOOGLE_APPLICATION_CREDENTIALS")
"""Environment variables a driver passes on to its actors: storage credentials and lampyris's
own settings, so a node reads and writes with the driver's rights and limits."""

READY_TIMEOUT = 300.0


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InvalidParameterError(
            "the ray backend needs Ray on this machine and every node: "
            "pip install 'lampyris[ray]'") from None
    return ray


_OWN_TEMP: str | None = None  # the socket folder of a Ray this process started, if private


def connect(address: str | None) -> bool:
    """Join the cluster at ``address`` (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``), or start
    a Ray of this machine's cores when None. True when this call connected (its caller then
    calls ``disconnect`` at the end); False when the process was connected already."""
    global _OWN_TEMP
    ray = _ray()
    if ray.is_initialized():
        return False
    # Ray reports usage to its makers unless told not to; nothing here talks to the internet.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")  # its C++ core's chatter
    # Ray's core would print a stack trace on SIGTERM, and ray.init makes SIGTERM exit at
    # once: a server's own handler (uvicorn's graceful shutdown, which gives running jobs
    # back) must stay the one that runs.
    os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
    main = threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if main else None
    env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV)}
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR,
                               "runtime_env": {"env_vars": env} if env else None}
    try:
        if address is None:
            _OWN_TEMP = _private_temp_dir()
            ray.init(num_cpus=available_cores(), include_dashboard=False,
                     _node_ip_address="127.0.0.1", _temp_dir=_OWN_TEMP, **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        disconnect()
        where = address or "a local Ray"
        raise JobError(
            f"cannot reach the Ray cluster at {where}: {_first_line(exc)}; check "
            "--ray-address, that `ray status` works on this machine, and, on a cluster with "
            "token authentication, RAY_AUTH_MODE=token with its RAY_AUTH_TOKEN_PATH") from None
    finally:
        if main and sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)
    return True


def disconnect() -> None:
    """Leave the cluster (a Ray this process started stops), and remove its private folder."""
    global _OWN_TEMP
    with contextlib.suppress(Exception):
        _ray().shutdown()
    if _OWN_TEMP is not None:
        shutil.rmtree(_OWN_TEMP, ignore_errors=True)
        _OWN_TEMP = None


def _private_temp_dir() -> str | None:
    """Where a Ray started here keeps its sockets: Ray's default (``$TMPDIR/ray``), or, where
    that path is too long for them (Linux caps a socket's path at 107 bytes; Ray's go ~64
    bytes below its folder), a new private folder under /tmp, removed by ``disconnect``."""
    default = os.path.join(os.environ.get("RAY_TMPDIR") or os.environ.get("TMPDIR") or "/tmp",
                           "ray")
    if len(os.fsencode(default)) + 64 <= 107:
        return None
    return tempfile.mkdtemp(prefix="lampyris-ray-", dir="/tmp")


class _Actor:
    """What runs on a node: the start-up once, then any function it is given."""

    def __init__(self, start: WorkerStart) -> None:
        start()

    def ready(self) -> str:
        """The node this actor landed on, once its start-up (model included) is done."""
        return str(_ray().get_runtime_context().get_node_id())

    def call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        return fn(*args)


@dataclass(eq=False)
class _Slot:
    """One actor as the pool sees it."""

    handle: Any
    number: int
    ready: bool = False
    node: str = ""
    calls: set[Future[Any]] = field(default_factory=set)


@dataclass(eq=False)
class _Call:
    outer: Future[Any]
    fn: Callable[..., Any]
    args: tuple[Any, ...]


class RayPool:
    """``workers`` actors (0: one per CPU slot of the cluster, or per GPU when it has GPUs
    and ``gpus_per_worker`` is left None) running module-level functions.

    Usage:
        pool = RayPool(0, address="auto", start=WorkerStart(model="u2netp"),
                       restarts=RestartPolicy("file", None))
        try:
            pool.submit(process, item).result()  # or WorkerDied
        finally:
            pool.shutdown()
    """

    def __init__(
        self,
        workers: int = 0,
        *,
        address: str | None = None,
        start: WorkerStart = WorkerStart(),
        restarts: RestartPolicy = RestartPolicy(),
        cpus_per_worker: float = 1.0,
        gpus_per_worker: float | None = None,
    ) -> None:
        ray = _ray()
        self._connected = connect(address)
        resources = ray.cluster_resources()
        gpus = float(resources.get("GPU", 0))
        self.gpus_per_worker = (1.0 if gpus else 0.0) if gpus_per_worker is None \
            else gpus_per_worker
        if self.gpus_per_worker:
            slots = int(gpus // self.gpus_per_worker)
        else:
            slots = int(float(resources.get("CPU", 1)) // cpus_per_worker)
        self.workers = workers or max(1, slots)
        if start.threads is None:  # a CPU slot per actor: its share, never more
            start = replace(start, threads=max(1, int(cpus_per_worker)))
        if self.gpus_per_worker and start.settings is None \
                and "LAMPYRIS_MODELS_PROVIDERS" not in os.environ:
            # an actor holding a GPU runs its model there (CUDA where this ONNX Runtime build
            # has it), unless the providers were chosen explicitly
            start = replace(start, settings=ModelSettings(providers=["auto"]))
        self.threads = start.threads
        self.noun = restarts.noun
        self.died = f"a Ray worker died while this {restarts.noun} was in progress " \
                    "(its node lost, or out of memory?)"
        self.restarts = 0
        self._start = start
        self._policy = restarts
        self._actor_class = ray.remote(
            num_cpus=cpus_per_worker, num_gpus=self.gpus_per_worker, max_restarts=0,
            max_task_retries=0)(_Actor)
        self._lock = threading.RLock()
        self._slots: list[_Slot] = []
        self._queue: deque[_Call] = deque()
        self._numbers = itertools.count(1)
        self._barren = 0  # actor deaths since a call last finished
        self._replace = 0  # actors lost, to be started again by the manager thread
        self._gave_up: str | None = None
        self._closed = False
        self._wake = threading.Event()
        for _ in range(self.workers):
            self._spawn()
        # Ray runs its futures' callbacks on its own threads, where calling Ray again can
        # deadlock it (an actor started from there waits for the very thread it runs on): the
        # callbacks only record what happened, and this thread starts actors and hands calls.
        self._manager = threading.Thread(target=self._manage, name="lampyris-ray-pool",
                                         daemon=True)
        self._manager.start()

    # -- the Pool interface ----------------------------------------------------------------
    @property
    def ready(self) -> int:
        """Actors placed and warm, taking calls now (fewer than ``workers`` while a lost
        node's replacements wait for room)."""
        with self._lock:
            return sum(1 for slot in self._slots if slot.ready)

    @property
    def gave_up(self) -> bool:
        return self._gave_up is not None

    def check(self) -> None:
        if self._gave_up is not None:
            raise JobError(self._gave_up)

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Run ``fn(*args)`` on an actor. The future holds its result or exception, or
        ``WorkerDied``; ``fn`` travels by reference (it must be importable on the nodes)."""
        outer: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool was shut down")
            self.check()
            self._queue.append(_Call(outer, fn, args))
        self._dispatch()
        return outer

    def start_all(self) -> None:
        """Wait until an actor is ready (its model loaded), so the first call is not slow and
        a cluster with no room says so now: ``JobError`` after ``READY_TIMEOUT`` seconds."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            self.check()
            if self.ready:
                return
            time.sleep(0.1)
        raise JobError(f"no Ray worker was ready after {READY_TIMEOUT:.0f} s: does the "
                       "cluster have a free CPU (`ray status`)?")

    def shutdown(self, *, wait: bool = True, cancel: bool = False,
                 terminate: bool = False) -> None:
        """Stop: ``wait`` for the calls running (and queued, unless ``cancel``), or with
        ``terminate`` end the actors now (their calls fail with ``WorkerDied``); then
        disconnect from a cluster this pool connected to."""
        with self._lock:
            if cancel or terminate:
                queued, self._queue = list(self._queue), deque()
            else:
                queued = []
        for call in queued:
            call.outer.cancel()
        if wait and not terminate:
            while True:
                with self._lock:
                    pending = [f for s in self._slots for f in s.calls] + [
                        c.outer for c in self._queue]
                if not pending:
                    break
                for future in pending:
                    with contextlib.suppress(Exception):
                        future.exception()
        with self._lock:
            self._closed = True
            slots, self._slots = self._slots, []
        self._wake.set()
        self._manager.join(timeout=10)
        ray = _ray()
        for slot in slots:
            with contextlib.suppress(Exception):
                ray.kill(slot.handle)
            for future in list(slot.calls):
                settle(future, error=WorkerDied(self.died))
        if self._connected:
            self._connected = False
            disconnect()

    # -- the manager thread: every Ray call after start-up ---------------------------------
    def _manage(self) -> None:
        while True:
            self._wake.wait(0.5)
            self._wake.clear()
            with self._lock:
                if self._closed:
                    return
                replace, self._replace = self._replace, 0
            for _ in range(replace):
                with self._lock:
                    if self._closed:
                        return
                self.restarts += 1
                self._spawn()
            self._dispatch()

    def _spawn(self) -> None:
        """A new actor; calls go to it once it says it is ready (placed, model loaded)."""
        slot = _Slot(self._actor_class.remote(self._start), next(self._numbers))
        with self._lock:
            self._slots.append(slot)
        ready: Future[str] = slot.handle.ready.remote().future()
        ready.add_done_callback(functools.partial(self._ready, slot))

    def _dispatch(self) -> None:
        """Hand queued calls to the least busy ready actors (never from Ray's threads)."""
        while True:
            with self._lock:
                ready = [s for s in self._slots if s.ready and len(s.calls) < PER_ACTOR]
                if not self._queue or not ready or self._closed:
                    return
                slot = min(ready, key=lambda s: len(s.calls))
                call = self._queue.popleft()
                if not call.outer.set_running_or_notify_cancel():
                    continue  # cancelled while it waited
                slot.calls.add(call.outer)
            try:
                inner: Future[Any] = slot.handle.call.remote(call.fn, call.args).future()
            except Exception as exc:  # the call cannot be sent (not picklable): its own fault
                with self._lock:
                    slot.calls.discard(call.outer)
                settle(call.outer, error=exc)
                continue
            inner.add_done_callback(functools.partial(self._relay, slot, call))

    # -- callbacks, on Ray's threads: bookkeeping only -------------------------------------
    def _ready(self, slot: _Slot, done: Future[str]) -> None:
        error = done.exception()
        if error is not None:
            self._lost(slot, error)
        else:
            with self._lock:
                slot.ready, slot.node = True, done.result()
            log.debug("Ray worker %d ready on node %s", slot.number, slot.node[:12])
        self._wake.set()

    def _relay(self, slot: _Slot, call: _Call, done: Future[Any]) -> None:
        ray = _ray()
        error = done.exception()
        with self._lock:
            slot.calls.discard(call.outer)
        if isinstance(error, ray.exceptions.RayActorError | ray.exceptions.NodeDiedError
                      | ray.exceptions.WorkerCrashedError | ray.exceptions.ObjectLostError):
            self._lost(slot, error)
            settle(call.outer, error=WorkerDied(self.died))
        else:
            with self._lock:  # a result or fn's own exception: either way the actor lived
                self._barren = 0
            if isinstance(error, ray.exceptions.RayTaskError):
                error = error.cause if isinstance(error.cause, BaseException) else error
            settle(call.outer, None if error is not None else done.result(), error)
        self._wake.set()

    def _lost(self, slot: _Slot, error: BaseException) -> None:
        """``slot``'s actor is dead: fail its calls, and have it replaced unless giving up."""
        with self._lock:
            if slot not in self._slots:
                return
            self._slots.remove(slot)
            victims, slot.calls = list(slot.calls), set()
            dropped: list[_Call] = []
            if not self._closed:
                self._barren += 1
                limit = self._policy.limit
                if limit is not None and self._barren >= limit * self.workers:
                    self._gave_up = (f"Ray workers keep dying before finishing any "
                                     f"{self.noun}: {_first_line(error)}")
                    dropped, self._queue = list(self._queue), deque()
                else:
                    self._replace += 1
        for future in victims:
            settle(future, error=WorkerDied(self.died))
        if self._gave_up is not None:
            log.log(self._policy.log_level, "%s; not starting more", self._gave_up)
            for call in dropped:
                settle(call.outer, error=JobError(self._gave_up))
        elif not self._closed:
            log.log(self._policy.log_level, "Ray worker %d died (%s); starting another",
                    slot.number, _first_line(error))


def _first_line(error: BaseException) -> str:
    """What an actor's death says in one line: for an actor whose start-up raised, the
    exception it raised (the last line of the traceback Ray wraps it in)."""
    text = [line for line in str(error).strip().splitlines() if line.strip()]
    if not text:
        return type(error).__name__
    return text[-1].strip() if getattr(error, "_actor_init_failed", False) else text[0]
