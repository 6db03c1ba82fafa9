"""Worker processes that run ops: one pool for the server's jobs and the batch runner.

``WorkerPool`` owns everything about its workers: how they start (forked from a clean process,
each capped to its share of the cores, model loaded before the first image), what a caller
sees when one dies (that call's future fails with ``WorkerDied``; the pool restarts itself),
and when to stop restarting (``JobError`` after a few deaths in a row with nothing finished).
``InlinePool`` is its in-process twin with the same interface: one worker and tests.
``Lifeline`` makes workers die with the process that started them (even by ``kill -9``), and
``release_worker_context`` removes what multiprocessing leaves behind when that process is
ended by a signal (its forkserver, the ``pymp-*`` folder).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from multiprocessing import forkserver, util
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any, Protocol, TypeVar

import cv2

from lampyris.errors import JobError
from lampyris.models import get_session, resolve_spec
from lampyris.models.session import SessionOptions, set_default_options
from lampyris.models.settings import ModelSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_BARREN_RESTARTS = 3
"""Deaths in a row, with no call finished in between, after which a pool stops restarting:
workers that cannot finish anything (a model that crashes on load) would otherwise loop."""


def available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def warm(model: str | None, threads: int = 0, settings: ModelSettings | None = None) -> None:
    """Runs first in each worker: cap ONNX Runtime and OpenCV at ``threads`` (0: leave them
    be) and load the model before the first image.

    The cap reaches the model as settings (this process's default ``SessionOptions``, which
    the ops' ``get_session`` calls then share), never through ``os.environ``: that would leak
    into every process the worker starts and into anything else reading the environment.
    """
    if threads:
        options = replace(SessionOptions.from_settings(settings), intra_op_threads=threads)
        set_default_options(options)
        cv2.setNumThreads(threads)  # workers already fill the cores: no nested thread pools
    if model is not None:
        get_session(resolve_spec(model))


class WorkerDied(JobError):
    """A worker process died (killed for memory, a crash in native code) while this call was
    in flight; the pool has restarted, and the call may well succeed if run again."""

    status, code = 500, "worker_died"


def died_message(noun: str) -> str:
    """What a caller sees for a call its worker died running: one line, the likely cause."""
    return f"a worker process died while this {noun} was in progress (out of memory?)"


class Pool(Protocol):
    """What ``WorkerPool`` and ``InlinePool`` share, so callers (and tests) take either."""

    workers: int

    @property
    def ready(self) -> int:
        """Workers able to take a call now: all of them for local processes (they start with
        the calls that need them); a Ray pool's actors once placed and warm."""
        ...

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]: ...

    def start_all(self) -> None: ...

    def check(self) -> None: ...

    def shutdown(self, *, wait: bool = True, cancel: bool = False,
                 terminate: bool = False) -> None: ...


# The forkserver listens on a Unix socket in a fresh folder below the temp dir
# (``<tmp>/pymp-XXXXXXXX/listener-XXXXXXXX``); Linux caps such a path at 107 bytes.
_SOCKET_PATH_MAX = 107
_SOCKET_SUFFIX = len("/pymp-xxxxxxxx/listener-xxxxxxxx")


FORKSERVER_PRELOAD = ("onnxruntime",)
"""Imported once in the forkserver, for every worker. Never a module whose import starts a
thread (openvino does): a fork taken while that thread holds an import lock leaves the worker
deadlocked on its first import (tests/unit/ops/test_pool.py checks)."""


def worker_context(*preload: str) -> BaseContext:
    """A forkserver where there is one: workers fork from a clean process that has already
    imported ``preload``, so they start in milliseconds without inheriting the parent's
    threads (a progress bar's, a web server's). Spawn elsewhere, and where the temp dir's path
    is too long for the forkserver's socket (a deep ``TMPDIR``): slower starts, same results."""
    socket_fits = len(os.fsencode(tempfile.gettempdir())) + _SOCKET_SUFFIX <= _SOCKET_PATH_MAX
    if socket_fits and "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([*preload, *FORKSERVER_PRELOAD])
        return context
    return multiprocessing.get_context("spawn")


