"""What every job route does, whichever API family it speaks: check the op's parameters, commit
the job before the 202, and find a job for the client that owns it.

A request names its model by registry name, or by the file name of an ``.onnx`` file in the
operator's ``model_dir``; never by a path on the server's disk. Anything else gets one and the
same answer, so a request cannot learn which files exist (the CLI, whose user owns the disk,
still takes paths).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lampyris.api.auth import Principal
from lampyris.api.callbacks import webhook_urls
from lampyris.api.client_webhooks import ClientWebhooks
from lampyris.api.errors import ApiError
from lampyris.api.services import Services
from lampyris.errors import LampyrisError
from lampyris.jobs import JobRecord, Task
from lampyris.jobs.record import new_job_id
from lampyris.models import REGISTRY, resolve_spec
from lampyris.ops import CATALOG

log = logging.getLogger(__name__)

ACCEPTED: dict[int | str, dict[str, Any]] = {202: {"description": "Job accepted"}}


def _invalid(message: str) -> ApiError:
    return ApiError(400, "validation_error", f"invalid options: {message}")


def _in_model_dir(name: str, model_dir: Path | None) -> Path | None:
    """The ``.onnx`` file ``name`` directly in ``model_dir`` (not a link out of it), or None."""
    if model_dir is None or not name.endswith(".onnx") or Path(name).name != name:
        return None
    root = model_dir.resolve()
    candidate = (root / name).resolve()
    return candidate if candidate.parent == root and candidate.is_file() else None


def served_models(model_dir: Path | None) -> list[str]:
    """What a request may name: the registry's models, then the operator's ``.onnx`` files."""
    names = list(REGISTRY)
    if model_dir is not None and model_dir.is_dir():
        names += sorted(p.name for p in model_dir.glob("*.onnx")
                        if _in_model_dir(p.name, model_dir) is not None)
    return names


def served_model(name: str, model_dir: Path | None) -> str:
    """``name`` as the worker should resolve it: a registry name as it is, a file of
    ``model_dir`` as its full path. Any other name, whatever is on the disk under it (a
    missing file, ``/proc/self/...``, an ONNX file with a ``.json`` sidecar), gets the same
    400."""
    if name in REGISTRY:
        return name
    if (path := _in_model_dir(name, model_dir)) is not None:
        return str(path)
    raise _invalid(f"unknown model {name!r}: one of {', '.join(served_models(model_dir))}")


def check_params(task: Task, model_dir: Path | None = None) -> Task:
    """Refuse bad op parameters and unknown models now (400) rather than as a failed job; the
    task returned carries the parameters as validated (those given, normalised), not as sent."""
    params = dict(task.params)
    if isinstance(params.get("model"), str):
        params["model"] = served_model(params["model"], model_dir)
    try:
        validated = CATALOG[task.op].params.model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise _invalid(problems) from None
    model = getattr(validated, "model", None)
    if isinstance(model, str) and model not in REGISTRY:
        try:  # a file of the operator's model_dir: its loading problems are theirs to read
            resolve_spec(model)
        except LampyrisError as exc:
            log.warning("model %s cannot be loaded: %s", model, exc)
            raise _invalid(f"model {Path(model).name!r} of the server's model directory "
                           "cannot be loaded (the server's log says why)") from None
    normalised = validated.model_dump(mode="json", exclude_unset=True)
    return task.model_copy(update={"params": normalised})


# The uploads a multipart request stored (``firefly_bodies``), deleted if the route fails
# before its job is committed; ``submit`` empties the list once it is.
FRESH_UPLOADS: ContextVar[list[str] | None] = ContextVar("lampyris_fresh_uploads",
                                                          default=None)


def submit(svc: Services, who: Principal, kind: str, task: Task, request: dict[str, Any],
           job_id: str | None = None) -> JobRecord:
    """Validate ``task``'s parameters and commit its job row; the caller then answers 202.
    ``request`` is the body as its wire model validated it (unknown fields dropped), which
    the status route echoes."""
    task = check_params(task, svc.config.server.model_dir)
    hooks = webhook_urls(svc.config, ClientWebhooks(svc.store.engine), who.client_id, request)
    job = JobRecord(owner=who.client_id, kind=kind, op=task.op, task=task.model_dump(mode="json"),
                    request=request, id=job_id or new_job_id())
    # committed before the 202 goes out, its callbacks with it: an accepted job is never lost
    svc.store.add(job, hooks, who.base_url)
    kept = FRESH_UPLOADS.get()
    if kept is not None:  # the request's uploads are the job's now: not deleted on an error
        kept.clear()
    svc.metrics.submitted.labels(task.op).inc()
    svc.executor.wake()
    return job


def own_job(svc: Services, who: Principal, job_id: str, kind: str) -> JobRecord:
    """The job, if ``who`` created it through a route of ``kind``; otherwise 404."""
    job = svc.store.get(job_id, owner=who.client_id)
    if job is None or job.kind != kind:
        raise ApiError(404, "unknown_job_id", "The job id is unknown.")
    return job
