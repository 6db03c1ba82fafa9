"""A job's failure as it is recorded: typed on both sides of the worker/database boundary.

The worker writes ``Failure.of(exc, stage).record()`` into the job row; the wire reads it
back with ``Failure.read(job.error)`` and finds the exception class again by its code
(``error_class``). Rows written before codes existed (``{"type": <class name>, "message",
"stage", "status": <the storage's HTTP status>}``) read as the same failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from lampyris.errors import LampyrisError, StorageDeniedError

Stage = Literal["input", "image", "output"]
"""Where a job failed: fetching its inputs, making the image (decode, op, encode), or
delivering its outputs."""

STAGES: tuple[Stage, ...] = ("input", "image", "output")


class Failure(BaseModel):
    """One recorded failure.

    ``code`` is the exception class's (``LampyrisError.code``), ``status`` its HTTP status when
    it was recorded (so a reader that does not know a newer code still answers the right
    status), ``stage`` where the job was, ``storage_status`` what a storage that refused
    answered (``StorageDeniedError``), if anything.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: str
    message: str = ""
    stage: Stage | None = None
    status: int = LampyrisError.status
    storage_status: int | None = None

    @classmethod
    def of(cls, exc: BaseException, stage: Stage | None = None) -> Failure:
        """``exc`` as recorded; anything but a ``LampyrisError`` is a bug, recorded as the
        base class's ``internal_error`` with its repr."""
        if not isinstance(exc, LampyrisError):
            return cls(code=LampyrisError.code, message=f"internal error: {exc!r}",
                       stage=stage, status=LampyrisError.status)
        kind = type(exc)  # the class's facts: a client error's instance holds the service's
        return cls(code=kind.code, message=str(exc), stage=stage, status=kind.status,
                   storage_status=exc.storage_status if isinstance(exc, StorageDeniedError)
                   else None)

    @classmethod
    def read(cls, data: Mapping[str, Any] | Failure | None) -> Failure:
        """A job row's ``error``, in either format; never raises (an unreadable row is an
        ``internal_error`` with whatever message it had)."""
        if isinstance(data, Failure):
            return data
        try:
            return cls.model_validate(data or {})
        except ValidationError:
            message = data.get("message") if isinstance(data, Mapping) else None
            return cls(code=LampyrisError.code,
                       message=message if isinstance(message, str) else "internal error")

    def error_class(self) -> type[LampyrisError]:
        """The exception class that failed (``LampyrisError`` for a code unknown here)."""
        return LampyrisError.by_code(self.code)

    def record(self) -> dict[str, Any]:
        """What the job row stores (JSON-ready)."""
        return self.model_dump(mode="json")

    @model_validator(mode="before")
    @classmethod
    def _from_old_rows(cls, data: Any) -> Any:
        """``{"type": ClassName, "message", "stage", "status"}`` → the fields above; an old row
        without a stage was read as ``image``'s, so it still is."""
        if not isinstance(data, Mapping) or "code" in data or "type" not in data:
            return data
        kind = LampyrisError.by_name(str(data["type"]))
        stage = data.get("stage", "image")
        storage_status = data.get("status")
        return {
            "code": kind.code, "message": data.get("message") or "", "status": kind.status,
            "stage": stage if stage in STAGES else None,
            "storage_status": storage_status if isinstance(storage_status, int) else None,
        }