class Lifeline:
    """A pipe from a parent to its workers that nobody ever writes to.

    The parent keeps the write end; each worker gets the read end (``reader``, passed in its
    initializer's arguments) and calls ``watch_lifeline`` on it. When the parent dies, however
    it dies, the kernel closes the write end and every worker reads EOF at once and exits.
    Measured on Linux (2 workers, forkserver and spawn): after ``kill -9`` of a server, its
    workers are gone within ~0.1 s, the forkserver and the resource tracker follow as soon as
    the last worker has closed their pipes; before, all four stayed, re-parented to init.

    Why not ``prctl(PR_SET_PDEATHSIG)`` or a watchdog on ``os.getppid()``: a forkserver
    worker's parent is the forkserver, which itself only exits once every worker has (each
    holds its "alive" pipe), so neither ever fires; and with spawn, the death signal follows
    the parent *thread*, so a worker started by the dispatcher thread after a pool restart
    would be killed when that thread ends at shutdown, in the middle of the grace period. The
    write end is made with ``O_CLOEXEC`` and never passed on, so no worker or forkserver holds
    it (with the ``fork`` start method a worker would inherit it: ``worker_context`` never
    uses fork).
    """

    def __init__(self) -> None:
        self.reader, self._writer = multiprocessing.Pipe(duplex=False)

    def close(self) -> None:
        """Cut the line: every worker still watching it exits."""
        self._writer.close()
        self.reader.close()


def watch_lifeline(reader: Connection) -> None:
    """In a worker: exit at once (``os._exit``, mid-job if need be) when the parent is gone."""

    def watch() -> None:
        try:
            while True:
                reader.recv_bytes()  # nothing is ever sent: this returns only at EOF
        except (EOFError, OSError):
            pass
        os._exit(70)  # EX_SOFTWARE: the job, if any, is re-run by the next server

    threading.Thread(target=watch, name="lampyris-lifeline", daemon=True).start()


# -- the pools ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkerStart:
    """What a worker does before its first call, in either pool: ``setup(*setup_args)``, then
    ONNX Runtime and OpenCV capped at ``threads`` (0: uncapped; ``WorkerPool`` defaults it to
    its share of the cores) with ``settings``, then ``model`` loaded."""

    setup: Callable[..., None] | None = None
    setup_args: tuple[Any, ...] = ()
    model: str | None = None
    threads: int | None = None
    settings: ModelSettings | None = None

    def __call__(self, lifeline: Connection | None = None) -> None:
        """In the worker: watch the lifeline first (a worker that hangs while loading still
        dies with its parent), then the caller's own setup, then the model."""
        if lifeline is not None:
            watch_lifeline(lifeline)
        if self.setup is not None:
            self.setup(*self.setup_args)
        warm(self.model, self.threads or 0, self.settings)


def _noop() -> None:
    """Sent once per worker by ``start_all``: the pool starts a process for each call."""


def settle(outer: Future[T], result: Any = None, error: BaseException | None = None) -> None:
    """Resolve ``outer`` unless a cancel or a death got there first."""
    if outer.done():
        return
    with contextlib.suppress(InvalidStateError):  # a race with cancel() or die(): theirs wins
        if error is not None:
            outer.set_exception(error)
        else:
            outer.set_result(result)


def _watch_new_workers(pool: ProcessPoolExecutor) -> None:
    """Wake the pool's manager thread once more after a submit. CPython (3.11, 3.12) wakes it
    *before* starting the process the submit needs, so it may go back to waiting without
    watching that process: a worker that then dies goes unnoticed (its calls hang) until
    some other call ends. Best effort: private state, skipped where it has changed."""
    wakeup = getattr(pool, "_executor_manager_thread_wakeup", None)
    lock = getattr(pool, "_shutdown_lock", None)
    if wakeup is None or lock is None or not hasattr(wakeup, "wakeup"):
        return
    with lock:
        if not getattr(pool, "_broken", True) and not getattr(pool, "_shutdown_thread", True):
            wakeup.wakeup()


