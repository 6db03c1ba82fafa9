"""The step chain: what ``make_steps`` accepts and refuses, the op calls it makes, and what the
fingerprint tracks."""

from __future__ import annotations

from typing import Any

import pytest

from lampyris.errors import InvalidParameterError
from lampyris.workflows.steps import (
    Call,
    OutputSpec,
    Step,
    check_output,
    execution,
    fingerprint,
    make_steps,
)


def test_cutout_with_valid_params_becomes_a_step() -> None:
    params = {"trim": True, "padding": "6%", "background": "white", "canvas": "300x200"}
    steps = make_steps([("cutout", params)])
    assert steps == [Step("cutout", params)]
    assert steps[0].op == "cutout"
    assert steps[0].params is not params  # the chain owns its copy


def test_an_empty_chain_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="at least one step"):
        make_steps([])


@pytest.mark.parametrize("name", ["resize", "cut-out", ""])
def test_an_unknown_step_is_named(name: str) -> None:
    with pytest.raises(InvalidParameterError, match=f"unknown step {name!r}: one of cutout, "
                       "auto_tone, straighten, edit, fill"):
        make_steps([("cutout", {}), (name, {})])


def test_fill_after_a_cutout_on_a_background_is_refused() -> None:
    """The fill step's own cases are in test_fill_step.py."""
    with pytest.raises(InvalidParameterError, match="step 'fill' fills a cutout's transparent"):
        make_steps([("cutout", {"background": "white"}), ("fill", {})])


@pytest.mark.parametrize(("name", "params", "op"), [
    ("auto_tone", {"strength": 0.5}, "auto_tone"),
    ("auto_tone", {"look": {"key": 0.5, "cast": [0.1, -0.1]}}, "auto_tone"),
    ("straighten", {"upright_mode": "level", "constrain_crop": False}, "auto_straighten"),
    ("edit", {"settings": {"exposure": 0.5}, "auto_tone": True}, "edit"),
])
def test_develop_steps_are_available(name: str, params: dict[str, Any], op: str) -> None:
    (step,) = make_steps([(name, params)])
    assert (step.name, step.op, step.params) == (name, op, params)


@pytest.mark.parametrize(("name", "params", "named"), [
    ("auto_tone", {"strength": 2}, "strength"),
    ("auto_tone", {"look": {"key": 1.5}}, "look.key"),
    ("straighten", {"upright_mode": "sideways"}, "upright_mode"),
    ("edit", {"settings": {"exposure": 9}}, "settings.exposure"),
])
def test_bad_develop_params_name_the_field(name: str, params: dict[str, Any],
                                           named: str) -> None:
    with pytest.raises(InvalidParameterError, match=rf"^step {name!r}: {named}: "):
        make_steps([(name, params)])


def test_a_malformed_preset_fails_the_chain_up_front() -> None:
    with pytest.raises(InvalidParameterError, match=r"step 'edit': preset 1: .*not well-formed"):
        make_steps([("edit", {"presets": ["<x:xmpmeta"]})])


def test_a_develop_step_after_a_mask_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"'auto_tone' needs colour.*mode: mask"):
        make_steps([("cutout", {"mode": "mask"}), ("auto_tone", {})])


@pytest.mark.parametrize("step", ["product_crop", "depth_blur", "refine_mask", "cutout", "edit"])
def test_every_step_that_reads_colour_refuses_a_mask_even_through_renditions(step: str) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{step}' needs colour.*mode: mask"):
        make_steps([("cutout", {"mode": "mask"}), ("rendition", {}), (step, {})])
    with pytest.raises(InvalidParameterError, match=rf"'{step}' needs colour.*refine_mask "
                                                    r"before it writes a mask"):
        make_steps([("refine_mask", {}), (step, {})])
    # the decontaminated subject is colour; a mask turned into colour by nothing stays refused
    assert [s.name for s in make_steps([("refine_mask", {"decontaminate": True}), (step, {})])
            ] == ["refine_mask", step]
    assert make_steps([("cutout", {"mode": "mask"}), ("rendition", {})])  # a mask, resized


