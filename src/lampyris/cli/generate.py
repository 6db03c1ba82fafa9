"""What ``fill``, ``expand`` and ``composite`` add to the file commands: one optional mask
for every input, and one output per seed (``<stem>-<seed>.<ext>`` when there are several),
each an entry of its own in the same batch run (``cli.file_commands.run_files``). A fill
whose fidelity guard did not hold fails that output with the guard's reason; the other seeds
go on. Every output's review (``--review-threshold``, ``--on-review``) is ``cutout``'s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError

from lampyris.cli.console import fail
from lampyris.cli.options import check_on_review
from lampyris.errors import LampyrisError

if TYPE_CHECKING:
    from lampyris.cli.file_commands import FileOptions
    from lampyris.workflows.item import ExtraImage
    from lampyris.workflows.naming import Naming

MAX_SEED = 2**32 - 1
OPTION_NAMES = {"horizontal": "--align-x", "vertical": "--align-y"}


def generation(op: str, params: dict[str, Any], *, seed: int, variations: int,
               mask: Path | None) -> tuple[tuple[int, ...], tuple[ExtraImage, ...]]:
    """The seeds the options ask for and the mask every input gets, the parameters
    validated by the op's own model for every seed and the mask read (a bad option stops
    before any image is read: exit 2)."""
    # Imported here, not above: help and argument errors need none of the ops.
    from lampyris.ops import CATALOG

    seeds = tuple(range(seed, seed + variations))
    if seeds[-1] > MAX_SEED:
        raise fail(f"--seed {seed} with --variations {variations} passes the largest seed "
                   f"({MAX_SEED})")
    try:
        CATALOG[op].params.model_validate({**params, "seed": seeds[-1]})
    except ValidationError as exc:
        raise fail("; ".join(
            f"{OPTION_NAMES.get(str(e['loc'][0]), '--' + str(e['loc'][0]).replace('_', '-'))}: "
            f"{e['msg']}" for e in exc.errors())) from None
    if mask is None:
        return seeds, ()
    return seeds, (mask_image(mask, sized_like_input=op != "expand"),)


def mask_image(mask: Path, *, sized_like_input: bool) -> ExtraImage:
    """``--mask`` read once here, so a bad file is one usage error (exit 2), as the batch
    runner's extra image (``sized_like_input``: the runner refuses an input of another
    size; else the op resizes the mask itself)."""
    from lampyris.imaging.decode import decode
    from lampyris.storage.locations import local_file
    from lampyris.workflows.item import ExtraImage

    try:
        decode(mask)
        stamp = local_file(str(mask), "", os.stat(mask)).stamp
    except LampyrisError as exc:
        raise fail(f"--mask {mask}: {exc}") from None
    except OSError as exc:
        raise fail(f"--mask {mask}: {exc.strerror or exc}") from None
    return ExtraImage("mask", str(mask.resolve()), stamp, sized_like_input=sized_like_input)


def checked(on_review: str) -> str:
    """``--on-review`` as ``cutout`` checks it: a bad value is one usage error (exit 2)."""
    try:
        return check_on_review(on_review)
    except typer.BadParameter as exc:
        raise fail(str(exc)) from None


def run_generation(label: str, op: str, params: dict[str, Any], inputs: list[str],
                   output: Path, naming: Naming, seeds: tuple[int, ...],
                   images: tuple[ExtraImage, ...], options: FileOptions) -> None:
    """Run ``op`` over ``inputs`` into ``output`` (outputs named by ``naming``), once per
    seed; exit 1 when an output failed, 2 before anything runs when two inputs would share an
    output."""
    # Imported here, not above: help and argument errors need none of the runner.
    from lampyris.cli.file_commands import expand, run_files
    from lampyris.workflows.inputs import FileTask
    from lampyris.workflows.steps import Step

    tasks, problems = expand(inputs, output, naming, options)
    if len(seeds) > 1:
        tasks = [FileTask(t.source, t.destination.with_name(
                 f"{t.destination.stem}-{seed}{t.destination.suffix}"), seed, variation=True)
                 for t in tasks for seed in seeds]
    else:
        tasks = [FileTask(t.source, t.destination, seeds[0]) for t in tasks]
    run_files(label, Step(op, params), tasks, problems, output, options, images=images)