@dataclass(frozen=True)
class RestartPolicy:
    """How a pool takes its workers' deaths: ``noun`` names a call in the messages (``file``,
    ``job``); after ``limit`` deaths in a row with no call finished in between it gives up
    (None: never, for a server that must keep serving); deaths are logged at ``log_level``."""

    noun: str = "call"
    limit: int | None = MAX_BARREN_RESTARTS
    log_level: int = logging.INFO


class _Restarts:
    """The bookkeeping both pools share: which breakage a death belongs to (so several futures
    failing together restart the pool once), and when deaths in a row mean giving up."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.noun = policy.noun
        self.died = died_message(policy.noun)
        self.restarts = 0  # how many times the pool was started again after a death
        self._max_barren = policy.limit
        self._log_level = policy.log_level
        self._lock = threading.RLock()
        self._generation = 0  # one per start of the workers; a death names the one it ended
        self._broken = False
        self._completed = False  # a call of this generation finished: the workers can work
        self._barren = 0
        self._gave_up: str | None = None
        self._closed = False

    @property
    def gave_up(self) -> bool:
        """True once workers kept dying without finishing anything: ``submit`` refuses."""
        return self._gave_up is not None

    def check(self) -> None:
        """Raise the ``JobError`` that stopped the pool, if it stopped: a caller with nothing
        left to submit still learns that its last calls died for a reason that will recur."""
        if self._gave_up is not None:
            raise JobError(self._gave_up)

    def _finished(self, generation: int) -> None:
        with self._lock:  # a call outliving its generation's death proves nothing
            if generation == self._generation and not self._broken:
                self._completed = True

    def _broke(self, generation: int) -> None:
        """A call of ``generation`` died: count the breakage once, however many calls it took."""
        with self._lock:
            if self._closed or self._broken or generation != self._generation:
                return
            self._broken = True
            self._barren = 0 if self._completed else self._barren + 1
            self._completed = False
            if self._max_barren is not None and self._barren >= self._max_barren:
                self._gave_up = f"worker processes keep dying before finishing any {self.noun}"
                log.log(self._log_level, "%s; not restarting them", self._gave_up)
            else:
                log.log(self._log_level, "a worker process died; restarting the pool")

    def _renew(self) -> int:
        """Under the lock, before a submit: the generation to submit to, after a restart if
        the last one broke. Raises once the pool gave up, or after ``shutdown``."""
        if self._closed:
            raise RuntimeError("the worker pool was shut down")
        self.check()
        if self._broken:
            self._replace()
            self._generation += 1
            self._broken = False
            self.restarts += 1
        return self._generation

    def _replace(self) -> None:
        """Start the workers again (lazily: processes start with the calls that need them)."""


class WorkerPool(_Restarts):
    """``workers`` processes that run module-level functions; the one way ops leave this process.

    Each worker starts from a forkserver that imported ``preload`` (``worker_context``),
    watches the optional ``Lifeline`` and runs ``start`` (setup, thread caps — by default its
    share of the cores, so workers do not oversubscribe them — and the model). A call whose
    worker dies fails with ``WorkerDied``; so do the others in flight then (which one killed
    it is unknowable), and the pool starts fresh workers for the next call, until its
    ``RestartPolicy`` gives up: then ``submit`` raises ``JobError``.

    Usage:
        pool = WorkerPool(4, preload=("lampyris.workflows.item",),
                          start=WorkerStart(model="u2netp"), restarts=RestartPolicy("file"))
        try:
            pool.submit(process, item).result()  # or WorkerDied
        finally:
            pool.shutdown()
    """

    def __init__(
        self,
        workers: int = 0,
        *,
        preload: Sequence[str] = (),
        start: WorkerStart = WorkerStart(),
        lifeline: bool = False,
        restarts: RestartPolicy = RestartPolicy(),
    ) -> None:
        super().__init__(restarts)
        self.workers = workers or available_cores()
        if start.threads is None:  # each its share of the cores: no oversubscription
            start = replace(start, threads=max(1, available_cores() // self.workers))
        self.threads = start.threads
        self._start = start
        self._preload = tuple(preload)
        self._lifeline = Lifeline() if lifeline else None
        self._pool: ProcessPoolExecutor | None = None
        self._replace()

    def _replace(self) -> None:
        old, self._pool = self._pool, ProcessPoolExecutor(
            self.workers, mp_context=worker_context(*self._preload),
            initializer=self._start,
            initargs=(None if self._lifeline is None else self._lifeline.reader,),
        )
        if old is not None:  # broken: its workers are gone already, only its threads are left
            old.shutdown(wait=False, cancel_futures=True)

    @property
    def ready(self) -> int:
        return self.workers

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Run ``fn(*args)`` in a worker. The future holds its result or exception, or
        ``WorkerDied``; ``fn``, its arguments and result travel by pickle."""
        return self._submit(fn, args, counts=True)

    def start_all(self) -> None:
        """Start every worker (and load its model) now rather than with the first calls."""
        for _ in range(self.workers):
            self._submit(_noop, (), counts=False)

    def _submit(self, fn: Callable[..., T], args: tuple[Any, ...], counts: bool) -> Future[T]:
        with self._lock:
            generation = self._renew()
            assert self._pool is not None
            try:
                inner = self._pool.submit(fn, *args)
            except BrokenProcessPool:  # it broke before any of its futures could tell us
                self._broke(generation)
                generation = self._renew()
                inner = self._pool.submit(fn, *args)
            _watch_new_workers(self._pool)
        outer: Future[T] = Future()

        def relay(done: Future[T]) -> None:
            if done.cancelled():
                outer.cancel()
                return
            error = done.exception()
            if isinstance(error, BrokenProcessPool):
                self._broke(generation)
                settle(outer, error=WorkerDied(self.died))
                return
            if counts:  # a result or fn's own exception: either way the worker lived
                self._finished(generation)
            settle(outer, done.result() if error is None else None, error)

        outer.add_done_callback(lambda f: f.cancelled() and inner.cancel())
        inner.add_done_callback(relay)
        return outer

    def shutdown(self, *, wait: bool = True, cancel: bool = False,
                 terminate: bool = False) -> None:
        """Stop the workers: ``wait`` for the running calls (queued ones too, unless
        ``cancel``), or with ``terminate`` end busy workers now (their calls fail with
        ``WorkerDied``). Cuts the lifeline last, so no worker outlives this call's waiting."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:  # outside the lock: the pool's threads call back into it
            if terminate:
                for process in list((getattr(pool, "_processes", None) or {}).values()):
                    process.terminate()
            pool.shutdown(wait=wait, cancel_futures=cancel)
        if self._lifeline is not None:
            self._lifeline.close()  # any worker a broken pool left behind exits now
            self._lifeline = None


class InlinePool(_Restarts):
    """``WorkerPool``'s twin without processes: calls run in the caller's thread (or, with
    ``background``, in one thread of its own), after the same setup and warm-up.

    For one worker, where a process would only add start-up time, and for tests: the same
    submit/shutdown interface, and ``die()`` acts out a worker's death in-process.
    """

    workers = 1

    def __init__(
        self,
        *,
        start: WorkerStart = WorkerStart(),
        background: bool = False,
        restarts: RestartPolicy = RestartPolicy(),
    ) -> None:
        super().__init__(restarts)
        self.threads = start.threads or 0
        self._start = start
        self._started = False
        self._inflight: set[Future[Any]] = set()
        self._thread = ThreadPoolExecutor(1, "lampyris-inline") if background else None

    @property
    def ready(self) -> int:
        return self.workers

    def start_all(self) -> None:
        """Run the setup and load the model now (once per pool)."""
        with self._lock:
            if not self._started:
                self._start()
                self._started = True

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Run ``fn(*args)`` now (or queue it for the background thread). Exceptions land in
        the future; ``KeyboardInterrupt`` and other ``BaseException``\\ s propagate, as in a
        plain loop."""
        outer: Future[T] = Future()
        with self._lock:
            generation = self._renew()
            self._inflight.add(outer)
        if self._thread is None:
            self._call(outer, generation, fn, args)
        else:
            self._thread.submit(self._call, outer, generation, fn, args)
        return outer

    def _call(self, outer: Future[T], generation: int, fn: Callable[..., T],
              args: tuple[Any, ...]) -> None:
        try:
            with self._lock:
                if outer.done() or not outer.set_running_or_notify_cancel():
                    return  # cancelled while queued, or died before it ran
            try:
                self.start_all()  # a setup that fails fails the call with its own error
                result = fn(*args)
            except Exception as exc:
                if self._started:
                    self._finished(generation)
                settle(outer, error=exc)
            else:
                self._finished(generation)
                settle(outer, result)
        finally:
            with self._lock:
                self._inflight.discard(outer)

    def die(self) -> None:
        """Act out a worker's death: every call in flight fails with ``WorkerDied`` and counts
        toward giving up, as in ``WorkerPool`` (a call still running has its result dropped)."""
        with self._lock:
            victims = [f for f in self._inflight if not f.done()]
            self._inflight.clear()
            self._broke(self._generation)
        for future in victims:
            settle(future, error=WorkerDied(self.died))

    def shutdown(self, *, wait: bool = True, cancel: bool = False,
                 terminate: bool = False) -> None:
        """Stop taking calls. A thread cannot be ended: ``terminate`` only stops waiting."""
        with self._lock:
            self._closed = True
            queued = list(self._inflight) if cancel else []
        for future in queued:
            future.cancel()  # only those not yet running: as cancel_futures does
        if self._thread is not None:
            self._thread.shutdown(wait=wait and not terminate, cancel_futures=cancel)


