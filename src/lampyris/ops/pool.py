"""Worker processes that run ops: start method, thread caps and warm models.

Shared by the batch runner and the server's job executor, so both start workers the same
way: forked from a clean process, each capped to its share of the cores, model loaded before
the first image. ``Lifeline`` makes workers die with the process that started them (even by
``kill -9``), and ``release_worker_context`` removes what multiprocessing leaves behind when
that process is ended by a signal (its forkserver, the ``pymp-*`` folder).
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
from multiprocessing import forkserver, util
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext

import cv2

from lampyris.models import get_session, resolve_spec

log = logging.getLogger(__name__)


def available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def warm(model: str | None, threads: int) -> None:
    """Runs first in each worker: fix ONNX Runtime's thread count (through the models
    settings, read when the session is built) and load the model before the first image."""
    if threads:
        os.environ["LAMPYRIS_MODELS_INTRA_OP_THREADS"] = str(threads)
        cv2.setNumThreads(threads)  # workers already fill the cores: no nested thread pools
    if model is not None:
        get_session(resolve_spec(model))


# The forkserver listens on a Unix socket in a fresh folder below the temp dir
# (``<tmp>/pymp-XXXXXXXX/listener-XXXXXXXX``); Linux caps such a path at 107 bytes.
_SOCKET_PATH_MAX = 107
_SOCKET_SUFFIX = len("/pymp-xxxxxxxx/listener-xxxxxxxx")


def worker_context(*preload: str) -> BaseContext:
    """A forkserver where there is one: workers fork from a clean process that has already
    imported ``preload``, so they start in milliseconds without inheriting the parent's
    threads (a progress bar's, a web server's). Spawn elsewhere, and where the temp dir's path
    is too long for the forkserver's socket (a deep ``TMPDIR``): slower starts, same results."""
    socket_fits = len(os.fsencode(tempfile.gettempdir())) + _SOCKET_SUFFIX <= _SOCKET_PATH_MAX
    if socket_fits and "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([*preload, "onnxruntime"])
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
