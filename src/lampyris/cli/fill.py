"""``lampyris fill``, ``expand`` and ``composite``: the generative ops over files, folders and
globs, with one optional mask for every input and several seeded variations per input.

They run through the same batch runner as ``cutout`` (progress, summary, report, exit codes),
one image at a time in this process unless ``--jobs`` says otherwise: the procedural engines take
well under a second, and the diffusion engine wants the one accelerator to itself instead of
a model copy per worker. Every output line names the engine
that drew it and whether the fidelity guard held (outside the mask, the input's exact pixels);
when the studio engine could not draw some of the prompt's words, one more line names them.
Each output is scored as ``cutout``'s are (the guard's verdict, how much was generated):
``--review-threshold`` and ``--on-review move:URL`` work as there.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

from lampyris.cli import options
from lampyris.cli.generate import MAX_SEED, checked, generation, run_generation
from lampyris.cli.options import Format
from lampyris.workflows.naming import Naming

if TYPE_CHECKING:
    from lampyris.imaging.encode import OutputFormat

MAX_VARIATIONS = 16


class FillEngine(StrEnum):
    auto = "auto"
    studio = "studio"
    patch = "patch"
    diffusion = "diffusion"


class CompositeEngine(StrEnum):
    auto = "auto"
    studio = "studio"
    diffusion = "diffusion"


class AlignX(StrEnum):
    # upper-case names: ``center`` would shadow ``str.center``; the values are the choices
    CENTER = "center"
    LEFT = "left"
    RIGHT = "right"


class AlignY(StrEnum):
    CENTER = "center"
    TOP = "top"
    BOTTOM = "bottom"


INPUTS = typer.Argument(..., help="Image files, folders (recursive) or globs.")
VARIATIONS = typer.Option(
    1, "--variations", "-n", min=1, max=MAX_VARIATIONS,
    help="Outputs per input, drawn with seeds SEED, SEED+1, …; with more than one they are "
    "named <stem>-<seed>.<ext>.")
SEED = typer.Option(0, "--seed", min=0, max=MAX_SEED,
                    help="Seed of the first variation: the same seed gives the same image.")
JOBS = typer.Option(1, "--jobs", "-j", min=0, envvar="LAMPYRIS_GENERATE_JOBS",
                    help="Worker processes (0: one per core). One by default: the diffusion "
                    "engine wants the accelerator to itself.")
NEGATIVE_PROMPT = typer.Option("", "--negative-prompt",
                               help="What to keep out of the generated area (diffusion only).")
INVERT_MASK = typer.Option(False, "--invert-mask", help="Swap the mask's white and black.")
DIFFUSION = ("diffusion: an inpainting model, when the diffusion extra and its weights are "
             "installed (see docs/models.md)")
SIZE = "New canvas size WxH"
TOP = typer.Option(None, "--top", min=0, help="Pixels kept free above what is placed.")
BOTTOM = typer.Option(None, "--bottom", min=0, help="Pixels kept free below what is placed.")
LEFT = typer.Option(None, "--left", min=0, help="Pixels kept free left of what is placed.")
RIGHT = typer.Option(None, "--right", min=0, help="Pixels kept free right of what is placed.")
ALIGN_X = typer.Option(None, "--align-x", show_default=False,
                       help="Where it sits across the room left free (default: towards the "
                       "side of a lone --left or --right, else centred).")
ALIGN_Y = typer.Option(None, "--align-y", show_default=False,
                       help="Where it sits up and down the room left free (default: towards "
                       "the side of a lone --top or --bottom, else centred).")


def _value(choice: StrEnum | None) -> str | None:
    return None if choice is None else choice.value


def fill_command(
    inputs: list[str] = INPUTS,
    output: Path = options.OUTPUT,
    naming: Naming = options.NAMING,
    mask: Path | None = typer.Option(
        None, "--mask", dir_okay=False, show_default=False,
        help="What to fill: white = generate, black = keep; one mask for every input, the "
        "inputs' size. Without it, an input's transparent area is filled (a cutout)."),
    prompt: str = typer.Option("", "--prompt", "-p",
                               help="What to draw in the filled area (studio and diffusion; "
                               "patch continues the picture's own texture)."),
    engine: FillEngine = typer.Option(
        FillEngine.auto, "--engine",
        help="auto: studio when the area surrounds the subject (a new background), patch for "
        "a hole inside the picture; studio: a procedural backdrop from the prompt; patch: the "
        f"picture's own texture; {DIFFUSION}."),
    negative_prompt: str = NEGATIVE_PROMPT,
    invert_mask: bool = INVERT_MASK,
    variations: int = VARIATIONS,
    seed: int = SEED,
    format: Format = options.FORMAT,
    quality: int | None = options.QUALITY,
    lossless: bool = options.LOSSLESS,
    overwrite: bool = options.OVERWRITE,
    jobs: int = JOBS,
    report: Path | None = options.REPORT,
    ledger: Path | None = options.LEDGER,
    summary: Path | None = options.SUMMARY,
    review_threshold: float | None = options.REVIEW_THRESHOLD,
    on_review: str = options.ON_REVIEW,
) -> None:
    """Generative fill: redraw the masked area of every image (or a cutout's background); the
    rest stays the input's exact pixels.

    Usage: lampyris fill cutouts/ --prompt "white marble counter" --output filled/ -n 3
    """
    # Imported here, not above: help and argument errors need none of the runner.
    from lampyris.cli.file_commands import FileOptions

    params = {"engine": engine.value, "prompt": prompt, "negative_prompt": negative_prompt,
              "invert_mask": invert_mask}
    seeds, images = generation("fill", params, seed=seed, variations=variations, mask=mask)
    run = FileOptions(cast("OutputFormat", format.value), quality, lossless, overwrite=overwrite,
                      jobs=jobs, report=report, ledger=ledger, summary=summary,
                      review_threshold=review_threshold, on_review=checked(on_review))
    run_generation("fill", "fill", params, inputs, output, naming, seeds, images, run)


def expand_command(
    inputs: list[str] = INPUTS,
    output: Path = options.OUTPUT,
    naming: Naming = options.NAMING,
    size: str | None = typer.Option(None, "--size", metavar="WxH", show_default=False,
                                    help=f"{SIZE} (default: each side × 1.414; with --mask, "
                                    "the mask's size)."),
    top: int | None = TOP,
    bottom: int | None = BOTTOM,
    left: int | None = LEFT,
    right: int | None = RIGHT,
    align_x: AlignX | None = ALIGN_X,
    align_y: AlignY | None = ALIGN_Y,
    mask: Path | None = typer.Option(
        None, "--mask", dir_okay=False, show_default=False,
        help="A mask the size of the new canvas: the picture is fitted into its black area, "
        "the rest is generated (instead of the insets and alignment)."),
    invert_mask: bool = INVERT_MASK,
    prompt: str = typer.Option("", "--prompt", "-p",
                               help="What to draw in the new area (studio and diffusion)."),
    engine: FillEngine = typer.Option(
        FillEngine.auto, "--engine",
        help="auto: studio for a cutout (transparent input), patch (continue the photo's own "
        f"texture) for anything else; {DIFFUSION}."),
    negative_prompt: str = NEGATIVE_PROMPT,
    variations: int = VARIATIONS,
    seed: int = SEED,
    format: Format = options.FORMAT,
    quality: int | None = options.QUALITY,
    lossless: bool = options.LOSSLESS,
    overwrite: bool = options.OVERWRITE,
    jobs: int = JOBS,
    report: Path | None = options.REPORT,
    ledger: Path | None = options.LEDGER,
    summary: Path | None = options.SUMMARY,
    review_threshold: float | None = options.REVIEW_THRESHOLD,
    on_review: str = options.ON_REVIEW,
) -> None:
    """Generative expand: put every image on a larger canvas and generate the new area around
    it. The picture itself is not redrawn: it is only shrunk when it does not fit the room the
    insets leave, and enlarged only when all four are given (then it fills that box).

    Usage: lampyris expand photos/ --size 1600x900 --align-x left --output wide/
    """
    # Imported here, not above: help and argument errors need none of the runner.
    from lampyris.cli.file_commands import FileOptions

    params = {"engine": engine.value, "prompt": prompt, "negative_prompt": negative_prompt,
              "size": size, "top": top, "bottom": bottom, "left": left, "right": right,
              "horizontal": _value(align_x), "vertical": _value(align_y),
              "invert_mask": invert_mask}
    seeds, images = generation("expand", params, seed=seed, variations=variations, mask=mask)
    run = FileOptions(cast("OutputFormat", format.value), quality, lossless, overwrite=overwrite,
                      jobs=jobs, report=report, ledger=ledger, summary=summary,
                      review_threshold=review_threshold, on_review=checked(on_review))
    run_generation("expand", "expand", params, inputs, output, naming, seeds, images, run)


def composite_command(
    inputs: list[str] = INPUTS,
    output: Path = options.OUTPUT,
    naming: Naming = options.NAMING,
    prompt: str = typer.Option(..., "--prompt", "-p", help="The scene to put the product in."),
    size: str | None = typer.Option(None, "--size", metavar="WxH", show_default=False,
                                    help="Output size WxH (default: the input's)."),
    top: int | None = TOP,
    bottom: int | None = BOTTOM,
    left: int | None = LEFT,
    right: int | None = RIGHT,
    align_x: AlignX | None = ALIGN_X,
    align_y: AlignY | None = typer.Option(
        None, "--align-y", show_default=False,
        help="Where it sits up and down the room left free (default: without insets, bottom; "
        "else towards the side of a lone --top or --bottom, or centred)."),
    mask: Path | None = typer.Option(
        None, "--mask", dir_okay=False, show_default=False,
        help="The product: black = product, white = background; one mask for every input, "
        "the inputs' size. Without it: a cutout's opaque part, or what --model finds."),
    engine: CompositeEngine = typer.Option(
        CompositeEngine.auto, "--engine",
        help=f"auto and studio: a procedural scene from the prompt; {DIFFUSION}."),
    negative_prompt: str = NEGATIVE_PROMPT,
    model: str = typer.Option(
        "u2netp", "--model", "-m", envvar="LAMPYRIS_MODEL",
        help="Cutout model that finds the product in an opaque input without --mask: a name "
        "(see `lampyris models list`) or an .onnx path."),
    variations: int = VARIATIONS,
    seed: int = SEED,
    format: Format = options.FORMAT,
    quality: int | None = options.QUALITY,
    lossless: bool = options.LOSSLESS,
    overwrite: bool = options.OVERWRITE,
    jobs: int = JOBS,
    report: Path | None = options.REPORT,
    ledger: Path | None = options.LEDGER,
    summary: Path | None = options.SUMMARY,
    review_threshold: float | None = options.REVIEW_THRESHOLD,
    on_review: str = options.ON_REVIEW,
) -> None:
    """Object composite: the product of every image, trimmed and stood in a scene generated
    from the prompt. By default it is scaled to fill the lower middle of the frame; with some
    insets given it is only shrunk when it does not fit. The product itself is not redrawn.

    Usage: lampyris composite cutouts/ --prompt "sage green linen, soft light" --output scenes/
    """
    # Imported here, not above: help and argument errors need none of the runner.
    from lampyris.cli.file_commands import FileOptions

    params = {"engine": engine.value, "prompt": prompt, "negative_prompt": negative_prompt,
              "size": size, "top": top, "bottom": bottom, "left": left, "right": right,
              "horizontal": _value(align_x), "vertical": _value(align_y), "model": model}
    seeds, images = generation("object_composite", params, seed=seed, variations=variations,
                               mask=mask)
    run = FileOptions(cast("OutputFormat", format.value), quality, lossless, overwrite=overwrite,
                      jobs=jobs, report=report, ledger=ledger, summary=summary,
                      review_threshold=review_threshold, on_review=checked(on_review))
    run_generation("composite", "object_composite", params, inputs, output, naming, seeds,
                   images, run)

