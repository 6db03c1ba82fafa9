"""Imaging limits, read from the environment once so the pixel code never touches os.environ."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

WORKER_BASELINE_MB = 400
"""A warm worker before its first image: imports, the u2netp session and ONNX Runtime's arena
(383 MB measured by ``bench/memory_bench.py``)."""

BYTES_PER_PIXEL = 20
"""A cutout's peak resident memory over that baseline, per input pixel, rounded up from its
costliest settings: ``decontaminate=1`` (alone or with trim, padding, shadow and a white
background) measured 16.9-17.0 at 100 MP and 18.0-18.3 at 12 MP, where the allocator keeps
more small buffers; the default settings 12.2 (``docs/benchmarks.md``, "Memory per image").
Before issue 13 it was 77."""


def pixels_within(budget_mb: int) -> int:
    """The largest input whose cutout keeps a worker within ``budget_mb`` of memory."""
    return (budget_mb - WORKER_BASELINE_MB) * 2**20 // BYTES_PER_PIXEL


class ImagingSettings(BaseSettings):
    """Knobs for decoding; env vars are ``LAMPYRIS_IMAGING_<FIELD>`` (e.g. ``..._MAX_PIXELS``).

    ``max_pixels`` is the effective cap once validated: the configured cap, lowered to what
    ``worker_memory_mb`` fits when that is smaller, so the decoder, the job runner and the
    option bounds all refuse at the same, affordable size. To let bigger images in, raise
    both.

    Usage::

        LAMPYRIS_IMAGING_WORKER_MEMORY_MB=2048 lampyris serve   # cap: (2048-400) MB / 20 B
    """

    model_config = SettingsConfigDict(env_prefix="LAMPYRIS_IMAGING_", extra="ignore")

    # 100 MP covers every camera sensor in common use; anything bigger is refused before its
    # pixels are allocated, so one hostile upload cannot exhaust a worker's memory.
    max_pixels: int = Field(default=100_000_000, gt=0)
    # What one worker process may use. At the 100 MP cap a cutout peaks at 2.0 GB whatever
    # its settings (1.5 GB with the defaults), so 4 GB fits 100 MP with room to spare; a
    # smaller budget lowers the cap (2048 MB: 86 MP, 1024 MB: 32 MP).
    worker_memory_mb: int = Field(default=4096, gt=0)

    @model_validator(mode="after")
    def _fit_the_budget(self) -> Self:
        fits = pixels_within(self.worker_memory_mb)
        if fits <= 0:
            raise ValueError(
                f"worker_memory_mb={self.worker_memory_mb} leaves nothing for an image: a "
                f"worker needs {WORKER_BASELINE_MB} MB before its first one"
            )
        self.max_pixels = min(self.max_pixels, fits)
        return self
