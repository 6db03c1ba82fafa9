"""``lampyris rendition``: Photoshop's renditionCreate for raster files: every input written at
each width and in each format asked for, ``<stem>-<width>.<ext>`` (``full`` for width 0)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

from lampyris.cli import options
from lampyris.cli.console import fail
from lampyris.cli.options import Format, check_format
from lampyris.workflows.naming import Naming

if TYPE_CHECKING:
    from lampyris.imaging.encode import OutputFormat

WIDTHS = typer.Option([0], "--width", "-w", min=0, max=32768,
                      help="A rendition width in pixels, the height following the aspect ratio "
                      "(0: full size); repeat for several.")
FORMATS = typer.Option([Format.jpeg], "--format", "-f",
                       help="A rendition format; repeat for several (each width in each; psd: a "
                       "Photoshop document of one layer).")


def rendition_command(
    inputs: list[str] = typer.Argument(..., help="Image files, folders (recursive) or globs."),
    output: Path = options.OUTPUT,
    widths: list[int] = WIDTHS,
    formats: list[Format] = FORMATS,
    naming: Naming = options.NAMING,
    quality: int | None = options.QUALITY,
    lossless: bool = options.LOSSLESS,
    jobs: int = options.JOBS,
    overwrite: bool = options.OVERWRITE,
    keep_metadata: bool = options.KEEP_METADATA,
) -> None:
    """Renditions: every INPUT image at each --width and in each --format, as
    OUTPUT/<stem>-<width>.<ext>.

    Usage: lampyris rendition shoot/ --output web/ -w 320 -w 1280 -w 0 -f jpeg -f webp
    """
    # Imported here, not above: help and argument errors need none of the pipeline.
    from lampyris.cli.file_commands import FileOptions, expand, run_files
    from lampyris.workflows.inputs import FileTask
    from lampyris.workflows.steps import Step

    sizes, kinds = list(dict.fromkeys(widths)), list(dict.fromkeys(formats))
    for kind in kinds:  # all refused before the first format runs
        check_format(kind.value, keep_metadata=keep_metadata)
    if len(sizes) * len(kinds) > 25:
        raise fail(f"{len(sizes)} widths x {len(kinds)} formats make more than 25 renditions "
                   "an input: ask for fewer")
    worst = 0
    for fmt_option in kinds:
        fmt = cast("OutputFormat", fmt_option.value)
        run = FileOptions(fmt, quality, lossless, keep_metadata, overwrite=overwrite, jobs=jobs)
        tasks, problems = expand(inputs, output, naming, run)
        for width in sizes:
            label = "full" if width == 0 else str(width)
            named = [FileTask(t.source, t.destination.with_name(
                f"{t.destination.stem}-{label}{t.destination.suffix}")) for t in tasks]
            try:
                run_files(f"rendition {label} {fmt}", Step("rendition", {"width": width}),
                          named, problems, output, run)
            except typer.Exit as exc:
                if exc.exit_code not in (0, 1):
                    raise
                worst = max(worst, exc.exit_code)
    if worst:
        raise typer.Exit(worst)
