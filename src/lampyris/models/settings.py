"""Model configuration: where pulled models live and how ONNX Runtime runs them."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "lampyris" / "models"


class ModelSettings(BaseSettings):
    """``LAMPYRIS_MODELS_*`` environment variables.

    ``providers`` is an ordered preference list; ``auto`` means CUDA, CoreML, DirectML, then
    CPU, whichever this ONNX Runtime build offers. Thread counts of 0 let ONNX Runtime decide
    (one per core); batch runners lower them so worker processes do not oversubscribe cores.
    """

    model_config = SettingsConfigDict(env_prefix="LAMPYRIS_MODELS_")

    cache_dir: Path = Field(default_factory=_default_cache_dir)
    providers: list[str] = ["CPUExecutionProvider"]
    intra_op_threads: int = 0
    inter_op_threads: int = 1
