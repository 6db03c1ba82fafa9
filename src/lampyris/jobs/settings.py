"""Job configuration: where jobs are stored and how they are run (``LAMPYRIS_JOBS_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class JobSettings(BaseSettings):
    """``workers`` 0 means one worker process per core (with the ``ray`` executor: one actor
    per CPU slot of the cluster at ``ray_address``, or per GPU when it has GPUs). A running
    job whose heartbeat is older than ``lease_seconds`` belongs to a dead server and is run
    again, at most ``max_attempts`` times in all; finished jobs and their hosted files are
    deleted after ``retention_hours``."""

    model_config = SettingsConfigDict(env_prefix="LAMPYRIS_JOBS_", populate_by_name=True)

    workers: int = Field(default=0, ge=0)
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = Field(
        default=None, validation_alias="LAMPYRIS_RAY_ADDRESS")
    lease_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    retention_hours: float = Field(default=24.0 * 7, gt=0)
    poll_interval: float = Field(default=1.0, gt=0)
