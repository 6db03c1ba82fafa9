"""``lampyris auto-tone``, ``straighten`` and ``edit``: Lightroom's develop ops over files,
folders and globs, through the same file machinery as ``cutout``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast, get_args

import typer
from pydantic import ValidationError

from lampyris.cli import options
from lampyris.cli.console import err as console
from lampyris.cli.console import fail, progress_bar
from lampyris.cli.options import Format, UprightMode
from lampyris.errors import InvalidParameterError
from lampyris.imaging.tone_settings import ToneSettings, WhiteBalance
from lampyris.workflows.naming import Naming

if TYPE_CHECKING:
    from lampyris.imaging.encode import OutputFormat

INPUTS = typer.Argument(..., help="Image files, folders (recursive) or globs.")
MAX_PRESETS = 10  # EditParams' limit


def _format(format: Format | None) -> OutputFormat | None:
    return None if format is None else cast("OutputFormat", format.value)


def auto_tone_command(
    inputs: list[str] = INPUTS,
    output: Path = options.OUTPUT,
    naming: Naming = options.NAMING,
    strength: float = options.STRENGTH,
    mood: bool = options.MOOD,
    consistent: bool = options.CONSISTENT,
    look: float | None = typer.Option(
        None, "--look", metavar="KEY", show_default=False,
        help="Tone toward this median lightness (between 0.05 and 0.95, sRGB-encoded: "
        "mid-grey is 0.46) with a neutral white balance, measuring nothing."),
    look_file: Path | None = options.LOOK_FILE,
    save_look: Path | None = options.SAVE_LOOK,
    format: Format | None = options.SAME_FORMAT,
    quality: int | None = options.QUALITY,
    lossless: bool = options.LOSSLESS,
    xmp: bool = options.XMP,
    jobs: int = options.JOBS,
    overwrite: bool = options.OVERWRITE,
    keep_metadata: bool = options.KEEP_METADATA,
    report: Path | None = options.REPORT,
    ledger: Path | None = options.LEDGER,
) -> None:
    """Lightroom-style Auto tone: exposure, contrast range, white balance and colour chosen
    for each image, or toward one house look for the whole set (--consistent).

    Usage: lampyris auto-tone shoot/ --output toned/ --consistent --save-look spring.json
    """
    # Imported here, not above: help and argument errors need none of the pipeline.
    from lampyris.cli.file_commands import FileOptions, expand, run_files
    from lampyris.imaging.autotone import HouseLook
    from lampyris.workflows.look import describe, measure_files, read_look, write_look
    from lampyris.workflows.steps import Step

    if sum((consistent, look is not None, look_file is not None)) > 1:
        raise fail("--consistent, --look and --look-file are alternatives: give one")
    if save_look is not None and not (consistent or look is not None or look_file):
        raise fail("--save-look needs a look: --consistent, --look or --look-file")
    house: HouseLook | None = None
    try:
        if look_file is not None:
            house = read_look(look_file)
        elif look is not None:
            house = HouseLook(key=look)
    except InvalidParameterError as exc:
        raise fail(str(exc)) from None
    except ValidationError:
        raise fail(f"--look: the key is a lightness between 0.05 and 0.95, not {look}") from None

    run = FileOptions(_format(format), quality, lossless, keep_metadata, xmp, overwrite, jobs,
                      report, ledger)
    tasks, problems = expand(inputs, output, naming, run)
    images = 0
    if consistent and tasks:
        with progress_bar("measure") as bar:
            task = bar.add_task("measure", total=len(tasks))
            house, images = measure_files([t.source for t in tasks],
                                          tick=lambda: bar.advance(task))
        if house is None:
            console.print("[yellow]no input could be read to measure a house look[/yellow]")
    if house is not None:
        where = f" (measured over {images} image(s))" if consistent else ""
        console.print(f"house look: {describe(house)}{where}")
        if save_look is not None:
            write_look(save_look, house, **({"images": images} if consistent else {}))
            console.print(f"look saved to {save_look}")
    params: dict[str, Any] = {"strength": strength, **({"mood": True} if mood else {})}
    if house is not None:
        params["look"] = house.model_dump(mode="json")
    run_files("auto-tone", Step("auto_tone", params), tasks, problems, output, run)


def straighten_command(
    inputs: list[str] = INPUTS,
    output: Path = options.OUTPUT,
    naming: Naming = options.NAMING,
    mode: UprightMode = options.UPRIGHT,
    crop: bool = options.CROP,
    format: Format | None = options.SAME_FORMAT,
    quality: int | None = options.QUALITY,
    lossless: bool = options.LOSSLESS,
    jobs: int = options.JOBS,
    overwrite: bool = options.OVERWRITE,
    keep_metadata: bool = options.KEEP_METADATA,
    report: Path | None = options.REPORT,
    ledger: Path | None = options.LEDGER,
) -> None:
    """Lightroom-style Upright: level the horizon and/or verticals by rotating out the tilt the
    picture's lines show; images without clear lines are left as they are.

    Usage: lampyris straighten shoot/ --output level/ --mode level
    """
    # Imported here, not above: help and argument errors need none of the pipeline.
    from lampyris.cli.file_commands import FileOptions, expand, run_files
    from lampyris.workflows.steps import Step

    params = {"upright_mode": mode.value, "constrain_crop": crop}
    run = FileOptions(_format(format), quality, lossless, keep_metadata, overwrite=overwrite,
                      jobs=jobs, report=report, ledger=ledger)
    tasks, problems = expand(inputs, output, naming, run)
    run_files("straighten", Step("auto_straighten", params), tasks, problems, output, run)


def _range(name: str) -> str:
    """``-100..100`` from ToneSettings' own limits, so the help cannot drift from them."""
    low = high = None
    for rule in ToneSettings.model_fields[name].metadata:
        low = getattr(rule, "ge", low)
        high = getattr(rule, "le", high)
    return f"{low:g}..{high:g}"