@pytest.mark.parametrize(("chain", "refused"), [
    ([("cutout", {})], True),
    ([("cutout", {}), ("auto_tone", {})], True),
    ([("cutout", {}), ("straighten", {}), ("edit", {})], True),
    ([("cutout", {"background": "white"}), ("auto_tone", {})], False),
    ([("cutout", {"mode": "mask"})], False),
    ([("auto_tone", {})], False),
])
def test_jpeg_is_refused_while_the_result_has_transparency(
        chain: list[tuple[str, dict[str, Any]]], refused: bool) -> None:
    steps = make_steps(chain)
    check_output(steps, OutputSpec("png"))
    if refused:
        with pytest.raises(InvalidParameterError, match="JPEG has no transparency"):
            check_output(steps, OutputSpec("jpeg"))
    else:
        check_output(steps, OutputSpec("jpeg"))


def test_a_cutout_before_develop_steps_finishes_after_them() -> None:
    cutout = {"trim": True, "canvas": "300x300", "shadow": True, "background": "white"}
    steps = make_steps([("cutout", cutout), ("auto_tone", {}), ("straighten", {})])
    assert execution(steps) == [
        Call("cutout", "cutout", {"trim": True, "canvas": "300x300", "decontaminate": 1.0}),
        Call("auto_tone", "auto_tone", {}),
        Call("straighten", "auto_straighten", {}),
        Call("cutout", "finish", {"shadow": True, "background": "white", "grow": False}),
    ]
    assert steps[0].params == cutout  # the declared step (and its fingerprint) is unchanged


@pytest.mark.parametrize("chain", [
    [("cutout", {"background": "white"})],
    [("cutout", {}), ("auto_tone", {})],  # nothing to finish
    [("auto_tone", {}), ("cutout", {"shadow": True})],
])
def test_other_chains_run_one_call_per_step(chain: list[tuple[str, dict[str, Any]]]) -> None:
    steps = make_steps(chain)
    assert execution(steps) == [Call(s.name, s.op, s.params) for s in steps]


@pytest.mark.parametrize(("params", "named"), [
    ({"trim": "sometimes"}, "trim"),
    ({"decontaminate": 2.0}, "decontaminate"),
    ({"canvas": "huge"}, "canvas"),
    ({"background": "not-a-colour"}, "background"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_params_name_the_step_and_the_field(params: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidParameterError, match=rf"^step 'cutout': {named}: "):
        make_steps([("cutout", params)])


def _fp(params: dict[str, Any], output: OutputSpec | None = None) -> str:
    return fingerprint(make_steps([("cutout", params)]), output or OutputSpec())


def test_the_fingerprint_is_what_earlier_versions_wrote() -> None:
    """Ledgers outlive versions: a changed fingerprint would redo every file of a batch.
    These two were computed by the code before issue 15 gave OutputSpec more fields."""
    chain = make_steps([("cutout", {"trim": True, "background": "white"}), ("auto_tone", {})])
    assert fingerprint(chain, OutputSpec("jpeg", 85, False)) == "a37f0ce3e74ec4a1"
    assert fingerprint(make_steps([("cutout", {})]), OutputSpec()) == "0965299ef5892051"
    assert fingerprint(make_steps([("cutout", {})]), OutputSpec(png_compression=9)) != (
        "0965299ef5892051")


def test_the_fingerprint_is_stable_and_ignores_key_order() -> None:
    one = _fp({"trim": True, "background": "white", "padding": "4%"})
    assert one == _fp({"padding": "4%", "background": "white", "trim": True})
    assert len(one) == 16 and int(one, 16) >= 0


@pytest.mark.parametrize("params", [{"trim": False}, {"trim": True, "padding": "5%"},
                                    {"trim": True, "background": "white"}, {}])
def test_the_fingerprint_changes_with_any_parameter(params: dict[str, Any]) -> None:
    assert _fp({"trim": True}) != _fp(params)


@pytest.mark.parametrize("output", [OutputSpec("jpeg"), OutputSpec("webp"),
                                    OutputSpec("png", quality=80),
                                    OutputSpec("png", lossless=True)])
def test_the_fingerprint_changes_with_the_output(output: OutputSpec) -> None:
    assert _fp({}) != _fp({}, output)


def test_the_fingerprint_changes_with_the_chain() -> None:
    once = fingerprint(make_steps([("cutout", {})]), OutputSpec())
    twice = fingerprint(make_steps([("cutout", {}), ("cutout", {})]), OutputSpec())
    assert once != twice


@pytest.mark.parametrize(("fmt", "ext"), [("png", "png"), ("jpeg", "jpg"), ("webp", "webp")])
def test_output_extension(fmt: Any, ext: str) -> None:
    assert OutputSpec(fmt).extension == ext
