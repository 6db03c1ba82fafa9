"""Model configuration: where pulled models live and which runtime runs them, how."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "lampyris" / "models"


class ModelSettings(BaseSettings):
    """``LAMPYRIS_MODELS_*`` environment variables.

    ``providers`` is an ordered preference list; ``auto`` means CUDA, CoreML, DirectML, then
    CPU, whichever this ONNX Runtime build offers; a GPU provider, when present, is used
    first. Without one, ``runtime`` (onnxruntime, openvino) and ``precision`` (fp32, bf16)
    left at ``auto`` take the fastest configuration measured on this machine among those that
    keep the reference quality (``models.engine_choice``). Thread counts of 0 let the runtime
    decide (one per core); batch runners lower them so worker processes do not oversubscribe cores.
    """

    model_config = SettingsConfigDict(env_prefix="LAMPYRIS_MODELS_")

    cache_dir: Path = Field(default_factory=_default_cache_dir)
    providers: list[str] = ["CPUExecutionProvider"]
    intra_op_threads: int = 0
    inter_op_threads: int = 1
    runtime: Literal["auto", "onnxruntime", "openvino"] = "auto"
    precision: Literal["auto", "fp32", "bf16"] = "auto"
