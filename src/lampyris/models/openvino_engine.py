"""OpenVINO as an inference engine: fp32, or bf16 with the layers that must stay fp32 kept so.

bf16 halves u2netp's CPU time where the CPU has bf16 instructions, but over the whole graph
it costs accuracy (docs/benchmarks.md). A ``PrecisionPlan`` names the fp32 islands; the graph
is cut at their borders into segments compiled at their own precision and chained through
OpenVINO's own tensors, so no activation passes through numpy between them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lampyris.errors import ModelError
from lampyris.models.openvino_import import load_openvino
from lampyris.models.precision import PrecisionPlan

_SKIPPED = ("Constant", "Parameter", "Result")


_Layout = tuple[list[tuple[Any, list[str], list[str], str]], str, str]
"""Compiled segments with their input and output tensor names and precision; the image's and
the matte's tensor names."""


def _static_model(core: Any, path: Path, input_shape: Sequence[int]) -> Any:
    """The network at one input shape with its shape arithmetic folded away: static shapes
    compile faster and run faster, and leave only real layers to cut between."""
    from openvino import passes

    model = core.read_model(str(path))
    model.reshape(list(input_shape))
    manager = passes.Manager()
    manager.register_pass(passes.ConstantFolding())
    manager.run_passes(model)
    return model


def _compute_ops(model: Any) -> list[Any]:
    return [op for op in model.get_ordered_ops() if op.get_type_name() not in _SKIPPED]


def _key(output: Any) -> str:
    return f"{output.get_node().get_friendly_name()}:{output.get_index()}"


class _Segment:
    """Compute ops ``[start, stop)`` of the graph as a model of their own: tensors from
    earlier segments come in as parameters; what later segments (or the caller) use goes out."""

    def __init__(self, core: Any, path: Path, shape: Sequence[int], start: int, stop: int,
                 final: str) -> None:
        import openvino as ov

        model = _static_model(core, path, shape)  # a fresh copy: cutting rewires its nodes
        ops = _compute_ops(model)
        inside = {op.get_friendly_name() for op in ops[start:stop]}
        params: dict[str, Any] = {}
        for op in ops[start:stop]:
            for port in op.inputs():
                source = port.get_source_output()
                node = source.get_node()
                if node.get_type_name() == "Constant" or node.get_friendly_name() in inside:
                    continue
                key = _key(source)
                if key not in params:
                    params[key] = (node if node.get_type_name() == "Parameter" else
                                   ov.opset13.parameter(source.get_partial_shape(),
                                                        source.get_element_type(), name=key))
                if node.get_type_name() != "Parameter":
                    port.replace_source_output(params[key].output(0))
        outputs: dict[str, Any] = {}
        for op in ops[start:stop]:
            for out in op.outputs():
                leaves = any(
                    t.get_node().get_friendly_name() not in inside
                    and t.get_node().get_type_name() != "Result"
                    for t in out.get_target_inputs()
                )
                if leaves or _key(out) == final:
                    outputs[_key(out)] = out
        self.inputs = list(params)
        self.outputs = list(outputs)
        self.model = ov.Model(list(outputs.values()), list(params.values()), f"ops{start}-{stop}")


