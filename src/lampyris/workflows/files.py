"""Turning command-line inputs (files, folders, globs) into (source, output) pairs.

A folder keeps its tree under the output folder; a glob keeps the tree below its first
wildcard; a file lands at the top. Outputs are ``<relative path stem>.<ext>``.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lampyris.imaging.encode import OutputFormat

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
    | {".heic", ".heif", ".avif"}
)
"""Folder and glob inputs pick these up; a file named explicitly is tried whatever it is."""

_WRITABLE: dict[str, OutputFormat] = {".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg",
                                      ".webp": "webp"}


def same_format(path: Path) -> OutputFormat:
    """The output format that keeps the format ``path``'s name says, where lampyris can write
    it (JPEG, WebP); PNG for everything else (PNG, TIFF, HEIC…), so nothing is lost to a
    lossy format."""
    return _WRITABLE.get(path.suffix.lower(), "png")


@dataclass(frozen=True)
class FileTask:
    """One image to process and where its result goes."""

    source: Path
    destination: Path


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
    inputs: Iterable[str], output_dir: Path, extension: str | Callable[[Path], str]
) -> tuple[list[FileTask], list[InputProblem]]:
    """All tasks for ``inputs``, in a stable order, and the inputs that could not be used.

    ``extension`` (with the dot) is the outputs' suffix, or a function of the input's name
    that gives it (outputs that keep their input's format).

    Files already under ``output_dir`` are never inputs, so re-running over a tree that
    contains its own output folder does not cut out the cutouts.
    """
    output_dir = output_dir.resolve()
    tasks: list[FileTask] = []
    problems: list[InputProblem] = []
    seen: dict[Path, Path] = {}

    def add(source: Path, relative: Path) -> None:
        source = source.resolve()
        suffix = extension if isinstance(extension, str) else extension(relative)
        destination = output_dir / relative.with_suffix(suffix)
        other = seen.get(destination)
        if other == source:
            return
        if other is not None:
            reason = f"output {destination} already comes from {other}"
            problems.append(InputProblem(str(source), reason))
            return
        seen[destination] = source
        tasks.append(FileTask(source, destination))

    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            found = list(_walk(path, output_dir))
            if not found:
                problems.append(InputProblem(item, "folder holds no images"))
            for source in found:
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
    return tasks, problems
