"""Batch steps: the declared chain an image goes through, and the fingerprint of it.

A step is an op from the catalog with its parameters; the chain decodes once, runs each step
on the pixels in order, and encodes once.

A cutout followed by develop steps (``auto_tone``, ``straighten``, ``edit``) hands them its
transparent layer and finishes it (shadow, background) only after them, with the
``finish`` op: toning a cutout already on white would judge the exposure by the white and
grey it, and a shadow would set the black point. ``execution`` spells out those op calls.

``fill`` after a cutout draws a new background into the cutout's transparent area (the
``fill`` op takes a cutout's transparency as its mask), so it needs a cutout that keeps its
transparency: no background colour, no mask mode.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from lampyris.errors import InvalidParameterError
from lampyris.imaging.xmp import read_preset
from lampyris.ops import CATALOG
from lampyris.ops.cutout import CutoutParams, decontamination
from lampyris.ops.pipeline import Call, OutputSpec

# step name → op name
STEPS: dict[str, str] = {
    "cutout": "cutout", "auto_tone": "auto_tone", "straighten": "auto_straighten", "edit": "edit",
    "fill": "fill", "refine_mask": "refine_mask",
    "product_crop": "product_crop", "rendition": "rendition", "depth_blur": "depth_blur",
}
DEVELOP = frozenset({"auto_tone", "straighten", "edit"})  # keep alpha; need colour
NEEDS_COLOUR = DEVELOP | {"cutout", "refine_mask", "product_crop", "depth_blur"}
"""Steps that read the photo's colours: a mask before them is refused before any work."""
_FINISH = ("shadow", "shadow_opacity", "background")  # the cutout's, done after development


@dataclass(frozen=True)
class Step:
    """A step of the chain; a step named for a catalog op that is no batch step (a file
    command's ``expand``, ``object_composite``) runs that op."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def op(self) -> str:
        return STEPS.get(self.name, self.name)


def step_name(name: str) -> str:
    """A step's name in either spelling: ``auto-tone`` (the command's) is ``auto_tone``."""
    return name.strip().lower().replace("-", "_")


def make_steps(chain: list[tuple[str, dict[str, Any]]]) -> list[Step]:
    """Validate a chain: every step exists and its parameters pass the op's model."""
    if not chain:
        raise InvalidParameterError("a workflow needs at least one step")
    steps: list[Step] = []
    for given, params in chain:
        name = step_name(given)
        if name not in STEPS:
            raise InvalidParameterError(f"unknown step {given!r}: one of {', '.join(STEPS)}")
        try:
            CATALOG[STEPS[name]].params.model_validate(params)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                 for e in exc.errors())
            raise InvalidParameterError(f"step {name!r}: {problems}") from None
        if name == "edit":
            _check_presets(params.get("presets") or [])
        if name in NEEDS_COLOUR and (mask := mask_at_end(steps)):
            raise InvalidParameterError(f"step {name!r} needs colour, but {mask}")
        if name == "fill":
            _check_fill_source(steps)
        steps.append(Step(name, dict(params)))
    return steps


def _check_fill_source(before: Sequence[Step]) -> None:
    """A fill step fills transparency: the cutout it follows (develop steps and renditions in
    between keep alpha) must leave some, or every image would fail the same way later."""
    if mask := mask_at_end(before):
        raise InvalidParameterError(
            f"step 'fill' fills a cutout's transparent background, but {mask}")
    for step in reversed(before):
        if step.name in DEVELOP or step.name == "rendition":
            continue
        if step.name == "cutout" and step.params.get("background") is not None:
            raise InvalidParameterError(
                "step 'fill' fills a cutout's transparent background, but the cutout before it "
                "puts the subject on a background colour: leave out the cutout's background "
                "(the fill draws the new one)")
        return


def _check_presets(presets: list[str]) -> None:
    """A malformed preset fails the chain now, not every image later."""
    for number, text in enumerate(presets, 1):
        try:
            read_preset(text)
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"step 'edit': preset {number}: {exc}") from None


def _is_mask(step: Step) -> bool:
    return step.name == "cutout" and step.params.get("mode", "cutout") == "mask"


def mask_at_end(steps: Sequence[Step]) -> str | None:
    """What writes a greyscale mask at the end of ``steps`` (a rendition keeps it), said as
    a refusal says it; None when the chain ends in colour. The remote backend reads its result
    back as one channel where this is not None, as the local chain has it."""
    for step in reversed(steps):
        if step.name == "rendition":
            continue
        if _is_mask(step):
            return "the cutout before it writes a mask (mode: mask)"
        if step.name == "refine_mask" and not step.params.get("decontaminate"):
            return ("the refine_mask before it writes a mask (decontaminate: true gives the "
                    "subject in colour)")
        return None
    return None


def check_output(steps: Sequence[Step], output: OutputSpec) -> None:
    """Refuse, before any input is read, a chain whose result the format cannot hold: a
    cutout without a background, with only develop steps (which keep alpha) after it."""
    if output.format != "jpeg":
        return
    for step in reversed(steps):
        if step.name in DEVELOP:
            continue
        if (step.name == "cutout" and not _is_mask(step)
                and step.params.get("background") is None):
            raise InvalidParameterError(
                "JPEG has no transparency: give the cutout a background colour "
                "(--background), or write png/webp")
        return


