"""``lampyris cutout``: remove the background of files, folders or globs into a folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

from lampyris.cli import options
from lampyris.cli.console import fail
from lampyris.cli.options import Format, Holes, MirrorPass, check_on_review, cutout_params
from lampyris.workflows.naming import Naming

if TYPE_CHECKING:
    from lampyris.imaging.encode import OutputFormat


def cutout_command(
    inputs: list[str] = typer.Argument(..., help="Image files, folders (recursive) or globs."),
    output: Path = options.OUTPUT,
    naming: Naming = options.NAMING,
    format: Format = options.CUTOUT_FORMAT,
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
    decontaminate: float | None = options.DECONTAMINATE,
    max_upscale: float = options.MAX_UPSCALE,
    holes: Holes = options.HOLES,
    model: str = options.MODEL,
    mirror_pass: MirrorPass = options.MIRROR_PASS,
    jobs: int = options.JOBS,
    overwrite: bool = options.OVERWRITE,
    keep_metadata: bool = options.KEEP_METADATA,
    report: Path | None = options.REPORT,
    ledger: Path | None = options.LEDGER,
    summary: Path | None = options.SUMMARY,
    review_threshold: float | None = options.REVIEW_THRESHOLD,
    on_review: str = options.ON_REVIEW,
) -> None:
    """Remove backgrounds: every INPUT image becomes OUTPUT/<relative path stem>.<format>.

    Usage: lampyris cutout photos/ --output cutouts/ --trim --padding 5% --background white

    Every cutout gets a confidence score; those below --review-threshold are counted and
    listed for a person to check (--on-review move:check/ writes them there instead).

    --format psd writes Photoshop's Remove Background document: the photo as a layer with the
    cutout as its layer mask (refine it by hand), over a layer of the --background colour when
    one is given; it keeps the photo's frame (--trim crops both), so --padding, --canvas,
    --shadow, --decontaminate and --mask-only do not apply to it.
    """
    # Imported here, not above: help and argument errors need none of the pipeline.
    from lampyris.cli.file_commands import FileOptions, expand, run_files
    from lampyris.errors import InvalidParameterError
    from lampyris.ops.pipeline import OutputSpec
    from lampyris.workflows.steps import Step, layered_psd

    fmt = cast("OutputFormat", format.value)
    if fmt == "jpeg" and background is None and not mask_only:
        raise fail("JPEG has no transparency: add --background COLOUR (or use png/webp)")
    try:
        params = cutout_params(
            model=model, mirror_pass=mirror_pass, mask_only=mask_only, binary=binary,
            decontaminate=decontaminate, background=background, trim=trim, padding=padding,
            canvas=canvas, shadow=shadow, shadow_opacity=shadow_opacity,
            max_upscale=max_upscale, holes=holes.value,
        )
        check_on_review(on_review)
        # psd: the photo with the cutout's matte as its layer mask (the cutout in mask mode)
        (step,), spec = layered_psd([Step("cutout", params)], OutputSpec(fmt), cli=True)
    except (typer.BadParameter, InvalidParameterError) as exc:
        raise fail(str(exc)) from None

    run = FileOptions(fmt, quality, lossless, keep_metadata, overwrite=overwrite, jobs=jobs,
                      report=report, ledger=ledger, review_threshold=review_threshold,
                      on_review=on_review, summary=summary, layer_mask=spec.layer_mask,
                      flatten=spec.flatten)
    tasks, problems = expand(inputs, output, naming, run)
    run_files("cutout", step, tasks, problems, output, run, model=model)
