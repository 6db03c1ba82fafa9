"""The consoles every command prints through: results to stdout (``out``), diagnostics to
stderr (``err``), and the one-line error exit.

Output to a pipe or a file is never wrapped or cut, whatever ``COLUMNS`` says: a path, a
message or a table row stays whole on one line, so scripts and ``grep`` see it. A terminal
gets rich's wrapping and colours.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

PIPE_WIDTH = 1000  # wide enough that a table never truncates a cell on a pipe


def _console(*, stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    return Console(stderr=stderr, soft_wrap=not tty, width=None if tty else PIPE_WIDTH)


out = _console(stderr=False)
err = _console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as one error line on stderr; the exit to raise (2: bad options)."""
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code)