def layered_psd(steps: Sequence[Step], output: OutputSpec, *, cli: bool = False
                ) -> tuple[list[Step], OutputSpec]:
    """A PSD of a lone cutout is Remove Background's layered document (the server's v2
    ``mode: psd``): the photo as a layer with the cutout's matte as its layer mask, so a
    retoucher can fix the mask, over a layer of the cutout's background colour when it has
    one. The cutout then runs in mask mode and keeps the photo's frame (a trim crops photo and
    mask alike); what would change the frame or the photo's pixels is refused here, one line,
    before any input is read. Any other chain's PSD is its result as one flat layer.
    ``cli``: the refusals name the command's options (``--padding``), else the step's keys."""
    if output.format != "psd" or output.layer_mask or [s.name for s in steps] != ["cutout"]:
        return list(steps), output
    params = dict(steps[0].params)

    def said(name: str) -> str:
        return f"--{name.replace('_', '-')}" if cli else name

    psd, png = ("--format psd", "--format png") if cli else ("format: psd", "format: png")
    if _is_mask(steps[0]):
        raise InvalidParameterError(
            f"{psd} already holds the mask, as the photo's layer mask: leave out "
            f"{'--mask-only' if cli else 'mode: mask'}, or use {png} for the mask alone")
    framing = {"padding": params.get("padding") is not None,
               "canvas": params.get("canvas") is not None, "shadow": bool(params.get("shadow")),
               "max_upscale": float(params.get("max_upscale", 1.0)) != 1.0}
    if clash := [said(name) for name, given in framing.items() if given]:
        raise InvalidParameterError(
            f"{psd} keeps the photo's frame under its layer mask, so {clash[0]} cannot apply: "
            f"leave out {clash[0]} ({said('trim')} works), or use {png} for it")
    if params.get("decontaminate"):
        raise InvalidParameterError(
            f"{psd} keeps the photo's own pixels in its layer, so {said('decontaminate')} "
            f"cannot apply: leave out {said('decontaminate')}, or use {png} for a "
            "decontaminated cutout")
    background = CutoutParams.model_validate(params).background
    for name in ("background", "decontaminate", "shadow", "shadow_opacity"):
        params.pop(name, None)
    return ([Step("cutout", {**params, "mode": "mask"})],
            replace(output, layer_mask=True, flatten=background))


def execution(steps: Sequence[Step]) -> list[Call]:
    """The op calls that run ``steps``: one per step, except that a cutout directly followed
    by develop steps finishes its layer (shadow, background) after them."""
    calls: list[Call] = []
    finish: Call | None = None
    for index, step in enumerate(steps):
        if finish is not None and step.name not in DEVELOP:
            calls.append(finish)
            finish = None
        params = dict(step.params)
        following = steps[index + 1] if index + 1 < len(steps) else None
        if (step.name == "cutout" and not _is_mask(step) and following is not None
                and following.name in DEVELOP
                and (params.get("shadow") or params.get("background") is not None)):
            if params.get("background") is not None:
                _decide_decontamination(params)  # before the background colour leaves
            kept = {k: params.pop(k) for k in _FINISH if k in params}
            kept["grow"] = params.get("canvas") is None
            finish = Call(step.name, "finish", kept)
        if step.name == "cutout" and _filled_later(steps, index):
            _decide_decontamination(params)
        calls.append(Call(step.name, step.op, params))
    if finish is not None:
        calls.append(finish)
    return calls


def _decide_decontamination(params: dict[str, Any]) -> None:
    """Fix the cutout's decontamination as if it composited itself: its background is about to
    be drawn by another call (a fill, or the finishing composite)."""
    if params.get("decontaminate") is None:
        params["decontaminate"] = decontamination(CutoutParams.model_validate(params),
                                                  composited=True)


def _filled_later(steps: Sequence[Step], index: int) -> bool:
    """A fill draws a new background behind the cutout at ``index`` (develop steps between
    them keep its transparency)."""
    for step in steps[index + 1:]:
        if step.name not in DEVELOP:
            return step.name == "fill"
    return False


_FINGERPRINTED = ("format", "quality", "lossless")  # what OutputSpec held when ledgers began


def _settings(output: OutputSpec) -> dict[str, Any]:
    default = OutputSpec()
    return {name: value for name, value in output.__dict__.items()
            if name in _FINGERPRINTED or value != getattr(default, name)}


def fingerprint(steps: Sequence[Step], output: OutputSpec,
                extra: dict[str, Any] | None = None) -> str:
    """Changes whenever the result would: any step, parameter or output setting, and
    ``extra`` (what else one input's result depends on: a file command's seed and mask).
    Output settings a batch did not have before (left at their defaults) and an empty
    ``extra`` stay out of it, so a ledger written by an earlier version still knows what it
    did."""
    data: dict[str, Any] = {"steps": [[s.name, s.params] for s in steps],
                            "output": _settings(output)}
    if extra:
        data["extra"] = extra
    blob = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
