"""Wire pieces the Photoshop and Lightroom families share: the lenient base model, Adobe's
``{href, storage}`` reference, timestamps and the status values clients know."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lampyris.jobs import JobRecord

StorageName = Literal["external", "azure", "dropbox"]


class Wire(BaseModel):
    """Unknown fields are ignored: Adobe's SDKs send extras (``output.type``…)."""

    model_config = ConfigDict(extra="ignore")


class StorageDetails(Wire):
    href: str = Field(min_length=1, max_length=8192)
    storage: StorageName


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def visible_state(job: JobRecord) -> str:
    """Photoshop's and Lightroom's status enums have only pending, running, succeeded and
    failed."""
    return job.state if job.state in ("pending", "running", "succeeded") else "failed"


def jpeg_quality(level: int) -> int:
    """Photoshop's JPEG quality scale (0..12, which Lightroom's ``quality`` and v2's named
    levels follow) as the encoder's 1..100: five steps a level from 35, capped at 95 (Pillow's
    highest useful setting), so 12 → 95, 10 → 85, 8 → 75, 6 → 65."""
    return min(95, 35 + 5 * level)


def develop_report(job: JobRecord) -> dict[str, Any]:
    """What a develop op reported (the settings auto tone chose, the straighten angle, the
    presets applied) and the output's size: the ``lampyris`` extension of a status output.
    Adobe returns only pixels; clients ignore the extra object."""
    result = job.outcome()
    report: dict[str, Any] = {k: result.metadata[k] for k in ("settings", "straighten",
                                                                 "presets")
                              if k in result.metadata}
    if result.outputs:
        first = result.outputs[0]
        report.update(mediaType=first.mediaType, width=first.width, height=first.height)
    return report
