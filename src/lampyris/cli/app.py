"""The ``lampyris`` command: wires the command groups; holds no logic of its own."""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from lampyris import __version__
from lampyris.cli.console import set_debug
from lampyris.cli.errors import OneLineErrors

COMMANDS: dict[str, tuple[str, str, str]] = {
    "cutout": ("cutout", "cutout_command",
               "Remove backgrounds: every INPUT image becomes "
               "OUTPUT/<relative path stem>.<format>."),
    "auto-tone": ("develop", "auto_tone_command",
                  "Lightroom-style Auto tone: exposure, contrast range, white balance and colour "
                  "chosen for each image, or toward one house look for the whole set "
                  "(--consistent)."),
    "straighten": ("develop", "straighten_command",
                   "Lightroom-style Upright: level the horizon and/or verticals by rotating out "
                   "the tilt the picture's lines show; images without clear lines are left as "
                   "they are."),
    "edit": ("develop", "edit_command",
             "Apply develop settings and Lightroom presets in Lightroom's order: straighten, "
             "presets, auto tone, then the settings given here."),
    "fill": ("fill", "fill_command",
             "Generative fill: redraw the masked area of every image (or a cutout's background); "
             "the rest stays the input's exact pixels."),
    "expand": ("fill", "expand_command",
               "Generative expand: put every image on a larger canvas and generate the new area "
               "around it."),
    "composite": ("fill", "composite_command",
                  "Object composite: the product of every image, trimmed and stood in a scene "
                  "generated from the prompt."),
    "crop": ("crop", "crop_command",
             "Product crop: every INPUT photo cropped to its subject plus padding, as "
             "Photoshop's productCrop does (the photo's own pixels, background kept)."),
    "rendition": ("rendition", "rendition_command",
                  "Renditions: every INPUT image at each --width and in each --format, as "
                  "OUTPUT/<stem>-<width>.<ext>."),
    "depth-blur": ("depth_blur", "depth_blur_command",
                   "Depth blur: keep every INPUT's subject sharp and blur its background, as "
                   "Photoshop's depthBlur does with focusSubject (no depth model: the subject "
                   "is the focus)."),
    "refine-mask": ("refine_mask", "refine_mask_command",
                    "Refine masks: a rough mask of every image made to follow the photo's own "
                    "edges, written as a soft mask (or the decontaminated subject)."),
    "batch": ("batch", "batch_command",
              "Run steps over every image of a folder or bucket, resumably; `batch status DST` "
              "shows what its ledger says."),
    "run": ("batch", "run_command",
            "Run a workflow file (source, steps, sink, naming, concurrency, backend)."),
    "serve": ("serve", "serve_command",
              "Serve Adobe's routes so existing Firefly Services scripts and Adobe's SDKs work by "
              "changing only the host: /ims/token/v3 (tokens), /sensei/* (cutout, mask), /v2/* "
              "(Photoshop remove background, edit; Firefly uploads), /v1/* (auto crop, refine "
              "mask, fill masked areas; Firefly's legacy fill and expand), /pie/psdService/* "
              "(product crop, renditions, depth blur), /v3/* (Firefly fill, expand, object "
              "composite, generate), /lrService/* (Lightroom auto tone, straighten, presets, "
              "edits), /files/* (signed result links), /console (the web console), /health and "
              "/metrics."),
    "models": ("models", "models_app", "List, pull and verify background-removal models."),
    "clients": ("clients", "clients_app", "Add, list and remove API clients (id + secret)."),
    "webhooks": ("webhooks", "webhooks_app",
                 "Check a webhook delivery's signature, and read the server's delivery log."),
}
"""Each command: its module under ``lampyris.cli``, the function or Typer app there, and the
summary ``lampyris --help`` shows (a test keeps it equal to the command's own). Modules load
only when their command runs: help and argument errors do not import numpy, OpenCV or the
server (``lampyris --help`` went from 1.1 s to well under 0.3 s)."""


def load_command(name: str) -> Any:
    """Import one command's module and build its click command, as Typer would have."""
    module, attribute, _ = COMMANDS[name]
    target = getattr(importlib.import_module(f"lampyris.cli.{module}"), attribute)
    # Built under a parent with the root's settings, as ``add_typer`` would: plain help.
    parent = typer.Typer(rich_markup_mode=None, add_completion=False,
                         pretty_exceptions_enable=False)
    parent.callback()(lambda: None)  # a group even for one command
    if isinstance(target, typer.Typer):
        parent.add_typer(target, name=name)
    else:
        parent.command(name)(target)
    group = typer.main.get_command(parent)
    assert isinstance(group, TyperGroup)
    return group.commands[name]


class Commands(OneLineErrors):
    """The ``lampyris`` group, whose commands are imported on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.commands[cmd_name] = load_command(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list from the summaries above, without importing any command."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, TyperCommand(name, help=summary).get_short_help_str(limit))
                for name, (_, _, summary) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="lampyris",
    cls=Commands,
    rich_markup_mode=None,
    help="Self-hosted image automation: background removal, auto tone, straightening, "
    "Lightroom presets and generative fill for whole folders, offline, and an "
    "Adobe-compatible server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lampyris {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", envvar="LAMPYRIS_DEBUG",
                               help="Show the traceback of an unexpected error."),
) -> None:
    """lampyris: remove backgrounds, auto-tone, straighten, edit, fill and expand images and
    folders, offline, with bundled models."""
    set_debug(debug)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
