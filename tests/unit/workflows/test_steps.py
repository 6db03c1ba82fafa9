"""The step chain: what ``make_steps`` accepts and refuses, and what the fingerprint tracks."""

from __future__ import annotations

from typing import Any

import pytest

from lampyris.errors import InvalidParameterError
from lampyris.workflows.steps import OutputSpec, Step, fingerprint, make_steps


def test_cutout_with_valid_params_becomes_a_step() -> None:
    params = {"trim": True, "padding": "6%", "background": "white", "canvas": "300x200"}
    steps = make_steps([("cutout", params)])
    assert steps == [Step("cutout", params)]
    assert steps[0].op == "cutout"
    assert steps[0].params is not params  # the chain owns its copy


def test_an_empty_chain_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="at least one step"):
        make_steps([])


@pytest.mark.parametrize("name", ["resize", "Cutout", ""])
def test_an_unknown_step_is_named(name: str) -> None:
    with pytest.raises(InvalidParameterError, match=f"unknown step {name!r}: one of cutout"):
        make_steps([("cutout", {}), (name, {})])


@pytest.mark.parametrize(("name", "what"), [("fill", "generative fill"),
                                            ("auto_tone", "auto tone")])
def test_planned_steps_say_they_are_not_available(name: str, what: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        make_steps([("cutout", {}), (name, {})])
    message = str(caught.value)
    assert f"step {name!r} is not available in this version" in message
    assert what in message
    assert "available steps: cutout" in message


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
