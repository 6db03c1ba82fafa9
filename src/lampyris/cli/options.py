"""Command-line options shared by the file commands (``cutout``, ``auto-tone``, ``straighten``,
``edit``, ``fill``, ``expand``, ``composite``) and ``batch``: one definition, one help text."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import typer
from pydantic import ValidationError

from lampyris.cli.console import fail
from lampyris.workflows.naming import Naming


class Format(StrEnum):
    png = "png"
    webp = "webp"
    jpeg = "jpeg"
    psd = "psd"


class MirrorPass(StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


class Holes(StrEnum):
    auto = "auto"
    all = "all"
    off = "off"


class UprightMode(StrEnum):
    auto = "auto"
    level = "level"
    vertical = "vertical"
    full = "full"


OUTPUT = typer.Option(..., "--output", "-o", envvar="LAMPYRIS_OUTPUT",
                      help="Folder for the results; a folder input keeps its tree below it.")
FORMAT = typer.Option(Format.png, "--format", "-f",
                      help="Output format (psd: a Photoshop document of one layer).")
CUTOUT_FORMAT = typer.Option(
    Format.png, "--format", "-f",
    help="Output format (psd: Photoshop's Remove Background document, the photo with the "
    "cutout as its editable layer mask, over a layer of the --background colour if given).")
BATCH_FORMAT = typer.Option(
    Format.png, "--format", "-f",
    help="Output format (psd: with the cutout step alone, the photo with the cutout as its "
    "editable layer mask; after any other chain, a Photoshop document of one layer).")
SAME_FORMAT = typer.Option(
    None, "--format", "-f", show_default=False,
    help="Output format (default: the input's where it can be written: JPEG and WebP stay so, "
    "anything else becomes PNG; psd: a Photoshop document of one layer).")
NAMING = typer.Option(
    Naming.stem, "--naming",
    help="How outputs are named: stem (0020.jpg → 0020.png; two inputs that would share an "
    "output are refused before anything runs), keep-extension (0020.jpg → 0020.jpg.png) or "
    "number (the next input of one stem gets 0020-2.png).")
OVERWRITE = typer.Option(False, help="Replace existing outputs (default: skip them).")
KEEP_METADATA = typer.Option(False, help="Copy EXIF and XMP into the outputs.")
XMP = typer.Option(False, "--xmp", help="Also write the settings applied as <name>.xmp beside "
                   "each output, in Camera Raw's XMP (import it into Lightroom as a preset to "
                   "redo the edit on the original, or give it to `lampyris edit --preset`).")
UPRIGHT = typer.Option(
    UprightMode.auto, "--mode",
    help="Which lines to level: level (horizon), vertical (verticals), full (both), auto "
    "(both, only on clear evidence).")
CROP = typer.Option(True, "--crop/--no-crop",
                    help="Crop the empty corners the rotation leaves (default), or keep the "
                    "whole picture on a larger canvas (white, or transparent for RGBA).")
STRENGTH = typer.Option(1.0, "--strength", min=0.0, max=1.0,
                        help="How much of the chosen correction to apply (0..1).")
MOOD = typer.Option(
    False, "--mood",
    help="A photo look instead of the product default: colour pushed (vibrance, saturation) "
    "and casts under half a stop kept as mood. The default keeps a product's colour.")
CONSISTENT = typer.Option(
    False, "--consistent",
    help="One house look for the whole set: measure every input first, then tone each toward "
    "the set's common exposure and white balance instead of tuning it alone.")
LOOK_FILE = typer.Option(None, "--look-file", dir_okay=False,
                         help="Tone toward a look saved with --save-look (JSON).")
SAVE_LOOK = typer.Option(None, "--save-look", dir_okay=False,
                         help="Save the look used (measured or given) as JSON, to reuse with "
                         "--look-file next time.")
QUALITY = typer.Option(None, min=1, max=100, help="JPEG/WebP quality (default 90).")
LOSSLESS = typer.Option(False, help="Lossless WebP.")
MASK_ONLY = typer.Option(False, "--mask-only", help="Write the greyscale mask only.")
BINARY = typer.Option(False, "--binary", help="Hard 0/255 mask instead of a soft one.")
BACKGROUND = typer.Option(
    None, "--background", "-b",
    help="Composite on a colour: white, '#f5f5f5', '255,255,255' or with alpha '#ffffff80'.")
TRIM = typer.Option(False, help="Crop to the subject.")
PADDING = typer.Option(None, help="Margin around the subject: pixels ('40') or percent ('5%': "
                       "of the subject, or of the canvas).")
CANVAS = typer.Option(None, help="Fixed output size WxH, subject fitted and centred "
                      "(implies --trim).")
SHADOW = typer.Option(False, help="Soft contact/drop shadow under the subject.")
SHADOW_OPACITY = typer.Option(0.45, min=0.0, max=1.0, help="Shadow strength.")
DECONTAMINATE = typer.Option(
    None, min=0.0, max=1.0, show_default=False,
    help="Remove the old background's colour spill from edges (0-1; default: 1 when the "
    "subject goes onto a --background, a --canvas or a fill, else 0).")
HOLES = typer.Option(
    Holes.auto, "--holes",
    help="Open the gaps of see-through subjects (wicker, a chair's back) that the model "
    "filled: auto where they show a coloured ground, all on white/grey/black grounds too "
    "(may clear a label the sweep's colour), off.")
MAX_UPSCALE = typer.Option(
    1.0, "--max-upscale", min=1.0, max=64.0,
    help="Enlarge a small subject at most this much to fill the --canvas (1: never; a subject "
    "left smaller is reported).")
MODEL = typer.Option("u2netp", "--model", "-m", envvar="LAMPYRIS_MODEL",
                     help="Model name (see `lampyris models list`) or an .onnx path.")
MIRROR_PASS = typer.Option(
    MirrorPass.auto, help="Second, mirrored model pass averaged in: auto runs it only when the "
    "first pass is unsure; always is best quality, never is fastest.")
JOBS = typer.Option(0, "--jobs", "-j", min=0, envvar="LAMPYRIS_JOBS",
                    help="Worker processes (0: one per core).")
REPORT = typer.Option(None, "--report", dir_okay=False, show_default=False,
                      help="Also write the run's HTML report here (counts, failures, notices, "
                      "before/after thumbnails).")
LEDGER = typer.Option(
    None, "--ledger", dir_okay=False, show_default=False,
    help="Keep the run's ledger (SQLite) here, so a re-run skips what it records as done with "
    "the same settings, even with --overwrite (default: none kept).")
SUMMARY = typer.Option(None, "--summary", dir_okay=False, show_default=False,
                       help="Also write the run's JSON summary here (counts, failures, and every "
                       "result worst first with its review).")

REVIEW_THRESHOLD = typer.Option(
    None, "--review-threshold", min=0.0, max=1.0, show_default=False,
    help="Flag results whose confidence score (0..1) is below this for a person to check "
    "(default: 0.5, imaging.confidence's REVIEW_THRESHOLD). Decides the flag only: the "
    "images are not redone when it changes.")
ON_REVIEW = typer.Option(
    "keep", "--on-review",
    help="Where flagged results go: keep (in the output folder, like the rest) or move:URL "
    "(written there instead, at the same relative path: a folder or fsspec URL).")


def check_format(format: str | None, *, keep_metadata: bool = False) -> None:
    """Refuse, before any input is read, what a format cannot hold: PSDs are written without
    the input's EXIF and XMP (``imaging.psd``), so ``--keep-metadata`` would be dropped."""
    if format == "psd" and keep_metadata:
        raise fail("--format psd does not carry EXIF or XMP: leave out --keep-metadata, or "
                   "use --format png, jpeg or webp to keep them")


