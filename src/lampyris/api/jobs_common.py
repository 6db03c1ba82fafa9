"""What every job route does, whichever API family it speaks: check the op's parameters, commit
the job before the 202, and find a job for the client that owns it.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from lampyris.api.auth import Principal
from lampyris.api.errors import ApiError
from lampyris.api.services import Services
from lampyris.errors import ModelError
from lampyris.jobs import JobRecord, Task
from lampyris.jobs.record import new_job_id
from lampyris.models import resolve_spec
from lampyris.ops import CATALOG

ACCEPTED: dict[int | str, dict[str, Any]] = {202: {"description": "Job accepted"}}


def check_params(task: Task) -> None:
    """Refuse bad op parameters and unknown models now (400) rather than as a failed job."""
    try:
        params = CATALOG[task.op].params.model_validate(task.params)
        model = getattr(params, "model", None)
        if model is not None:
            resolve_spec(model)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ApiError(400, "validation_error", f"invalid options: {problems}") from None
    except ModelError as exc:
        raise ApiError(400, "validation_error", f"invalid options: {exc}") from None


def submit(svc: Services, who: Principal, kind: str, task: Task, request: dict[str, Any],
           job_id: str | None = None) -> JobRecord:
    """Validate ``task``'s parameters and commit its job row; the caller then answers 202."""
    check_params(task)
    job = JobRecord(owner=who.client_id, kind=kind, op=task.op, task=task.to_json(),
                    request=request, id=job_id or new_job_id())
    svc.store.add(job)  # committed before the 202 goes out: an accepted job is never lost
    svc.metrics.submitted.labels(task.op).inc()
    svc.executor.wake()
    return job


def own_job(svc: Services, who: Principal, job_id: str, kind: str) -> JobRecord:
    """The job, if ``who`` created it through a route of ``kind``; otherwise 404."""
    job = svc.store.get(job_id, owner=who.client_id)
    if job is None or job.kind != kind:
        raise ApiError(404, "unknown_job_id", "The job id is unknown.")
    return job
