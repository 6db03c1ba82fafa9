"""The house look for ``lampyris batch`` and ``lampyris run``: the options, and aiming a batch's
toning steps at a saved look or at the one kept in its ledger (measured on the first run)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lampyris.errors import InvalidParameterError
from lampyris.workflows.ledger import Ledger

if TYPE_CHECKING:
    from rich.console import Console

    from lampyris.imaging.autotone import HouseLook
    from lampyris.workflows.batch import BatchSpec
    from lampyris.workflows.workflow import WorkflowFile

DEFAULT_SAMPLE = 200
"""``workflows.look.DEFAULT_SAMPLE``, the --look-sample default: written out, as importing that
module loads numpy and the ops, which help and argument errors do without."""
PANEL = "Develop steps"
TONE_STRENGTH = typer.Option(1.0, min=0.0, max=1.0, rich_help_panel=PANEL,
                             help="auto_tone step: how much of the correction to apply (0..1).")
TONE_MOOD = typer.Option(False, "--tone-mood", rich_help_panel=PANEL,
                         help="auto_tone step: a photo look (colour pushed, mild casts kept) "
                         "instead of the product default.")
CONSISTENT = typer.Option(
    False, "--consistent", rich_help_panel=PANEL,
    help="auto_tone step: one house look for the whole source, measured first (on what the "
    "step sees: after a cutout, the subject) and kept in the ledger, so a resumed or repeated "
    "run tones toward the same look.")
REMEASURE = typer.Option(False, "--remeasure", rich_help_panel=PANEL,
                         help="--consistent: measure the house look again instead of reusing "
                         "the one kept in the ledger (a changed look redoes every image).")
LOOK_SAMPLE = typer.Option(DEFAULT_SAMPLE, min=0, rich_help_panel=PANEL,
                           help="--consistent measures at most this many inputs, spread evenly "
                           "over the source (0: all).")
LOOK_FILE = typer.Option(None, dir_okay=False, rich_help_panel=PANEL,
                         help="auto_tone step: tone toward a look saved with --save-look "
                         "(instead of --consistent).")
SAVE_LOOK = typer.Option(None, dir_okay=False, rich_help_panel=PANEL,
                         help="Save the house look used as JSON (for --look-file next time).")


def aim_at_house_look(spec: BatchSpec, workflow: WorkflowFile, ledger: Path, base: Path,
                      console: Console, *, remeasure: bool = False,
                      save_look: Path | None = None, dry: bool = False) -> BatchSpec:
    """The spec with its toning steps aimed at the house look: a saved one (``look_file``,
    relative to ``base``), or with ``consistent`` the one kept in ``ledger`` for this source
    and sink, measured now when there is none yet (or on ``remeasure``). A dry run measures
    nothing. Usage errors are InvalidParameterError."""
    # Imported here, not above: help and argument errors need none of the pipeline.
    from lampyris.workflows.look import describe, first_toning, read_look, with_look, write_look

    if workflow.consistent and workflow.look_file:
        raise InvalidParameterError("--consistent and --look-file are alternatives: give one")
    if not (workflow.consistent or workflow.look_file):
        if save_look is not None or remeasure:
            raise InvalidParameterError(
                "--save-look and --remeasure need --consistent (or a look file)")
        return spec
    first_toning(spec.steps)  # there is a step to aim
    look: HouseLook | None
    if workflow.look_file:
        look = read_look(base / workflow.look_file)
        console.print(f"house look: {describe(look)} (from {workflow.look_file})")
    elif dry:
        look = None if remeasure else _stored(spec, ledger)
        if look is None:
            console.print("house look: measured over the source when the run starts")
            return spec
        console.print(f"house look: {describe(look)} (kept in {ledger})")
    else:
        look = _measured(spec, workflow, ledger, console, remeasure=remeasure)
    if save_look is not None:
        write_look(save_look, look)
        console.print(f"look saved to {save_look}")
    return replace(spec, steps=with_look(spec.steps, look))


def _stored(spec: BatchSpec, path: Path) -> HouseLook | None:
    from lampyris.workflows.look import STATE, look_of

    if not path.exists():
        return None
    with Ledger(path) as ledger:
        stored = ledger.get_state(spec.source.url, spec.sink.url, STATE)
    try:
        return None if stored is None else look_of(stored)
    except InvalidParameterError:
        return None


def _measured(spec: BatchSpec, workflow: WorkflowFile, path: Path, console: Console, *,
              remeasure: bool) -> HouseLook:
    from lampyris.workflows.look import batch_look, describe

    with Ledger(path) as ledger, Progress(
            TextColumn("[bold]measure"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, transient=True,
            disable=not console.is_terminal) as progress:
        bar = progress.add_task("measure", total=None)
        chosen = batch_look(spec.source, spec.sink, spec.steps, ledger, remeasure=remeasure,
                            sample=workflow.look_sample,
                            on_listed=lambda n: progress.update(bar, total=n),
                            tick=lambda: progress.advance(bar))
    if chosen.measured:
        why = f"; {chosen.remeasured_because}" if chosen.remeasured_because else ""
        console.print(f"house look: {describe(chosen.look)} (measured over {chosen.images} "
                      f"image(s){why}; kept in {path}, reused until --remeasure)")
    else:
        console.print(f"house look: {describe(chosen.look)} (kept in {path} from an earlier "
                      f"run over {chosen.images} image(s); --remeasure to measure again)")
    return chosen.look
