"""How a command reports what went wrong: one line that says what to do, never a traceback,
unless ``--debug`` (or ``LAMPYRIS_DEBUG=1``) asks for one.

Commands catch the errors they expect and exit 2 with a reason (``console.fail``); this group
is the net under them, for anything that slips through (a library's exception at a seam not
yet translated, a bug): one line naming the error and the ``--debug`` flag, exit 1.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from lampyris.cli.console import debugging, err, print_traceback
from lampyris.errors import LampyrisError


class OneLineErrors(TyperGroup):
    """The ``lampyris`` group: an unexpected exception becomes one line and exit 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            if debugging():
                print_traceback()
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            if isinstance(exc, LampyrisError):
                line = message or type(exc).__name__
            else:
                kind = type(exc).__name__
                line = f"unexpected {kind}: {message}" if message else f"unexpected {kind}"
            hint = "" if debugging() else " (run with --debug for the traceback)"
            err.print(f"[red]error:[/red] {line}{hint}", highlight=False)
            raise typer.Exit(1) from None
