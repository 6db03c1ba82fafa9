"""ONNX Runtime as an inference engine: fp32 on the CPU, or a GPU provider where one is present."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lampyris.errors import ModelError

_AUTO_ORDER = (
    "CUDAExecutionProvider",
    "CoreMLExecutionProvider",
    "DmlExecutionProvider",
    "CPUExecutionProvider",
)


def choose_providers(wanted: list[str]) -> list[str]:
    """Expand ``auto`` and drop providers this ONNX Runtime build lacks (CPU always remains)."""
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    expanded: list[str] = []
    for name in wanted:
        for provider in _AUTO_ORDER if name == "auto" else (name,):
            if provider in available and provider not in expanded:
                expanded.append(provider)
    if "CPUExecutionProvider" not in expanded:
        expanded.append("CPUExecutionProvider")
    return expanded


class OnnxRuntimeEngine:
    """One ONNX Runtime session; ``run`` is thread-safe (ONNX Runtime's ``run`` is)."""

    runtime = "onnxruntime"
    precision = "fp32"

    def __init__(self, path: Path, providers: list[str], intra_op_threads: int,
                 inter_op_threads: int) -> None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = intra_op_threads
        so.inter_op_num_threads = inter_op_threads
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        # Memory-pattern planning pre-allocates every activation at once: ~190 MB more per
        # u2netp session, for no measurable speed-up on CPU.
        so.enable_mem_pattern = False
        self.providers = choose_providers(providers)
        try:
            self.session: Any = ort.InferenceSession(str(path), so, providers=self.providers)
        except Exception as exc:  # ORT raises untyped errors for broken files
            raise ModelError(f"could not load model from {path}: {exc}") from exc
        self._input = self.session.get_inputs()[0].name

    @property
    def threads(self) -> int:
        """Intra-op threads as ONNX Runtime holds them (0: one per core)."""
        return int(self.session.get_session_options().intra_op_num_threads)

    def run(self, batch: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.session.run(None, {self._input: batch})[0]
        return out
