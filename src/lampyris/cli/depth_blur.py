"""``lampyris depth-blur``: Photoshop's depth blur without a depth model: the subject the
cutout matte finds stays sharp, the background is blurred (and optionally hazed, warmed,
tinted, saturated, brightened or grained)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer
from pydantic import ValidationError

from lampyris.cli import options
from lampyris.cli.console import fail
from lampyris.cli.options import Format, MirrorPass
from lampyris.workflows.naming import Naming

if TYPE_CHECKING:
    from lampyris.imaging.encode import OutputFormat


def _amount(default: int, low: int, high: int, what: str) -> Any:
    return typer.Option(default, min=low, max=high, help=f"{what} ({low}..{high}).")


def depth_blur_command(
    inputs: list[str] = typer.Argument(..., help="Image files, folders (recursive) or globs."),
    output: Path = options.OUTPUT,
    naming: Naming = options.NAMING,
    blur_strength: int = _amount(50, 0, 100, "How much the background is blurred"),
    focal_range: int = _amount(0, 0, 100, "How far around the subject stays sharp"),
    haze: int = _amount(0, 0, 100, "Haze over the background"),
    temp: int = _amount(0, -50, 50, "Background warmth: negative cooler, positive warmer"),
    tint: int = _amount(0, -50, 50, "Background tint: negative green, positive magenta"),
    saturation: int = _amount(0, -50, 50, "Background saturation"),
    brightness: int = _amount(0, -50, 50, "Background brightness"),
    grain: int = _amount(0, 0, 100, "Film grain over the background"),
    format: Format | None = options.SAME_FORMAT,
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
    """Depth blur: keep every INPUT's subject sharp and blur its background, as Photoshop's
    depthBlur does with focusSubject (no depth model: the subject is the focus).

    Usage: lampyris depth-blur portraits/ --output blurred/ --blur-strength 70 --haze 10
    """
    # Imported here, not above: help and argument errors need none of the pipeline.
    from lampyris.cli.file_commands import FileOptions, expand, run_files
    from lampyris.ops.depth_blur import DepthBlurParams
    from lampyris.workflows.steps import Step

    params = {"focus_subject": True, "blur_strength": blur_strength, "focal_range": focal_range,
              "haze": haze, "temp": temp, "tint": tint, "saturation": saturation,
              "brightness": brightness, "grain": grain, "model": model,
              "mirror_pass": mirror_pass.value}
    try:
        DepthBlurParams.model_validate(params)
    except ValidationError as exc:
        raise fail(f"invalid options: {exc.errors()[0]['msg']}") from None
    fmt = cast("OutputFormat | None", format.value if format is not None else None)
    run = FileOptions(fmt, quality, lossless, keep_metadata, overwrite=overwrite, jobs=jobs,
                      report=report, ledger=ledger)
    tasks, problems = expand(inputs, output, naming, run)
    run_files("depth-blur", Step("depth_blur", params), tasks, problems, output, run,
              model=model)
