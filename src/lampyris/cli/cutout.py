"""``lampyris cutout``: remove the background of files, folders or globs into a folder."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from lampyris.errors import LampyrisError
from lampyris.imaging.encode import OutputFormat, extension
from lampyris.ops.cutout import CutoutParams
from lampyris.workflows.filejob import FileJob, FileResult
from lampyris.workflows.files import InputProblem, expand_inputs
from lampyris.workflows.local import available_cores, run_batch

console = Console(stderr=True)


class Format(StrEnum):
    png = "png"
    webp = "webp"
    jpeg = "jpeg"


class MirrorPass(StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def cutout_command(
    inputs: list[str] = typer.Argument(..., help="Image files, folders (recursive) or globs."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the results; a folder "
                                "input keeps its tree below it.", envvar="LAMPYRIS_OUTPUT"),
    format: Format = typer.Option(Format.png, "--format", "-f", help="Output format."),
    quality: int | None = typer.Option(None, min=1, max=100,
                                       help="JPEG/WebP quality (default 90)."),
    lossless: bool = typer.Option(False, help="Lossless WebP."),
    mask_only: bool = typer.Option(False, "--mask-only", help="Write the greyscale mask only."),
    binary: bool = typer.Option(False, "--binary", help="Hard 0/255 mask instead of a soft one."),
    background: str | None = typer.Option(
        None, "--background", "-b",
        help="Composite on a colour: white, '#f5f5f5', '255,255,255' or with alpha '#ffffff80'."),
    trim: bool = typer.Option(False, help="Crop to the subject."),
    padding: str | None = typer.Option(None, help="Margin around the subject: pixels ('40') or "
                                       "percent ('5%': of the subject, or of the canvas)."),
    canvas: str | None = typer.Option(None, help="Fixed output size WxH, subject fitted and "
                                      "centred (implies --trim)."),
    shadow: bool = typer.Option(False, help="Soft contact/drop shadow under the subject."),
    shadow_opacity: float = typer.Option(0.45, min=0.0, max=1.0, help="Shadow strength."),
    decontaminate: float = typer.Option(0.0, min=0.0, max=1.0,
                                        help="Remove background colour spill from edges (0-1)."),
    model: str = typer.Option("u2netp", "--model", "-m", envvar="LAMPYRIS_MODEL",
                              help="Model name (see `lampyris models list`) or an .onnx path."),
    mirror_pass: MirrorPass = typer.Option(
        MirrorPass.auto, help="Second, mirrored model pass averaged in: auto runs it only when "
        "the first pass is unsure; always is best quality, never is fastest."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, envvar="LAMPYRIS_JOBS",
                             help="Worker processes (0: one per core)."),
    overwrite: bool = typer.Option(False, help="Replace existing outputs (default: skip them)."),
    keep_metadata: bool = typer.Option(False, help="Copy EXIF and XMP into the outputs."),
) -> None:
    """Remove backgrounds: every INPUT image becomes OUTPUT/<relative path>.<format>.

    Usage: lampyris cutout photos/ --output cutouts/ --trim --padding 5% --background white
    """
    fmt = cast(OutputFormat, format.value)
    if fmt == "jpeg" and background is None and not mask_only:
        raise _fail("JPEG has no transparency: add --background COLOUR (or use png/webp)")
    params: dict[str, Any] = {
        "model": model, "mirror_pass": mirror_pass.value, "mode": "mask" if mask_only else "cutout",
        "mask_format": "binary" if binary else "soft", "decontaminate": decontaminate,
        "background": background, "trim": trim, "padding": padding, "canvas": canvas,
        "shadow": shadow, "shadow_opacity": shadow_opacity,
    }
    try:
        CutoutParams.model_validate(params)
    except ValidationError as exc:
        raise _fail("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())) from None

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
