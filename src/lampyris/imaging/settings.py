"""Imaging limits, read from the environment once so the pixel code never touches os.environ."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ImagingSettings(BaseSettings):
    """Knobs for decoding; env vars are ``LAMPYRIS_IMAGING_<FIELD>`` (e.g. ``..._MAX_PIXELS``)."""

    model_config = SettingsConfigDict(env_prefix="LAMPYRIS_IMAGING_", extra="ignore")

    # 100 MP covers every camera sensor in common use; anything bigger is refused before its
    # pixels are allocated, so one hostile upload cannot exhaust a worker's memory.
    max_pixels: int = Field(default=100_000_000, gt=0)
