"""What the server is doing now, as ``/health`` and the console's ``/lampyris/v1/server``
both report it: one function, so the two never disagree."""

from __future__ import annotations

import functools
from typing import Any

from lampyris import __version__
from lampyris.api.services import Services


@functools.cache
def engine() -> dict[str, str]:
    """The engine the default model runs on in this machine's workers (decided once per
    machine, so it is the same for every call; Ray actors on other machines decide their own)."""
    from lampyris.models import engine_for, resolve_spec  # only when asked: loads ONNX Runtime

    choice = engine_for(resolve_spec("u2netp"))
    return {"model": "u2netp", "runtime": choice.runtime, "precision": choice.precision,
            "reason": choice.reason}


def server_state(svc: Services) -> dict[str, Any]:
    """Version, workers (ready and busy), the executor, the queue and the engine."""
    counts = svc.store.counts()
    return {
        "version": __version__, "workers": svc.executor.workers,
        "executor": svc.executor.kind, "ready": svc.executor.ready, "busy": svc.executor.busy,
        "pending": sum(n for (_, s), n in counts.items() if s == "pending"),
        "running": sum(n for (_, s), n in counts.items() if s == "running"),
        "engine": engine(),
    }