def release_worker_context(wait: float = 2.0) -> None:
    """Stop this process's forkserver and remove multiprocessing's ``pymp-*`` folder.

    multiprocessing does both at interpreter exit (``atexit``), which never runs when the
    process is ended by a signal, as uvicorn ends the server after its graceful shutdown (it
    re-raises SIGTERM): every start used to leave a ``pymp-*`` folder holding the forkserver's
    socket in the temp dir. Call it once the pools are shut down; a later pool starts a new
    forkserver. Best effort: it reaches into multiprocessing's private state, and does
    nothing where that has changed.
    """
    _stop_forkserver(wait)
    _remove_temp_dir()


def _stop_forkserver(wait: float) -> None:
    server = getattr(forkserver, "_forkserver", None)
    lock = getattr(server, "_lock", None)
    if server is None or lock is None or not hasattr(server, "_forkserver_alive_fd"):
        return
    with lock:
        pid, alive = server._forkserver_pid, server._forkserver_alive_fd
        address = server._forkserver_address
        if pid is None or alive is None:
            return
        # Closing our end of the "alive" pipe asks the forkserver to exit; it does once no
        # worker it forked is left (each holds the pipe too), so never block on it for long.
        os.close(alive)
        server._forkserver_pid = server._forkserver_alive_fd = None
        server._forkserver_address = None
    if isinstance(address, str) and not util.is_abstract_socket_namespace(address):
        with contextlib.suppress(OSError):
            os.unlink(address)
    deadline = time.monotonic() + wait
    while True:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            return
        if time.monotonic() > deadline:
            log.warning("the forkserver (pid %d) outlives its pools; it exits with them", pid)
            return
        time.sleep(0.02)


def _remove_temp_dir() -> None:
    config = getattr(multiprocessing.current_process(), "_config", None)
    if not isinstance(config, dict):
        return
    tempdir = config.get("tempdir")
    if not tempdir or not os.path.isdir(tempdir) or os.listdir(tempdir):
        return  # none, or something else still lives in it: leave it to atexit
    registry = getattr(util, "_finalizer_registry", {})
    for finalizer in list(registry.values()):
        if getattr(finalizer, "_args", None) == (shutil.rmtree, tempdir):
            finalizer()  # removes the folder and tells multiprocessing it is gone
            return
    shutil.rmtree(tempdir, ignore_errors=True)
    config["tempdir"] = None