def _slider(name: str, what: str) -> Any:
    return typer.Option(None, f"--{name.replace('_', '-')}", show_default=False,
                        help=f"{what} ({_range(name)}).", rich_help_panel="Settings")


_WHITE_BALANCES: tuple[str, ...] = get_args(WhiteBalance)


def _white_balance(name: str) -> str:
    """``as-shot``, ``As Shot``, ``daylight``… → Lightroom's spelling."""
    def plain(text: str) -> str:
        return re.sub(r"[\s_-]+", "", text).lower()

    for known in _WHITE_BALANCES:
        if plain(known) == plain(name):
            return known
    choices = ", ".join(k.lower().replace(" ", "-") for k in _WHITE_BALANCES)
    raise fail(f"--white-balance: {name!r} is not one of {choices}")


def _presets(paths: list[Path]) -> list[str]:
    """The presets' texts, each read and checked now: a bad one stops before any image."""
    from lampyris.imaging.xmp import read_preset  # not above: help and errors do without it

    texts = []
    for path in paths:
        try:
            data = path.read_bytes()
            preset = read_preset(data)
        except OSError as exc:
            raise fail(f"preset {path}: {exc.strerror or exc}") from None
        except InvalidParameterError as exc:
            reason = str(exc).removeprefix("preset: ")
            raise fail(f"preset {path}: {reason}") from None
        utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
        texts.append(data.decode("utf-16" if utf16 else "utf-8-sig"))
        if preset.unsupported:
            console.print(f"[yellow]preset {path}: not rendered by lampyris: "
                          f"{', '.join(preset.unsupported)}[/yellow]")
    return texts


