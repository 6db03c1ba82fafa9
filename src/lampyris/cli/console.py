"""The consoles every command prints through: results to stdout (``out``), diagnostics to
stderr (``err``), and the one-line error exit.

Output to a pipe or a file is never wrapped or cut, whatever ``COLUMNS`` says: a path, a
message or a table row stays whole on one line, so scripts and ``grep`` see it. A terminal
gets rich's wrapping and colours.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

PIPE_WIDTH = 1000  # wide enough that a table never truncates a cell on a pipe


def _console(*, stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    return Console(stderr=stderr, soft_wrap=not tty, width=None if tty else PIPE_WIDTH)


out = _console(stderr=False)
err = _console(stderr=True)


DEBUG_ENV = "LAMPYRIS_DEBUG"
_debug = {"on": False}  # this command's --debug


def debugging() -> bool:
    """``--debug`` (or ``LAMPYRIS_DEBUG=1``): errors come with their tracebacks."""
    return _debug["on"] or os.environ.get(DEBUG_ENV, "").lower() in ("1", "true", "yes", "on")


def set_debug(value: bool) -> None:
    """What the root ``--debug`` option decided, for this command."""
    _debug["on"] = value


def print_traceback() -> None:
    """The exception being handled and every one it was raised from or while handling, the
    innermost first: a translated error (``raise … from None``) still shows its library's."""
    chain: list[BaseException] = []
    exc = sys.exc_info()[1]
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    for link in reversed(chain):
        err.print("".join(traceback.format_exception(link, chain=False)), markup=False,
                  highlight=False, end="")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as one error line on stderr (after the traceback of the exception
    being handled, with ``--debug``); the exit to raise (2: bad options)."""
    if debugging():
        print_traceback()
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def progress_bar(label: str, *more: ProgressColumn) -> Progress:
    """A bar on stderr, on a terminal only: a pipe or a log file gets the summary lines alone.
    ``more`` columns go after the count (the batch's running status)."""
    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), *more,
                    TimeElapsedColumn(), TimeRemainingColumn(), console=err,
                    disable=not err.is_terminal)
