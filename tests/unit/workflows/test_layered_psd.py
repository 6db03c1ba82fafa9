"""``format: psd`` of a lone cutout: Remove Background's layered document (the cutout in mask
mode, its matte the photo's layer mask), what it refuses before any input is read, and a
workflow file that asks for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lampyris.errors import InvalidParameterError
from lampyris.workflows.steps import OutputSpec, Step, fingerprint, layered_psd, make_steps
from lampyris.workflows.workflow import load_workflow


def test_a_lone_cutout_becomes_the_mask_under_the_photo() -> None:
    steps = make_steps([("cutout", {"trim": True, "background": "#20c02080",
                                    "shadow_opacity": 0.3, "mask_format": "binary"})])
    (step,), output = layered_psd(steps, OutputSpec("psd", quality=80))
    assert step == Step("cutout", {"trim": True, "mask_format": "binary", "mode": "mask"})
    assert output == OutputSpec("psd", quality=80, layer_mask=True,
                                flatten=(32, 192, 32, 128 / 255))


def test_no_background_is_no_background_layer() -> None:
    (step,), output = layered_psd([Step("cutout", {"decontaminate": 0})], OutputSpec("psd"))
    assert step.params == {"mode": "mask"} and output.layer_mask and output.flatten is None


@pytest.mark.parametrize(("chain", "fmt"), [
    ([("cutout", {})], "png"),  # not a PSD
    ([("cutout", {}), ("auto_tone", {})], "psd"),  # the toned pixels: one flat layer
    ([("auto_tone", {})], "psd"),
])
def test_anything_else_is_left_as_it_is(chain: list[tuple[str, dict[str, Any]]],
                                        fmt: str) -> None:
    steps = make_steps(chain)
    output = OutputSpec(fmt)  # type: ignore[arg-type]
    assert layered_psd(steps, output) == (steps, output)


@pytest.mark.parametrize(("params", "key", "option"), [
    ({"padding": "5%"}, "padding", "--padding"),
    ({"canvas": "300x300"}, "canvas", "--canvas"),
    ({"shadow": True}, "shadow", "--shadow"),
    ({"max_upscale": 2.0}, "max_upscale", "--max-upscale"),
    ({"decontaminate": 1.0}, "decontaminate", "--decontaminate"),
    ({"mode": "mask"}, "mode: mask", "--mask-only"),
])
def test_what_a_layer_mask_cannot_carry_is_refused_in_one_line(
        params: dict[str, Any], key: str, option: str) -> None:
    steps = make_steps([("cutout", params)])
    with pytest.raises(InvalidParameterError) as workflow:
        layered_psd(steps, OutputSpec("psd"))
    said = str(workflow.value)
    assert said.startswith("format: psd ") and key in said and "format: png" in said
    assert "\n" not in said
    with pytest.raises(InvalidParameterError) as command:
        layered_psd(steps, OutputSpec("psd"), cli=True)
    assert str(command.value).startswith("--format psd ") and option in str(command.value)


FLOW = """\
source: in
sink: out
steps:
  - cutout: {trim: true, background: white}
output: {format: psd}
"""


def test_a_workflow_file_writes_the_layered_document(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW)
    spec = load_workflow(path).batch_spec(tmp_path)
    assert spec.steps == (Step("cutout", {"trim": True, "mode": "mask"}),)
    assert spec.output.layer_mask and spec.output.flatten == (255, 255, 255, 1.0)
    assert spec.output.extension == "psd"
    flat = fingerprint(make_steps([("cutout", {"trim": True, "mode": "mask"})]),
                       OutputSpec("psd"))
    assert fingerprint(spec.steps, spec.output) != flat  # the layers are part of the result


@pytest.mark.parametrize(("change", "reason"), [
    ("padding: 6%", "so padding cannot apply"),
    ("mode: mask", "leave out mode: mask"),
])
def test_a_workflow_file_is_refused_before_anything_runs(tmp_path: Path, change: str,
                                                         reason: str) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW.replace("background: white", change))
    with pytest.raises(InvalidParameterError, match=reason):
        load_workflow(path).batch_spec(tmp_path)


def test_the_remote_backend_is_refused_for_the_layered_document(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW + "backend: remote\nremote: {client_id: a, client_secret: b}\n")
    with pytest.raises(InvalidParameterError, match="local and ray backends"):
        load_workflow(path).batch_spec(tmp_path)