def edit_command(
    inputs: list[str] = INPUTS,
    output: Path = options.OUTPUT,
    naming: Naming = options.NAMING,
    exposure: float | None = _slider("exposure", "Exposure in stops"),
    contrast: float | None = _slider("contrast", "Contrast"),
    highlights: float | None = _slider("highlights", "Highlights"),
    shadows: float | None = _slider("shadows", "Shadows"),
    whites: float | None = _slider("whites", "Whites"),
    blacks: float | None = _slider("blacks", "Blacks"),
    temperature: float | None = _slider("temperature", "Temperature: warmer when positive"),
    tint: float | None = _slider("tint", "Tint: more magenta when positive"),
    white_balance: str | None = typer.Option(
        None, "--white-balance", metavar="NAME", show_default=False, rich_help_panel="Settings",
        help="A white balance preset: as-shot, auto, daylight, cloudy, shade, tungsten, "
        "fluorescent, flash (custom: --temperature/--tint)."),
    vibrance: float | None = _slider("vibrance", "Vibrance"),
    saturation: float | None = _slider("saturation", "Saturation"),
    clarity: float | None = _slider("clarity", "Clarity"),
    dehaze: float | None = _slider("dehaze", "Dehaze"),
    texture: float | None = _slider("texture", "Texture"),
    vignette: float | None = _slider("vignette", "Post-crop vignette: darker when negative"),
    sharpness: float | None = _slider("sharpness", "Sharpening amount"),
    noise_reduction: float | None = _slider("noise_reduction", "Luminance noise reduction"),
    color_noise_reduction: float | None = _slider("color_noise_reduction",
                                                  "Colour noise reduction"),
    preset: list[Path] = typer.Option(
        [], "--preset", metavar="FILE.xmp", dir_okay=False, show_default=False,
        help="A Lightroom / Camera Raw XMP preset; repeat to apply several in order. The "
        "settings above override them."),
    auto_tone: bool = typer.Option(False, "--auto-tone",
                                   help="Start from Auto tone's settings (presets and the "
                                   "settings above override it)."),
    straighten: UprightMode | None = typer.Option(
        None, "--straighten", metavar="MODE", show_default=False,
        help="Straighten first: auto, level, vertical or full (see `lampyris straighten`)."),
    format: Format | None = options.SAME_FORMAT,
    quality: int | None = options.QUALITY,
    lossless: bool = options.LOSSLESS,
    xmp: bool = options.XMP,
    jobs: int = options.JOBS,
    overwrite: bool = options.OVERWRITE,
    keep_metadata: bool = options.KEEP_METADATA,
    report: Path | None = options.REPORT,
    ledger: Path | None = options.LEDGER,
) -> None:
    """Apply develop settings and Lightroom presets in Lightroom's order: straighten, presets,
    auto tone, then the settings given here.

    Usage: lampyris edit shoot/ --output edited/ --preset warm.xmp --exposure 0.3 --clarity 15
    """
    # Imported here, not above: help and argument errors need none of the pipeline.
    from lampyris.cli.file_commands import FileOptions, expand, run_files
    from lampyris.workflows.steps import Step

    given = {
        "exposure": exposure, "contrast": contrast, "highlights": highlights,
        "shadows": shadows, "whites": whites, "blacks": blacks, "temperature": temperature,
        "tint": tint, "vibrance": vibrance, "saturation": saturation, "clarity": clarity,
        "dehaze": dehaze, "texture": texture, "vignette": vignette, "sharpness": sharpness,
        "noise_reduction": noise_reduction, "color_noise_reduction": color_noise_reduction,
    }
    chosen: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if white_balance is not None:
        chosen["white_balance"] = _white_balance(white_balance)
    try:
        settings = ToneSettings.model_validate(chosen)
    except ValidationError as exc:
        raise fail("; ".join(f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}"
                             for e in exc.errors())) from None
    if len(preset) > MAX_PRESETS:
        raise fail(f"--preset: at most {MAX_PRESETS} presets")
    params: dict[str, Any] = {
        "settings": settings.changed(), "presets": _presets(preset), "auto_tone": auto_tone,
        "straighten": None if straighten is None else {"upright_mode": straighten.value},
    }
    run = FileOptions(_format(format), quality, lossless, keep_metadata, xmp, overwrite, jobs,
                      report, ledger)
    tasks, problems = expand(inputs, output, naming, run)
    run_files("edit", Step("edit", params), tasks, problems, output, run)
