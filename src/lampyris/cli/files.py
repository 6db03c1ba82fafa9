"""Running one op over files, folders and globs into a folder: what every file command
(``cutout``, ``auto-tone``, ``straighten``, ``edit``, ``fill``, ``expand``, ``composite``)
shares: input expansion, output naming, the worker pool, the progress bar, the summary and
the exit codes (0 all done, 1 some file failed, 2 bad options).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from lampyris.cli.console import err as console
from lampyris.cli.console import fail
from lampyris.errors import InvalidParameterError, LampyrisError
from lampyris.imaging.encode import OutputFormat, extension
from lampyris.workflows.filejob import FileJob, FileResult
from lampyris.workflows.files import FileTask, InputProblem, expand_inputs, same_format
from lampyris.workflows.local import available_cores, run_batch
from lampyris.workflows.naming import Naming


def progress(label: str) -> Progress:
    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                    transient=False, disable=not console.is_terminal)  # a pipe gets the summary


def expand(inputs: list[str], output: Path, format: OutputFormat | None, naming: Naming, *,
           xmp: bool = False) -> tuple[list[FileTask], list[InputProblem]]:
    """Tasks for ``inputs`` under ``output``; ``format`` None keeps each input's format where
    it can be written (``same_format``). ``xmp``: each output has a ``.xmp`` sidecar, which
    must not clash either. Two inputs that would share an output (or a sidecar) stop the
    command here, before anything runs (exit 2), unless ``naming`` resolves it."""
    suffix: str | Callable[[Path], str] = (
        extension(format) if format is not None else (lambda name: extension(same_format(name))))
    try:
        return expand_inputs(inputs, output, suffix, naming=naming,
                             sidecar=".xmp" if xmp else None)
    except InvalidParameterError as exc:
        raise fail(str(exc)) from None


def run_files(label: str, tasks: list[FileTask], problems: list[InputProblem], job: FileJob,
              jobs: int) -> None:
    """Run ``job`` over ``tasks`` with a progress bar, print the summary, and exit 1 when a
    file failed or an input named nothing usable."""
    workers = min(jobs or available_cores(), max(1, len(tasks)))
    done = 0
    reported: list[FileResult] = []  # skipped, failed or with notices: batches are big
    start = time.perf_counter()
    try:
        with progress(label) as bar:
            task = bar.add_task(label, total=len(tasks))
            for result in run_batch(tasks, job, jobs=workers):
                if result.outcome == "done":
                    done += 1
                    if result.said:  # how it was made, as it is written
                        console.print(f"  [green]✓[/green] {escape(str(result.task.destination))}"
                                      f": {escape(result.said)}", highlight=False)
                if result.outcome != "done" or result.notices:
                    reported.append(result)
                bar.advance(task)
    except LampyrisError as exc:
        raise fail(str(exc)) from None
    _summary(done, reported, problems, time.perf_counter() - start)
    if problems or any(r.outcome == "failed" for r in reported):
        raise typer.Exit(1)


def _summary(
    done: int, reported: list[FileResult], problems: list[InputProblem], seconds: float
) -> None:
    skipped = [r for r in reported if r.outcome == "skipped"]
    failed = [r for r in reported if r.outcome == "failed"]
    rate = f", {done / seconds:.2f} images/s" if done and seconds > 0 else ""
    console.print(
        f"[green]done {done}[/green] · skipped {len(skipped)} · "
        f"[{'red' if failed or problems else 'green'}]failed {len(failed) + len(problems)}"
        f"[/] in {seconds:.1f} s{rate}"
    )
    for p in problems:
        console.print(f"  [red]✗[/red] {p.source}: {p.reason}")
    for r in failed:
        console.print(f"  [red]✗[/red] {r.task.source}: {r.reason}")
    # one line per input and notice: several seeds of one input share their prompt's words
    noticed = list(dict.fromkeys((r.task.source, n) for r in reported if r.outcome == "done"
                                 for n in r.notices))
    for source, notice in noticed[:20]:
        console.print(f"  [yellow]![/yellow] {source}: {notice}", highlight=False)
    if len(noticed) > 20:
        console.print(f"  … and {len(noticed) - 20} more notices")
