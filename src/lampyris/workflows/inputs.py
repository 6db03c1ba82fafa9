"""Turning the file commands' inputs (files, folders, globs) into (source, output) pairs,
and those into the batch runner's entries.

A folder keeps its tree under the output folder; a glob keeps the tree below its first
wildcard; a file lands at the top. Outputs are ``<relative path stem>.<ext>`` by default;
``workflows.naming`` says how else they can be named, and two inputs that would share an
output (or its sidecar) are refused before anything runs. ``entries`` hands the tasks to
``workflows.batch.BatchRunner``, which runs every command the same way.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lampyris.errors import InvalidParameterError
from lampyris.imaging.decode import IMAGE_SUFFIXES
from lampyris.imaging.encode import OutputFormat
from lampyris.ops.pipeline import OutputSpec
from lampyris.storage.locations import local_file
from lampyris.workflows.batch import Entry
from lampyris.workflows.naming import Naming, collision_message, numbered

_WRITABLE: dict[str, OutputFormat] = {".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg",
                                      ".webp": "webp"}


def same_format(path: Path) -> OutputFormat:
    """The output format that keeps the format ``path``'s name says, where lampyris can write
    it (JPEG, WebP); PNG for everything else (PNG, TIFF, HEIC…), so nothing is lost to a
    lossy format."""
    return _WRITABLE.get(path.suffix.lower(), "png")


@dataclass(frozen=True)
class FileTask:
    """One image to process and where its result goes; ``seed`` for a generative op, and
    ``variation`` when it is one of several seeds of its source (so it needs a name of its
    own in the ledger: ``key``)."""

    source: Path
    destination: Path
    seed: int | None = None
    variation: bool = False

    @property
    def key(self) -> str:
        """The input's name in the ledger, the summary and the report (``entries`` tells
        apart one file named twice, by two inputs, to two outputs)."""
        return f"{self.source}#seed={self.seed}" if self.variation else str(self.source)


@dataclass(frozen=True)
class InputProblem:
    """An input that names nothing usable, reported in the batch summary."""

    source: str
    reason: str


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def _walk(folder: Path, skip: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if _is_image(path) and not path.is_relative_to(skip):
            yield path


def _glob_base(pattern: str) -> Path:
    parts = Path(pattern).parts
    base: list[str] = []
    for part in parts:
        if glob.has_magic(part):
            break
        base.append(part)
    return Path(*base) if base else Path(".")


def expand_inputs(
    inputs: Iterable[str], output_dir: Path, extension: str | Callable[[Path], str], *,
    naming: Naming = Naming.stem, sidecar: str | None = None,
) -> tuple[list[FileTask], list[InputProblem]]:
    """All tasks for ``inputs``, in a stable order, and the inputs that could not be used.

    ``extension`` (with the dot) is the outputs' suffix, or a function of the input's name
    that gives it (outputs that keep their input's format). ``sidecar`` (``".xmp"``): each
    output also has ``<output stem><sidecar>`` beside it, which must not clash either.

    Two inputs that would share an output or a sidecar raise ``InvalidParameterError`` naming
    both, unless ``naming`` is ``number``; one file named twice is one task, not a collision.

    Files already under ``output_dir`` are never inputs, so re-running over a tree that
    contains its own output folder does not cut out the cutouts.
    """
    output_dir = output_dir.resolve()
    found: list[tuple[Path, Path]] = []  # (source, destination), in listing order
    seen: set[tuple[Path, Path]] = set()
    problems: list[InputProblem] = []

    def add(source: Path, relative: Path) -> None:
        suffix = extension if isinstance(extension, str) else extension(relative)
        name = relative.name if naming == Naming.keep_extension else relative.stem
        entry = (source.resolve(), output_dir / relative.with_name(name + suffix))
        if entry not in seen:  # one file named twice is one task
            seen.add(entry)
            found.append(entry)

    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            images = list(_walk(path, output_dir))
            if not images:
                problems.append(InputProblem(item, "folder holds no images"))
            for source in images:
                add(source, source.relative_to(path))
        elif path.is_file():
            add(path, Path(path.name))
        elif glob.has_magic(item):
            base = _glob_base(item)
            matches = [Path(p) for p in sorted(glob.glob(item, recursive=True))]
            images = [p for p in matches if _is_image(p)]
            if not images:
                problems.append(InputProblem(item, "pattern matches no images"))
            for source in images:
                add(source, source.relative_to(base))
        else:
            problems.append(InputProblem(item, "no such file or folder"))
    destinations = _unique(found, sidecar, numbering=naming == Naming.number)
    return [FileTask(source, dest) for (source, _), dest in zip(found, destinations,
                                                                 strict=True)], problems


def _claims(destination: Path, sidecar: str | None) -> list[Path]:
    """The paths one output writes: itself, and its sidecar if any."""
    return [destination] + ([destination.with_suffix(sidecar)] if sidecar else [])


def _unique(found: list[tuple[Path, Path]], sidecar: str | None, *, numbering: bool
            ) -> list[Path]:
    """The destination of each ``(source, destination)`` in ``found``, none shared. Where two
    sources claim one path, the first in sorted order keeps it; each other gets the first
    numbered name that no input claims (``numbering``), or the run is refused."""
    claimed = {path for _, dest in found for path in _claims(dest, sidecar)}
    owners: dict[Path, Path] = {}
    unique: dict[int, Path] = {}
    for i in sorted(range(len(found)), key=lambda i: found[i]):
        source, dest = found[i]
        clash = next((path for path in _claims(dest, sidecar)
                      if owners.get(path, source) != source), None)
        if clash is not None and not numbering:
            raise InvalidParameterError(collision_message(str(clash), str(owners[clash]),
                                                          str(source), dest.suffix))
        if clash is not None:
            base, n = dest, 2
            while any(path in claimed or path in owners for path in _claims(dest, sidecar)):
                dest, n = base.with_name(numbered(base.name, n)), n + 1
        for path in _claims(dest, sidecar):
            owners[path] = source
        unique[i] = dest
    return [unique[i] for i in range(len(found))]


def entries(tasks: Sequence[FileTask], output_dir: Path,
            output: Callable[[Path], OutputSpec]) -> list[Entry]:
    """The batch runner's entries for ``tasks`` (destinations below ``output_dir``, as
    ``expand_inputs`` made them), each written as ``output(destination)`` says. A source that
    cannot be read now still gets its entry: the item then fails with the reason."""
    root = output_dir.resolve()
    listed, keys = [], set()
    for task in tasks:
        try:
            stamp = local_file(str(task.source), "", os.stat(task.source)).stamp
        except OSError:
            stamp = ""
        rel = task.destination.relative_to(root).as_posix()
        key = task.key if task.key not in keys else f"{task.key}#to={rel}"  # named twice
        keys.add(key)
        listed.append(Entry(key=key, path=str(task.source), stamp=stamp, output_rel=rel,
                            output=output(task.destination), seed=task.seed))
    return listed
