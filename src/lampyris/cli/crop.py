"""``lampyris crop``: Photoshop's product crop on files, folders or globs: each photo cropped to
its subject (the cutout matte's box) with padding, in pixels or percent of the subject's box."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer
from pydantic import ValidationError

from lampyris.cli import options
from lampyris.cli.console import fail
from lampyris.cli.options import Format, MirrorPass
from lampyris.workflows.naming import Naming

if TYPE_CHECKING:
    from lampyris.imaging.encode import OutputFormat


class Unit(StrEnum):
    pixels = "pixels"
    percent = "percent"


def crop_command(
    inputs: list[str] = typer.Argument(..., help="Image files, folders (recursive) or globs."),
    output: Path = options.OUTPUT,
    naming: Naming = options.NAMING,
    width: int = typer.Option(0, "--width", min=0, help="Padding added to the subject's width, "
                              "in total (half each side)."),
    height: int = typer.Option(0, "--height", min=0, help="Padding added to the subject's "
                               "height, in total (half above, half below)."),
    unit: Unit = typer.Option(Unit.pixels, "--unit", help="Unit of --width and --height: "
                              "pixels, or percent of the subject's box."),
    background: str | None = typer.Option(
        None, "--background", help="Colour under padding past the photo's edge (default: "
        "transparent; white for JPEG)."),
    format: Format = options.FORMAT,
    quality: int | None = options.QUALITY,
    lossless: bool = options.LOSSLESS,
    model: str = options.MODEL,
    mirror_pass: MirrorPass = options.MIRROR_PASS,
    jobs: int = options.JOBS,
    overwrite: bool = options.OVERWRITE,
    keep_metadata: bool = options.KEEP_METADATA,
    report: Path | None = options.REPORT,
    ledger: Path | None = options.LEDGER,
) -> None:
    """Product crop: every INPUT photo cropped to its subject plus padding, as Photoshop's
    productCrop does (the photo's own pixels, background kept).

    Usage: lampyris crop shoot/ --output cropped/ --unit percent --width 10 --height 10
    """
    # Imported here, not above: help and argument errors need none of the pipeline.
    from lampyris.cli.file_commands import FileOptions, expand, run_files
    from lampyris.ops.product_crop import ProductCropParams
    from lampyris.workflows.steps import Step

    fmt = cast("OutputFormat", format.value)
    if fmt == "jpeg" and background is None:
        background = "white"  # JPEG has no transparency for padding past the edge
    params = {"unit": unit.value, "width": width, "height": height, "model": model,
              "mirror_pass": mirror_pass.value}
    if background is not None:
        params["background"] = background
    try:
        ProductCropParams.model_validate(params)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise fail(f"--{problem['loc'][0]}: {problem['msg']}") from None
    run = FileOptions(fmt, quality, lossless, keep_metadata, overwrite=overwrite, jobs=jobs,
                      report=report, ledger=ledger)
    tasks, problems = expand(inputs, output, naming, run)
    run_files("crop", Step("product_crop", params), tasks, problems, output, run, model=model)
