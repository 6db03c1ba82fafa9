"""The model cache: find a model's file, pull it from a remote source, verify its sha256.

Nothing here downloads implicitly: ``path()`` only looks in place (installed packages, local
files, the cache) and ``pull()`` is the single call that may use the network.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from lampyris.errors import ModelChecksumError, ModelNotFoundError
from lampyris.models.settings import ModelSettings
from lampyris.models.spec import ModelSpec


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ModelStatus:
    """What ``lampyris models list`` shows for one model."""

    spec: ModelSpec
    path: Path | None

    @property
    def available(self) -> bool:
        return self.path is not None


class ModelStore:
    """Resolves model files under one cache directory and remembers verified ones per process."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir or ModelSettings().cache_dir
        self._verified: set[tuple[Path, int, int]] = set()
        self._lock = threading.Lock()

    def locate(self, spec: ModelSpec) -> Path | None:
        """The file, if some source or the cache already holds it; never fetches."""
        for source in spec.sources:
            found = source.locate()
            if found is not None:
                return found
        cached = self.cache_dir / spec.filename
        return cached if cached.is_file() else None

    def path(self, spec: ModelSpec) -> Path:
        """The verified file of ``spec``, or ModelNotFoundError saying how to get it."""
        found = self.locate(spec)
        if found is None:
            pullable = [s.describe() for s in spec.sources if s.remote]
            hint = f": run `lampyris models pull {spec.name}`" if pullable else ""
            raise ModelNotFoundError(f"model {spec.name!r} is not available locally{hint}")
        self.verify(spec, found)
        return found

    def verify(self, spec: ModelSpec, path: Path | None = None) -> Path:
        """Check the file's sha256 against the spec (once per file version per process)."""
        path = path or self.locate(spec)
        if path is None:
            raise ModelNotFoundError(f"model {spec.name!r} is not available locally")
        if spec.sha256 is None:
            return path
        stat = path.stat()
        key = (path, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key in self._verified:
                return path
        actual = sha256_of(path)
        if actual != spec.sha256:
            raise ModelChecksumError(
                f"{path} has sha256 {actual}, expected {spec.sha256} for model {spec.name!r}: "
                "the file is damaged or not the published model"
            )
        with self._lock:
            self._verified.add(key)
        return path

    def pull(self, spec: ModelSpec) -> Path:
        """Make the model available: a no-op when found in place, else fetch into the cache."""
        found = self.locate(spec)
        if found is not None:
            return self.verify(spec, found)
        dest = self.cache_dir / spec.filename
        errors: list[str] = []
        for source in spec.sources:
            if not source.remote:
                continue
            try:
                source.fetch(dest)
            except ModelNotFoundError as exc:
                errors.append(str(exc))
                continue
            try:
                return self.verify(spec, dest)
            except ModelChecksumError:
                dest.unlink(missing_ok=True)
                raise
        detail = f": {'; '.join(errors)}" if errors else ""
        raise ModelNotFoundError(f"no source could provide model {spec.name!r}{detail}")

    def status(self, spec: ModelSpec) -> ModelStatus:
        return ModelStatus(spec, self.locate(spec))
