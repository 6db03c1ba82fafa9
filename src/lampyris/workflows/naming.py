"""How an output is named from its input, and what happens when two inputs would share one.

- ``stem`` (the default): ``<dir><stem>.<ext>`` (``0020.jpg`` → ``0020.png``). Two inputs of
  one stem (``0020.jpg``, ``0020.png``) would overwrite each other: that is refused before
  anything runs, with an error naming both.
- ``keep-extension``: ``<dir><name>.<ext>`` (``0020.jpg`` → ``0020.jpg.png``): never collides.
- ``number``: like ``stem``, and an input whose output is already taken gets the first free
  numbered name (``0020-2.png``, ``0020-3.png``…), in listing order.

Batches also take a template over ``{dir}`` ``{stem}`` ``{name}`` ``{ext}``; a template that
maps two inputs to one output is refused the same way.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import PurePosixPath


class Naming(StrEnum):
    stem = "stem"
    keep_extension = "keep-extension"
    number = "number"


TEMPLATES: dict[Naming, str] = {
    Naming.stem: "{dir}{stem}.{ext}",
    Naming.keep_extension: "{dir}{name}.{ext}",
    Naming.number: "{dir}{stem}.{ext}",
}


def hint(suffix: str = ".png") -> str:
    """The way out of a collision, its examples in the output's own suffix (``.psd``)."""
    return (f"use --naming keep-extension (0020.jpg → 0020.jpg{suffix}) or --naming number "
            f"(0020-2{suffix}), or rename one of them")



def numbered(path: str, n: int) -> str:
    """``a/b.png``, 2 → ``a/b-2.png``: the ``n``-th name for one output."""
    pure = PurePosixPath(path)
    return str(pure.with_name(f"{pure.stem}-{n}{pure.suffix}"))


def collision_message(output: str, first: str, second: str, suffix: str | None = None) -> str:
    """One line naming both inputs and the way out, its examples in ``suffix`` (the image
    output's, where the clash is on its sidecar) or ``output``'s own."""
    return (f"{first} and {second} would both be written to {output}: "
            f"{hint(suffix or PurePosixPath(output).suffix or '.png')}")
