"""Which engine runs a model here: a GPU provider when there is one, else the fastest CPU
configuration that keeps the reference quality, measured once per machine and remembered.

``auto`` is decided by timing, not by guessing from CPU names: each candidate (ONNX Runtime
fp32, OpenVINO fp32, OpenVINO bf16 with the model's precision plan where the CPU offers bf16)
runs the network a few times on one thread, and the result is cached in the model cache
(``engines.json``), keyed by model, CPU and library versions. Every process on the machine
then makes the same choice, so a worker, the server and a batch produce identical mattes.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from lampyris.errors import InvalidParameterError
from lampyris.models.onnx_engine import OnnxRuntimeEngine, choose_providers
from lampyris.models.openvino_import import load_openvino
from lampyris.models.precision import plan_for
from lampyris.models.spec import ModelSpec

RUNS = 4
"""Timed passes per candidate (after one untimed): the median of four is stable to a few
per cent here, and the whole measurement stays under ten seconds once per machine."""


class Engine(Protocol):
    """What a matting session needs from an inference runtime."""

    runtime: str
    precision: str

    @property
    def threads(self) -> int: ...

    def run(self, batch: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class EngineChoice:
    """The runtime and precision a model runs with here, and why."""

    runtime: str
    precision: str
    reason: str

    @property
    def label(self) -> str:
        return f"{self.runtime} {self.precision}"


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


@functools.cache
def cpu_offers_bf16() -> bool:
    """OpenVINO's own reading of the CPU: bf16 listed only where it has the instructions."""
    if not openvino_installed():
        return False
    ov = load_openvino()
    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def build_engine(choice: EngineChoice, spec: ModelSpec, path: Path, *, providers: list[str],
                 intra_op_threads: int, inter_op_threads: int, cache_dir: Path) -> Engine:
    """Load ``path`` in the chosen engine."""
    if choice.runtime == "openvino":
        from lampyris.models.openvino_engine import OpenVinoEngine

        w, h = spec.input_size
        return OpenVinoEngine(path, (1, 3, h, w), precision=choice.precision,
                              plan=plan_for(spec.sha256), threads=intra_op_threads,
                              cache_dir=cache_dir / "openvino", model_id=spec.sha256 or "")
    return OnnxRuntimeEngine(path, providers, intra_op_threads, inter_op_threads)


def choose_engine(spec: ModelSpec, path: Path, *, runtime: str, precision: str,
                  providers: list[str], cache_dir: Path) -> EngineChoice:
    """Settle ``auto`` for this model on this machine (see the module's docstring)."""
    gpu = [p for p in choose_providers(providers) if p != "CPUExecutionProvider"]
    if gpu and runtime in ("auto", "onnxruntime"):
        return EngineChoice("onnxruntime", "fp32", f"GPU provider {gpu[0]}")
    if runtime == "onnxruntime" and precision == "bf16":
        raise InvalidParameterError("bf16 runs only on the openvino runtime: "
                                    "set LAMPYRIS_MODELS_RUNTIME=openvino or auto")
    if (runtime == "openvino" or precision == "bf16") and not openvino_installed():
        raise InvalidParameterError("the openvino runtime is not installed: pip install "
                                    "openvino, or set LAMPYRIS_MODELS_RUNTIME=onnxruntime")
    if precision == "bf16" or (runtime != "auto" and precision != "auto"):
        return EngineChoice("openvino" if precision == "bf16" else runtime, precision,
                            "as configured")
    candidates = _candidates(spec, runtime, precision)
    if len(candidates) == 1:
        return EngineChoice(*candidates[0], "the only candidate here")
    timings = _measured(spec, path, candidates, cache_dir)
    fastest = min(candidates, key=lambda c: timings[f"{c[0]} {c[1]}"])
    summary = ", ".join(f"{label} {ms:.0f} ms" for label, ms in sorted(timings.items()))
    return EngineChoice(*fastest, f"fastest measured here ({summary} per pass, one thread)")


def _candidates(spec: ModelSpec, runtime: str, precision: str) -> list[tuple[str, str]]:
    """What ``auto`` chooses among (``runtime`` or ``precision`` is auto, precision not bf16)."""
    found = []
    if runtime in ("auto", "onnxruntime"):
        found.append(("onnxruntime", "fp32"))
    if runtime != "onnxruntime" and openvino_installed():
        found.append(("openvino", "fp32"))
        # bf16 only where it was shown to keep the reference quality (models/precision.py)
        if precision == "auto" and plan_for(spec.sha256) and cpu_offers_bf16():
            found.append(("openvino", "bf16"))
    return found


def _machine_key(spec: ModelSpec, path: Path) -> str:
    """Same model, CPU and libraries: same timings (the model by content, else by file)."""
    model = spec.sha256 or f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "flags")):
                cpu += line.split(":", 1)[1].strip() + ";"
            if line.startswith("flags"):
                break
    versions = []
    for package in ("onnxruntime", "openvino"):
        try:
            versions.append(f"{package}={importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package}=none")
    machine = hashlib.sha256(cpu.encode()).hexdigest()[:12] if cpu else os.uname().machine
    return "|".join([model, machine, *versions])


@contextlib.contextmanager
def _locked(cache_dir: Path) -> Iterator[None]:
    """One process measures while the others wait, then read its answer."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        handle = open(cache_dir / "engines.lock", "a")  # noqa: SIM115 - held for the block
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _measured(spec: ModelSpec, path: Path, candidates: list[tuple[str, str]],
              cache_dir: Path) -> dict[str, float]:
    """Milliseconds per pass of each candidate, from the cache or measured now."""
    key = _machine_key(spec, path)
    record = cache_dir / "engines.json"
    with _locked(cache_dir):
        try:
            known = json.loads(record.read_text())
        except (OSError, ValueError):
            known = {}
        timings: dict[str, float] = dict(known.get(key, {}))
        missing = [c for c in candidates if f"{c[0]} {c[1]}" not in timings]
        for candidate in missing:
            timings[f"{candidate[0]} {candidate[1]}"] = _time_one(spec, path, candidate,
                                                                  cache_dir)
        if missing:
            known[key] = timings
            with contextlib.suppress(OSError):
                temp = record.with_suffix(f".{os.getpid()}.tmp")
                temp.write_text(json.dumps(known, indent=1, sort_keys=True))
                temp.replace(record)
    return {f"{r} {p}": timings[f"{r} {p}"] for r, p in candidates}


def _time_one(spec: ModelSpec, path: Path, candidate: tuple[str, str], cache_dir: Path) -> float:
    engine = build_engine(EngineChoice(*candidate, "measuring"), spec, path,
                          providers=["CPUExecutionProvider"], intra_op_threads=1,
                          inter_op_threads=1, cache_dir=cache_dir)
    w, h = spec.input_size
    batch = np.random.default_rng(0).standard_normal((1, 3, h, w)).astype(np.float32)
    engine.run(batch)
    seconds = []
    for _ in range(RUNS):
        start = time.perf_counter()
        engine.run(batch)
        seconds.append(time.perf_counter() - start)
    return round(statistics.median(seconds) * 1000, 1)
