"""Running a generative op over files for ``fill``, ``expand`` and ``composite``: one
optional mask for every input, one output per seed, each checked against the fidelity guard
before it is written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import typer
from pydantic import ValidationError
from rich.markup import escape

from lampyris.cli.files import console, expand, fail, progress
from lampyris.cli.options import Format
from lampyris.errors import FidelityError, LampyrisError
from lampyris.imaging.decode import DecodedImage, decode
from lampyris.imaging.encode import OutputFormat, encode
from lampyris.ops import CATALOG, run
from lampyris.workflows.filejob import write_atomic
from lampyris.workflows.files import FileTask, InputProblem
from lampyris.workflows.naming import Naming

MAX_SEED = 2**32 - 1
OPTION_NAMES = {"horizontal": "--align-x", "vertical": "--align-y"}


@dataclass(frozen=True)
class Generation:
    """What to do to every input: op ``op`` with ``params`` once per seed, each result written
    as ``format``. ``mask_is_input_sized``: the mask must be the input's size (fill,
    composite), not the new canvas's (expand)."""

    op: str
    params: dict[str, Any]
    seeds: tuple[int, ...]
    mask: DecodedImage | None
    mask_is_input_sized: bool
    format: OutputFormat
    quality: int | None
    lossless: bool
    overwrite: bool

    def destination(self, task: FileTask, seed: int) -> Path:
        """``<stem>.<ext>`` for one variation, ``<stem>-<seed>.<ext>`` for several."""
        if len(self.seeds) == 1:
            return task.destination
        dest = task.destination
        return dest.with_name(f"{dest.stem}-{seed}{dest.suffix}")


@dataclass
class Tally:
    """Outputs written and skipped, and (input, reason) for what failed."""

    done: int = 0
    skipped: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, source: Path | str, reason: str) -> None:
        self.failures.append((str(source), reason))


def generation(op: str, params: dict[str, Any], *, seed: int, variations: int,
               mask: Path | None, format: Format, quality: int | None, lossless: bool,
               overwrite: bool) -> Generation:
    """The generation the options ask for, its parameters validated by the op's own model for
    every seed (a bad option stops before any image is read: exit 2)."""
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
    decoded: DecodedImage | None = None
    if mask is not None:
        try:
            decoded = decode(mask)
        except LampyrisError as exc:
            raise fail(f"--mask {mask}: {exc}") from None
        except OSError as exc:
            raise fail(f"--mask {mask}: {exc.strerror or exc}") from None
    return Generation(op, params, seeds, decoded, op != "expand",
                      cast(OutputFormat, format.value), quality, lossless, overwrite)


def run_generation(label: str, inputs: list[str], output: Path, naming: Naming,
                   job: Generation) -> None:
    """Run ``job`` over ``inputs`` into ``output`` (outputs named by ``naming``) with a
    progress bar, print a line per output and the summary, and exit 1 when an input or an
    output failed; exit 2 before anything runs when two inputs would share an output."""
    tasks, problems = expand(inputs, output, job.format, naming)
    tally = Tally()
    start = time.perf_counter()
    with progress(label) as bar:
        ticker = bar.add_task(label, total=len(tasks))
        for task in tasks:
            _one_input(task, job, tally)
            bar.advance(ticker)
    _summary(tally, problems, time.perf_counter() - start)
    if problems or tally.failures:
        raise typer.Exit(1)


def _one_input(task: FileTask, job: Generation, tally: Tally) -> None:
    todo = [(seed, job.destination(task, seed)) for seed in job.seeds]
    if not job.overwrite:
        tally.skipped += sum(dest.exists() for _, dest in todo)
        todo = [(seed, dest) for seed, dest in todo if not dest.exists()]
    if not todo:
        return
    try:
        image = decode(task.source)
    except LampyrisError as exc:
        return tally.fail(task.source, str(exc))
    except OSError as exc:
        return tally.fail(task.source, f"{exc.strerror or exc}")
    if job.mask is not None and job.mask_is_input_sized:
        (mh, mw), (h, w) = job.mask.pixels.shape[:2], image.pixels.shape[:2]
        if (mw, mh) != (w, h):
            return tally.fail(task.source, f"the mask is {mw}x{mh} but the image is {w}x{h}: "
                              "one --mask applies to every input, so they must be the same size")
    noted = False  # the prompt's unused words are the same for every seed: say them once
    for seed, dest in todo:
        try:
            result = run(job.op, image, {**job.params, "seed": seed}, mask=job.mask)
            write_atomic(dest, encode(result.pixels, job.format, quality=job.quality,
                                      lossless=job.lossless))
        except FidelityError as exc:  # this seed's fill; another seed may hold
            tally.fail(task.source, f"seed {seed}: {exc}")
            continue
        except LampyrisError as exc:
            tally.fail(task.source, str(exc))
            return  # the same problem for every seed
        except OSError as exc:
            tally.fail(dest, f"{exc.strerror or exc}")
            continue
        except MemoryError:
            tally.fail(task.source, "out of memory")
            return
        tally.done += 1
        console.print(f"  [green]✓[/green] {escape(str(dest))}: engine "
                      f"{result.metadata.get('engine')} · fidelity guard held")
        if not noted:
            noted = _note_unused_words(result.metadata)


def _note_unused_words(metadata: dict[str, Any]) -> bool:
    """One line naming the prompt words the engine did not draw (the studio engine reports
    them), so "palm trees" missing from a backdrop is said, not discovered. True once said."""
    words = metadata.get("unused_words")
    if not words:
        return False
    console.print(f"    [yellow]prompt words not used:[/yellow] {escape(', '.join(words))}")
    return True


def _summary(tally: Tally, problems: list[InputProblem], seconds: float) -> None:
    failed = tally.failures + [(p.source, p.reason) for p in problems]
    console.print(
        f"[green]done {tally.done}[/green] · skipped {tally.skipped} · "
        f"[{'red' if failed else 'green'}]failed {len(failed)}[/] in {seconds:.1f} s")
    for source, reason in failed:
        console.print(f"  [red]✗[/red] {escape(source)}: {escape(reason)}")
