"""The inference engines behind a session: OpenVINO agrees with ONNX Runtime, bf16 with its
precision plan stays close to fp32 (the bundled samples stand in for the reference sets of
docs/benchmarks.md), and ``auto`` is measured once per machine and then read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from lampyris.errors import InvalidParameterError, ModelError
from lampyris.models import REGISTRY, MattingSession, ModelStore, SessionOptions
from lampyris.models.engine_choice import choose_engine, cpu_offers_bf16
from lampyris.models.openvino_engine import OpenVinoEngine
from lampyris.models.precision import PrecisionPlan

SAMPLES = sorted((Path(__file__).parents[3] / "samples").glob("*.jpg"))
SPEC = REGISTRY["u2netp"]


def _mattes(runtime: str, precision: str) -> list[np.ndarray]:
    session = MattingSession(SPEC, ModelStore(), SessionOptions(
        intra_op_threads=1, runtime=runtime, precision=precision))
    assert (session.choice.runtime, session.choice.precision) == (runtime, precision)
    images = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in SAMPLES]
    return [session.predict(image, mirror="never") for image in images]


@pytest.fixture(scope="module")
def fp32() -> list[np.ndarray]:
    assert len(SAMPLES) >= 4
    return _mattes("onnxruntime", "fp32")


def test_openvino_fp32_gives_onnx_runtimes_matte(fp32: list[np.ndarray]) -> None:
    for ours, theirs in zip(_mattes("openvino", "fp32"), fp32, strict=True):
        assert np.abs(ours - theirs).max() < 1e-3


@pytest.mark.skipif(not cpu_offers_bf16(), reason="this CPU has no bf16 instructions")
def test_bf16_with_its_plan_stays_close_to_fp32_and_closer_than_bf16_everywhere(
        fp32: list[np.ndarray], monkeypatch: pytest.MonkeyPatch) -> None:
    planned = _mattes("openvino", "bf16")
    monkeypatch.setattr("lampyris.models.engine_choice.plan_for", lambda sha: None)
    everywhere = _mattes("openvino", "bf16")
    for ours, loose, exact in zip(planned, everywhere, fp32, strict=True):
        err = np.abs(ours - exact)
        assert err.mean() < 0.004, err.mean()  # a matte's mean error, out of 1
        assert np.mean(err > 0.1) < 0.002  # hardly a pixel visibly different
        assert err.mean() < np.abs(loose - exact).mean()


def test_bf16_is_refused_on_onnx_runtime(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="bf16 runs only on the openvino runtime"):
        choose_engine(SPEC, ModelStore().path(SPEC), runtime="onnxruntime", precision="bf16",
                      providers=["CPUExecutionProvider"], cache_dir=tmp_path)


@pytest.mark.parametrize(("runtime", "precision", "label", "reason"), [
    ("auto", "bf16", "openvino bf16", "as configured"),  # forced: with or without a plan
    ("openvino", "fp32", "openvino fp32", "as configured"),
    ("onnxruntime", "auto", "onnxruntime fp32", "the only candidate here"),
])
def test_what_is_configured_is_not_measured(tmp_path: Path, runtime: str, precision: str,
                                            label: str, reason: str) -> None:
    choice = choose_engine(SPEC, ModelStore().path(SPEC), runtime=runtime, precision=precision,
                           providers=["CPUExecutionProvider"], cache_dir=tmp_path)
    assert (choice.label, choice.reason) == (label, reason)
    assert not (tmp_path / "engines.json").exists()


def test_a_plan_naming_layers_the_model_lacks_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="names layers the model lacks"):
        OpenVinoEngine(ModelStore().path(SPEC), (1, 3, 320, 320), precision="bf16",
                       plan=PrecisionPlan(fp32_islands=(("Nope_1", "Nope_2"),)), threads=1,
                       cache_dir=None)


def test_auto_measures_once_per_machine_then_reads_its_record(tmp_path: Path) -> None:
    path = ModelStore().path(SPEC)
    first = choose_engine(SPEC, path, runtime="auto", precision="auto",
                          providers=["CPUExecutionProvider"], cache_dir=tmp_path)
    record = json.loads((tmp_path / "engines.json").read_text())
    (timings,) = record.values()
    assert "onnxruntime fp32" in timings and "openvino fp32" in timings
    assert ("openvino bf16" in timings) == cpu_offers_bf16()
    assert first.label == min(timings, key=timings.get)
    # A planted record decides the next choice: nothing is measured again.
    key = next(iter(record))
    record[key] = {label: (1.0 if label == "onnxruntime fp32" else 999.0) for label in timings}
    (tmp_path / "engines.json").write_text(json.dumps(record))
    again = choose_engine(SPEC, path, runtime="auto", precision="auto",
                          providers=["CPUExecutionProvider"], cache_dir=tmp_path)
    assert again.label == "onnxruntime fp32"
    assert "onnxruntime fp32 1 ms" in again.reason


def test_compiled_segments_are_kept_and_imported_by_the_next_engine(tmp_path: Path) -> None:
    path = ModelStore().path(SPEC)
    batch = np.random.default_rng(1).standard_normal((1, 3, 320, 320)).astype(np.float32)

    def engine() -> OpenVinoEngine:
        return OpenVinoEngine(path, (1, 3, 320, 320), precision="fp32", plan=None, threads=1,
                              cache_dir=tmp_path, model_id=SPEC.sha256 or "")

    first = engine()
    # unpinned: pinned one-thread workers all land on the first core and halve each other
    assert first._compiled[0][0].get_property("ENABLE_CPU_PINNING") is False
    (kept,) = tmp_path.iterdir()
    assert (kept / "layout.json").is_file() and (kept / "0.blob").stat().st_size > 1_000_000
    second = engine()  # imported: the ONNX file is not read again
    assert second._compiled[0][0].get_property("ENABLE_CPU_PINNING") is False
    assert np.array_equal(first.run(batch), second.run(batch))
    (kept / "0.blob").write_bytes(b"torn")  # a damaged copy is compiled again, not trusted
    assert np.array_equal(engine().run(batch), first.run(batch))


def test_openvino_is_loaded_without_telemetry(tmp_path: Path) -> None:
    # Left alone, `import openvino` sends a usage event from a thread and writes ~/intel/.
    script = ("import threading\n"
              "from lampyris.models.openvino_import import load_openvino\n"
              "ov = load_openvino()\n"
              "assert 'CPU' in ov.Core().available_devices\n"
              "print(threading.active_count())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True, env={**os.environ, "HOME": str(tmp_path)})
    assert done.stdout.strip() == "1", done.stderr
    assert list(tmp_path.iterdir()) == []
