"""A job as the store keeps it: who asked, what to run, where it stands.

The record is wire-neutral: ``kind`` says which API family created it (so the API can answer
in that family's shape), ``task`` is everything a worker needs, ``request`` what the status
route echoes back. States follow Adobe's: pending → running → succeeded | failed (Firefly
adds cancelled, cancel_pending and timeout).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from lampyris.jobs.payloads import NO_RESULT, TaskResult

State = Literal[
    "pending", "running", "succeeded", "failed", "cancelled", "cancel_pending", "timeout"
]
TERMINAL: frozenset[State] = frozenset({"succeeded", "failed", "cancelled", "timeout"})


def now() -> datetime:
    return datetime.now(UTC)


def new_job_id() -> str:
    """Unguessable (122 random bits plus 64 more) and a single path segment, as the SDKs need."""
    return f"{uuid.uuid4()}-{secrets.token_hex(8)}"


@dataclass
class JobRecord:
    """One job. ``error`` is a recorded ``failure.Failure`` (``Failure.read`` reads it)."""

    owner: str
    kind: str
    op: str
    task: dict[str, Any]
    request: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_job_id)
    state: State = "pending"
    created: datetime = field(default_factory=now)
    modified: datetime = field(default_factory=now)
    attempts: int = 0
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    progress: int | None = None  # 0..100 while it runs, as its worker reports it

    @property
    def done(self) -> bool:
        return self.state in TERMINAL

    def outcome(self) -> TaskResult:
        """The result the worker recorded, typed; no outputs before the job succeeded."""
        return NO_RESULT if self.result is None else TaskResult.model_validate(self.result)