class OpenVinoEngine:
    """A compiled network; ``run`` is thread-safe (one infer-request chain per thread).

    Compiled segments are kept in ``cache_dir`` (OpenVINO's exported blobs, keyed by model,
    shape, precision, plan, threads and OpenVINO version): a later process imports them in
    milliseconds instead of reading, folding, cutting and compiling the ONNX file again.
    """

    runtime = "openvino"

    def __init__(self, path: Path, input_shape: Sequence[int], *, precision: str,
                 plan: PrecisionPlan | None, threads: int, cache_dir: Path | None,
                 model_id: str = "") -> None:
        ov = load_openvino()  # the first import of openvino in a process is this one or
        # engine_choice's: every later ``import openvino`` finds it loaded, telemetry declined
        self.precision = precision
        core = ov.Core()
        # No pinning: OpenVINO pins its threads to cores from the first, so two one-thread
        # worker processes shared one core and each ran at half speed.
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1,
                                  "ENABLE_CPU_PINNING": False}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        identity = json.dumps([model_id or str(path), list(input_shape), precision,
                               plan.fp32_islands if plan else None, threads, ov.__version__])
        blobs = (cache_dir / hashlib.sha256(identity.encode()).hexdigest()[:24]
                 if cache_dir is not None and model_id else None)
        try:
            layout = self._imported(core, blobs, config) if blobs else None
            if layout is None:
                layout = self._compiled_now(core, path, input_shape, precision, plan, config)
                if blobs is not None:
                    self._export(blobs, layout)
        except ModelError:
            raise
        except Exception as exc:  # OpenVINO raises untyped errors for graphs it cannot take
            raise ModelError(f"OpenVINO could not compile {path.name}: {exc}") from exc
        self._compiled, self._input, self._final = layout
        self._local = threading.local()

    def _compiled_now(self, core: Any, path: Path, input_shape: Sequence[int], precision: str,
                      plan: PrecisionPlan | None, config: dict[str, Any]) -> _Layout:
        whole = _static_model(core, path, input_shape)
        first = _key(whole.inputs[0])
        final = _key(whole.outputs[0].get_node().input(0).get_source_output())
        cuts = self._cuts(whole, precision, plan)
        compiled = []
        for start, stop, prec in cuts:
            if len(cuts) == 1:
                model, inputs, outputs = whole, [first], [final]
            else:
                segment = _Segment(core, path, input_shape, start, stop, final)
                model, inputs, outputs = segment.model, segment.inputs, segment.outputs
            compiled.append((core.compile_model(model, "CPU", {**config,
                                                               "INFERENCE_PRECISION_HINT": prec}),
                             inputs, outputs, prec))
        return compiled, first, final

    @staticmethod
    def _export(folder: Path, layout: _Layout) -> None:
        """Write the compiled segments and how they connect; a failed write costs nothing."""
        compiled, first, final = layout
        temp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
        try:
            temp.mkdir(parents=True, exist_ok=True)
            segments = []
            for i, (model, inputs, outputs, precision) in enumerate(compiled):
                blob = model.export_model()  # a BytesIO in recent releases, bytes before
                (temp / f"{i}.blob").write_bytes(blob.getvalue() if hasattr(blob, "getvalue")
                                                 else blob)
                segments.append({"inputs": inputs, "outputs": outputs, "precision": precision})
            (temp / "layout.json").write_text(json.dumps(
                {"segments": segments, "input": first, "final": final}))
            temp.rename(folder)
        except Exception:
            shutil.rmtree(temp, ignore_errors=True)

    @staticmethod
    def _imported(core: Any, folder: Path, config: dict[str, Any]) -> _Layout | None:
        try:
            layout = json.loads((folder / "layout.json").read_text())
            # The precision must be named again: an import takes the CPU's default otherwise
            # (bf16 where the CPU has it), whatever the blob was compiled with.
            compiled = [(core.import_model((folder / f"{i}.blob").read_bytes(), "CPU", {
                             **config, "INFERENCE_PRECISION_HINT": segment["precision"]}),
                         segment["inputs"], segment["outputs"], segment["precision"])
                        for i, segment in enumerate(layout["segments"])]
        except (OSError, ValueError, KeyError, RuntimeError):
            return None  # absent, partial or from another build: compile again
        return compiled, layout["input"], layout["final"]

    @property
    def threads(self) -> int:
        """Inference threads as OpenVINO holds them."""
        return int(self._compiled[0][0].get_property("INFERENCE_NUM_THREADS"))

    @staticmethod
    def _cuts(model: Any, precision: str, plan: PrecisionPlan | None) -> list[tuple[int, int, str]]:
        """``(start, stop, precision)`` runs of compute ops: one run unless bf16 has islands."""
        ops = _compute_ops(model)
        if precision != "bf16" or plan is None or not plan.fp32_islands:
            return [(0, len(ops), {"fp32": "f32", "bf16": "bf16"}[precision])]
        index = {op.get_friendly_name(): i for i, op in enumerate(ops)}
        marks = [0]
        for first, last in plan.fp32_islands:
            if first not in index or last not in index:
                raise ModelError(f"precision plan names layers the model lacks: {first}, {last}")
            marks += [index[first], index[last] + 1]
        marks.append(len(ops))
        return [(a, b, "bf16" if i % 2 == 0 else "f32")
                for i, (a, b) in enumerate(itertools.pairwise(marks)) if b > a]

    def _chain(self) -> list[Any]:
        """This thread's infer requests, the later ones reading the earlier ones' output
        tensors in place (bound once, so a run copies only the image in and the matte out)."""
        chain: list[Any] | None = getattr(self._local, "chain", None)
        if chain is None:
            chain = []
            made: dict[str, Any] = {}
            for compiled, inputs, outputs, _ in self._compiled:
                request = compiled.create_infer_request()
                for i, key in enumerate(inputs):
                    if key in made:
                        request.set_input_tensor(i, made[key])
                for i, key in enumerate(outputs):
                    made[key] = request.get_output_tensor(i)
                entry = inputs.index(self._input) if self._input in inputs else None
                chain.append((request, entry))
            self._local.chain = chain
            self._local.result = made[self._final]
        return chain

    def run(self, batch: np.ndarray) -> np.ndarray:
        import openvino as ov

        image = ov.Tensor(batch, shared_memory=True)
        for request, entry in self._chain():
            if entry is not None:
                request.set_input_tensor(entry, image)
            request.infer()
        return np.array(self._local.result.data, np.float32)
