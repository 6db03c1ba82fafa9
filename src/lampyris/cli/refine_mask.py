"""``lampyris refine-mask``: rough masks made to follow the photo's edges (Photoshop's
``/v1/refine-mask``), over files, folders and globs, through the same batch runner as every
file command.

The rough mask is one ``--mask`` for every input (the inputs' shape), or each input's own
transparency (a rough cutout); the output is the refined soft mask, or with
``--decontaminate`` the subject on transparency, its edges cleared of the old background.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

from lampyris.cli import options
from lampyris.cli.console import fail
from lampyris.cli.options import Format
from lampyris.workflows.naming import Naming

if TYPE_CHECKING:
    from lampyris.imaging.encode import OutputFormat


def refine_mask_command(
    inputs: list[str] = typer.Argument(..., help="Image files, folders (recursive) or globs."),
    output: Path = options.OUTPUT,
    naming: Naming = options.NAMING,
    mask: Path | None = typer.Option(
        None, "--mask", dir_okay=False, show_default=False,
        help="The rough mask (white = subject), one for every input, of the inputs' shape. "
        "Without it, each input's own transparency is the rough mask (a rough cutout)."),
    invert_mask: bool = typer.Option(False, "--invert-mask",
                                     help="Swap the mask's white and black."),
    radius: int | None = typer.Option(
        None, "--radius", min=1, max=1024, show_default=False,
        help="How far (pixels) the rough edge may be from the true one (default: 2% of the "
        "image's long side, at least 4)."),
    decontaminate: bool = typer.Option(
        False, "--decontaminate",
        help="Write the subject on transparency, its edge colours cleared of the old "
        "background, instead of the mask."),
    format: Format = options.FORMAT,
    overwrite: bool = options.OVERWRITE,
    jobs: int = options.JOBS,
    report: Path | None = options.REPORT,
    ledger: Path | None = options.LEDGER,
) -> None:
    """Refine masks: a rough mask of every image made to follow the photo's own edges, written
    as a soft mask (or the decontaminated subject).

    Usage: lampyris refine-mask photo.jpg --mask rough.png --output refined/
    """
    # Imported here, not above: help and argument errors need none of the runner.
    from lampyris.cli.file_commands import FileOptions, expand, run_files
    from lampyris.cli.generate import mask_image
    from lampyris.workflows.steps import Step

    fmt = cast("OutputFormat", format.value)
    if fmt == "jpeg" and decontaminate:
        raise fail("JPEG has no transparency: write the decontaminated subject as png or webp")
    params: dict[str, object] = {"decontaminate": decontaminate, "invert_mask": invert_mask}
    if radius is not None:
        params["radius"] = radius
    # another size of the same shape is resized by the op, so the runner does not refuse it
    images = () if mask is None else (mask_image(mask, sized_like_input=False),)
    run = FileOptions(fmt, lossless=fmt == "webp", overwrite=overwrite, jobs=jobs,
                      report=report, ledger=ledger)
    tasks, problems = expand(inputs, output, naming, run)
    run_files("refine-mask", Step("refine_mask", params), tasks, problems, output, run,
              images=images)
