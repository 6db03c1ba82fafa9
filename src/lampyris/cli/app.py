"""The ``lampyris`` command: wires the command groups; holds no logic of its own."""

from __future__ import annotations

import typer

from lampyris import __version__
from lampyris.cli.batch import batch_command, run_command
from lampyris.cli.clients import clients_app
from lampyris.cli.console import set_debug
from lampyris.cli.cutout import cutout_command
from lampyris.cli.develop import auto_tone_command, edit_command, straighten_command
from lampyris.cli.errors import OneLineErrors
from lampyris.cli.fill import composite_command, expand_command, fill_command
from lampyris.cli.models import models_app
from lampyris.cli.serve import serve_command

app = typer.Typer(
    name="lampyris",
    cls=OneLineErrors,
    rich_markup_mode=None,
    help="Self-hosted image automation: background removal, auto tone, straightening, "
    "Lightroom presets and generative fill for whole folders, offline, and an "
    "Adobe-compatible server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("cutout")(cutout_command)
app.command("auto-tone")(auto_tone_command)
app.command("straighten")(straighten_command)
app.command("edit")(edit_command)
app.command("fill")(fill_command)
app.command("expand")(expand_command)
app.command("composite")(composite_command)
app.add_typer(models_app, name="models")
app.command("batch")(batch_command)
app.command("run")(run_command)
app.command("serve")(serve_command)
app.add_typer(clients_app, name="clients")


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
