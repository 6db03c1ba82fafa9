"""``lampyris cutout``: remove the background of files, folders or globs into a folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import cast

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from lampyris.cli import options
from lampyris.cli.options import Format, MirrorPass, cutout_params
from lampyris.errors import LampyrisError
from lampyris.imaging.encode import OutputFormat, extension
from lampyris.workflows.filejob import FileJob, FileResult
from lampyris.workflows.files import InputProblem, expand_inputs
from lampyris.workflows.local import available_cores, run_batch

console = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def cutout_command(
    inputs: list[str] = typer.Argument(..., help="Image files, folders (recursive) or globs."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the results; a folder "
                                "input keeps its tree below it.", envvar="LAMPYRIS_OUTPUT"),
    format: Format = options.FORMAT,
    quality: int | None = options.QUALITY,
    lossless: bool = options.LOSSLESS,
    mask_only: bool = options.MASK_ONLY,
    binary: bool = options.BINARY,
    background: str | None = options.BACKGROUND,
    trim: bool = options.TRIM,
    padding: str | None = options.PADDING,
    canvas: str | None = options.CANVAS,
    shadow: bool = options.SHADOW,
    shadow_opacity: float = options.SHADOW_OPACITY,
    decontaminate: float = options.DECONTAMINATE,
    model: str = options.MODEL,
    mirror_pass: MirrorPass = options.MIRROR_PASS,
    jobs: int = options.JOBS,
    overwrite: bool = typer.Option(False, help="Replace existing outputs (default: skip them)."),
    keep_metadata: bool = typer.Option(False, help="Copy EXIF and XMP into the outputs."),
) -> None:
    """Remove backgrounds: every INPUT image becomes OUTPUT/<relative path>.<format>.

    Usage: lampyris cutout photos/ --output cutouts/ --trim --padding 5% --background white
    """
    fmt = cast(OutputFormat, format.value)
    if fmt == "jpeg" and background is None and not mask_only:
        raise _fail("JPEG has no transparency: add --background COLOUR (or use png/webp)")
    try:
        params = cutout_params(
            model=model, mirror_pass=mirror_pass, mask_only=mask_only, binary=binary,
            decontaminate=decontaminate, background=background, trim=trim, padding=padding,
            canvas=canvas, shadow=shadow, shadow_opacity=shadow_opacity,
        )
    except typer.BadParameter as exc:
        raise _fail(str(exc)) from None

    tasks, problems = expand_inputs(inputs, output, extension(fmt))
    job = FileJob("cutout", params, fmt, quality, lossless, keep_metadata, overwrite)
    workers = min(jobs or available_cores(), max(1, len(tasks)))
    done = 0
    unfinished: list[FileResult] = []  # only skipped and failed files are kept: batches are big
    start = time.perf_counter()
    try:
        with Progress(TextColumn("[bold]cutout"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                      transient=False) as progress:
            bar = progress.add_task("cutout", total=len(tasks))
            for result in run_batch(tasks, job, jobs=workers):
                if result.outcome == "done":
                    done += 1
                else:
                    unfinished.append(result)
                progress.advance(bar)
    except LampyrisError as exc:
        raise _fail(str(exc)) from None
    _summary(done, unfinished, problems, time.perf_counter() - start)
    if problems or any(r.outcome == "failed" for r in unfinished):
        raise typer.Exit(1)


def _summary(
    done: int, unfinished: list[FileResult], problems: list[InputProblem], seconds: float
) -> None:
    skipped = [r for r in unfinished if r.outcome == "skipped"]
    failed = [r for r in unfinished if r.outcome == "failed"]
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
