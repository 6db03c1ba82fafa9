"""Worker processes that run ops: start method, thread caps and warm models.

Shared by the batch runner and the server's job executor, so both start workers the same
way: forked from a clean process, each capped to its share of the cores, model loaded before
the first image.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from multiprocessing.context import BaseContext

import cv2

from lampyris.models import get_session, resolve_spec


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