def check_on_review(value: str) -> str:
    """``--on-review``: the batch runner's rule, as a ``typer.BadParameter``."""
    from lampyris.workflows.batch import check_on_review as check  # not at --help time

    try:
        return check(value)
    except ValueError:
        raise typer.BadParameter(f"--on-review is keep or move:URL, not {value!r}") from None


def cutout_params(
    *, model: str, mirror_pass: MirrorPass, mask_only: bool, binary: bool,
    decontaminate: float | None, background: str | None, trim: bool, padding: str | None,
    canvas: str | None, shadow: bool, shadow_opacity: float, max_upscale: float = 1.0,
    holes: str = "auto",
) -> dict[str, Any]:
    """The cutout op's parameters from the options, validated (``typer.BadParameter``)."""
    params: dict[str, Any] = {
        "model": model, "mirror_pass": mirror_pass.value, "mode": "mask" if mask_only else "cutout",
        "mask_format": "binary" if binary else "soft", "decontaminate": decontaminate,
        "background": background, "trim": trim, "padding": padding, "canvas": canvas,
        "shadow": shadow, "shadow_opacity": shadow_opacity, "max_upscale": max_upscale,
        "holes": holes,
    }
    if decontaminate is None:  # the op decides from where the subject goes
        del params["decontaminate"]
    try:
        from lampyris.ops.cutout import CutoutParams  # the ops load when a command runs

        CutoutParams.model_validate(params)
    except ValidationError as exc:
        raise typer.BadParameter(
            "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())) from None
    return params
