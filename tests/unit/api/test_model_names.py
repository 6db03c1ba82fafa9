"""Over the API a model is a registry name or a file of the operator's model directory; any
other name gets one answer whatever the server's disk holds under it, and the job keeps the
parameters as validated, not as sent."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from lampyris.api.errors import ApiError
from lampyris.api.jobs_common import check_params, served_model
from lampyris.jobs import Task
from lampyris.models import REGISTRY, ModelStore
from lampyris.storage import StorageRef


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A model directory with one good model and one broken file, and ONNX files beside it."""
    root = tmp_path_factory.mktemp("disk")
    u2netp = ModelStore().locate(REGISTRY["u2netp"])
    assert u2netp is not None
    models, outside = root / "models", root / "outside"
    models.mkdir()
    outside.mkdir()
    shutil.copyfile(u2netp, models / "house.onnx")
    (models / "broken.onnx").write_text("not a network")
    shutil.copyfile(u2netp, outside / "secret.onnx")
    (outside / "sidecar.onnx").write_text("not a network")
    (outside / "sidecar.onnx.json").write_text(json.dumps({"normalisation": "LEAKED-VALUE"}))
    (models / "escape.onnx").symlink_to(outside / "secret.onnx")
    return {"models": models, "outside": outside}


def _refusal(name: str, model_dir: Path | None) -> str:
    with pytest.raises(ApiError) as info:
        served_model(name, model_dir)
    assert info.value.status == 400 and info.value.code == "validation_error"
    return info.value.message


def test_registry_names_and_model_dir_files_are_served(disk: dict[str, Path]) -> None:
    assert served_model("u2netp", None) == "u2netp"
    assert served_model("u2net", disk["models"]) == "u2net"
    assert served_model("house.onnx", disk["models"]) == str(
        (disk["models"] / "house.onnx").resolve())


def test_anything_else_gets_one_answer_whatever_the_file(disk: dict[str, Path]) -> None:
    outside = disk["outside"]
    names = [
        str(outside / "secret.onnx"),  # an existing ONNX file
        str(outside / "missing.onnx"),  # no such file
        str(outside / "sidecar.onnx"),  # a file whose .json sidecar would be read and echoed
        str(outside),  # a directory
        "/etc/passwd", "/proc/self/environ", f"/proc/{os.getpid()}/cmdline",
        "../outside/secret.onnx", "escape.onnx",  # out of the model dir, by path or by link
        str(disk["models"] / "house.onnx"), "./house.onnx",  # in it, but as a path
        "missing.onnx", "nope", "U2NETP", "~/.cache/lampyris/models/u2net.onnx",
    ]
    messages = {_refusal(name, disk["models"]).replace(repr(name), "<name>") for name in names}
    assert messages == {
        "invalid options: unknown model <name>: one of u2netp, u2net, broken.onnx, house.onnx"}
    # without a model directory, paths are refused the same way and only names are listed
    assert _refusal(str(outside / "secret.onnx"), None).endswith(": one of u2netp, u2net")


def _task(**params: object) -> Task:
    return Task(op="cutout", input=StorageRef("https://example.com/a.jpg", "external"),
                params=dict(params))


def test_the_job_keeps_the_validated_parameters(disk: dict[str, Path]) -> None:
    task = check_params(_task(mode="cutout", padding=" 6 % ", canvas="800X800",
                              background={"red": 255, "green": 255, "blue": 255, "alpha": 1}),
                        disk["models"])
    assert task.params == {"mode": "cutout", "padding": "6%", "canvas": [800, 800],
                           "background": [255, 255, 255, 1.0]}
    assert check_params(task).params == task.params  # it validates back to itself
    served = check_params(_task(model="house.onnx"), disk["models"])
    assert served.params == {"model": str((disk["models"] / "house.onnx").resolve())}


@pytest.mark.parametrize(("params", "words"), [
    ({"padding": "6000"}, "padding 6000 px makes an image of 12001x12001"),
    ({"padding": "1e9"}, "the limit is"),
    ({"padding": "501%"}, "at most 500%"),
    ({"canvas": "16384x16384"}, "canvas 16384x16384 makes an image"),
    ({"junk": "x" * 1000}, "junk: Extra inputs are not permitted"),
])
def test_unbounded_options_are_400s(params: dict[str, object], words: str) -> None:
    with pytest.raises(ApiError) as info:
        check_params(_task(**params))
    assert info.value.status == 400 and words in info.value.message


def test_a_broken_model_dir_file_does_not_show_the_directory(disk: dict[str, Path]) -> None:
    with pytest.raises(ApiError) as info:
        check_params(_task(model="broken.onnx"), disk["models"])
    assert info.value.status == 400
    assert "'broken.onnx' of the server's model directory cannot be loaded" in info.value.message
    assert str(disk["models"]) not in info.value.message
