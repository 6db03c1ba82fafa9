"""``lampyris fill``, ``expand`` and ``composite``: the generative ops over files, folders and
globs, with one optional mask for every input and several seeded variations per input.

They run in this process, one image at a time, rather than in ``cutout``'s worker pool: the
procedural engines take well under a second, and the diffusion engine wants the one
accelerator to itself instead of a model copy per worker. Every output line names the engine
that drew it and whether the fidelity guard held (outside the mask, the input's exact pixels).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

import typer
from pydantic import ValidationError
from rich.markup import escape

from lampyris.cli import options
from lampyris.cli.files import console, expand, fail, progress
from lampyris.cli.options import Format
from lampyris.errors import LampyrisError
from lampyris.imaging.decode import DecodedImage, decode
from lampyris.imaging.encode import OutputFormat, encode
from lampyris.ops import CATALOG, run
from lampyris.workflows.filejob import write_atomic
from lampyris.workflows.files import FileTask, InputProblem

MAX_VARIATIONS = 16
MAX_SEED = 2**32 - 1


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
OPTION_NAMES = {"horizontal": "--align-x", "vertical": "--align-y"}


def _value(choice: StrEnum | None) -> str | None:
    return None if choice is None else choice.value


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


def run_generation(label: str, inputs: list[str], output: Path, job: Generation) -> None:
    """Run ``job`` over ``inputs`` into ``output`` with a progress bar, print a line per output
    and the summary, and exit 1 when an input or an output failed."""
    tasks, problems = expand(inputs, output, job.format)
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
    for seed, dest in todo:
        try:
            result = run(job.op, image, {**job.params, "seed": seed}, mask=job.mask)
            guard = result.metadata.get("fidelity", {})
            if not guard.get("held", False):
                tally.fail(task.source, f"seed {seed}: the fidelity guard did not hold "
                           f"({guard.get('changed_outside')} pixels changed outside the mask); "
                           "nothing written")
                continue
            write_atomic(dest, encode(result.pixels, job.format, quality=job.quality,
                                      lossless=job.lossless))
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


def _summary(tally: Tally, problems: list[InputProblem], seconds: float) -> None:
    failed = tally.failures + [(p.source, p.reason) for p in problems]
    console.print(
        f"[green]done {tally.done}[/green] · skipped {tally.skipped} · "
        f"[{'red' if failed else 'green'}]failed {len(failed)}[/] in {seconds:.1f} s")
    for source, reason in failed:
        console.print(f"  [red]✗[/red] {escape(source)}: {escape(reason)}")


def fill_command(
    inputs: list[str] = INPUTS,
    output: Path = options.OUTPUT,
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
) -> None:
    """Generative fill: redraw the masked area of every image (or a cutout's background); the
    rest stays the input's exact pixels.

    Usage: lampyris fill cutouts/ --prompt "white marble counter" --output filled/ -n 3
    """
    params = {"engine": engine.value, "prompt": prompt, "negative_prompt": negative_prompt,
              "invert_mask": invert_mask}
    job = generation("fill", params, seed=seed, variations=variations, mask=mask,
                     format=format, quality=quality, lossless=lossless, overwrite=overwrite)
    run_generation("fill", inputs, output, job)


def expand_command(
    inputs: list[str] = INPUTS,
    output: Path = options.OUTPUT,
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
) -> None:
    """Generative expand: put every image on a larger canvas and generate the new area around
    it. The picture itself is not redrawn: it is only shrunk when it does not fit the room the
    insets leave, and enlarged only when all four are given (then it fills that box).

    Usage: lampyris expand photos/ --size 1600x900 --align-x left --output wide/
    """
    params = {"engine": engine.value, "prompt": prompt, "negative_prompt": negative_prompt,
              "size": size, "top": top, "bottom": bottom, "left": left, "right": right,
              "horizontal": _value(align_x), "vertical": _value(align_y),
              "invert_mask": invert_mask}
    job = generation("expand", params, seed=seed, variations=variations, mask=mask,
                     format=format, quality=quality, lossless=lossless, overwrite=overwrite)
    run_generation("expand", inputs, output, job)


def composite_command(
    inputs: list[str] = INPUTS,
    output: Path = options.OUTPUT,
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
) -> None:
    """Object composite: the product of every image, trimmed and stood in a scene generated
    from the prompt. By default it is scaled to fill the lower middle of the frame; with some
    insets given it is only shrunk when it does not fit. The product itself is not redrawn.

    Usage: lampyris composite cutouts/ --prompt "sage green linen, soft light" --output scenes/
    """
    params = {"engine": engine.value, "prompt": prompt, "negative_prompt": negative_prompt,
              "size": size, "top": top, "bottom": bottom, "left": left, "right": right,
              "horizontal": _value(align_x), "vertical": _value(align_y), "model": model}
    job = generation("object_composite", params, seed=seed, variations=variations, mask=mask,
                     format=format, quality=quality, lossless=lossless, overwrite=overwrite)
    run_generation("composite", inputs, output, job)

