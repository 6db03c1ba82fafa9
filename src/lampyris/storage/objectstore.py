"""The server's own object store: uploads and results it hosts behind signed, expiring URLs.

Adobe's Firefly endpoints (``/v2/remove-background``, ``/v2/storage/image``) hand back a URL
to an object the service keeps, rather than writing into the caller's storage; this is where
lampyris keeps those objects. The key is never trusted as a path: it is validated so that it
cannot leave ``root``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from lampyris.errors import InvalidParameterError, StorageUnavailableError, UnknownObjectError
from lampyris.storage.base import Blob

_TEMP_DIR = ".tmp"  # beside the objects, so the final rename stays on one filesystem


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative path like ``results/<job-id>/<name>.png``.

    Refuses ``..``/``.`` segments, hidden segments (reserved for the store's own files), empty
    segments, absolute paths, backslashes and NUL; colons are fine (``urn:ff:jobs:…`` job ids).
    """
    if not key or "\\" in key or "\x00" in key or key.startswith("/"):
        raise InvalidParameterError(f"invalid object key {key!r}")
    if any(not part or part.startswith(".") for part in key.split("/")):
        raise InvalidParameterError(f"invalid object key {key!r}: empty or dot segment")
    return key


class ObjectStore(Protocol):
    """Where the server keeps what it hosts; ``LocalObjectStore`` and ``S3ObjectStore`` fit.

    Keys are relative paths checked by ``validate_key``. Raises only ``StorageError`` and
    ``InvalidParameterError`` (a bad key or content type), so the API maps one error tree.
    """

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> Blob: ...

    def delete(self, key: str) -> None: ...

    def delete_older_than(self, seconds: float) -> int: ...

    def exists(self, key: str) -> bool: ...

    def url(self, key: str, ttl: int, base_url: str) -> str:
        """An absolute download URL for ``key``, valid ``ttl`` seconds; ``base_url`` is the
        server's public root (a store that serves objects itself may ignore it)."""
        ...


class LocalObjectStore:
    """Objects as files under ``root``; the content type is kept in the file's first line.

    Usage::

        store = LocalObjectStore(Path("/var/lib/lampyris/objects"), secret=b"…")
        store.put("results/urn:ff:jobs:1/cutout.png", png, "image/png")
        url = store.url("results/urn:ff:jobs:1/cutout.png", 3600, "https://lampyris.example")

    One file per object (header line + bytes) written to a temp file and renamed into place,
    so a reader sees the old object or the new one, never half of either.
    """

    def __init__(
        self, root: Path, secret: bytes, *, clock: Callable[[], float] = time.time
    ) -> None:
        if not secret:
            raise InvalidParameterError("the object store needs a non-empty signing secret")
        self.root = Path(root)
        self._secret = secret
        self._clock = clock

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` atomically, replacing any previous object."""
        if "\n" in content_type or "\r" in content_type:
            raise InvalidParameterError("content type must be a single line")
        path = self._path(key)
        payload = content_type.encode("utf-8") + b"\n" + data
        try:
            for attempt in range(3):
                try:
                    self._write_then_rename(path, payload)
                    return
                except FileNotFoundError:
                    if attempt == 2:  # a retention sweep keeps pruning the directory
                        raise
        except OSError as exc:
            raise StorageUnavailableError(f"cannot store object {key!r}: {exc}") from exc

    def _write_then_rename(self, path: Path, payload: bytes) -> None:
        temp_dir = self.root / _TEMP_DIR
        path.parent.mkdir(parents=True, exist_ok=True)
        temp_dir.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=temp_dir)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(payload)
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> Blob:
        """The object under ``key``; UnknownObjectError if there is none."""
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise UnknownObjectError(f"no object under key {key!r}") from exc
        except OSError as exc:
            raise StorageUnavailableError(f"cannot read object {key!r}: {exc}") from exc
        header, _, data = raw.partition(b"\n")
        return Blob(data, header.decode("utf-8", "replace"))

    def delete(self, key: str) -> None:
        """Remove the object under ``key``; a missing one is not an error."""
        try:
            self._path(key).unlink(missing_ok=True)
        except IsADirectoryError:
            pass
        except OSError as exc:
            raise StorageUnavailableError(f"cannot delete object {key!r}: {exc}") from exc

    def delete_older_than(self, seconds: float) -> int:
        """Retention: remove objects last written more than ``seconds`` ago; returns how many.

        Stale temp files (a crashed ``put``) go too, and so do empty directories.
        """
        cutoff = self._clock() - seconds
        removed = 0
        if not self.root.is_dir():
            return 0
        for directory, _dirnames, filenames in os.walk(self.root, topdown=False):
            here = Path(directory)
            for name in filenames:
                path = here / name
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += here != self.root / _TEMP_DIR
                except FileNotFoundError:
                    continue  # removed by a concurrent delete
            if here not in (self.root, self.root / _TEMP_DIR):
                # rmdir only succeeds on an empty directory; a put that loses its directory
                # to this sweep recreates it and tries again.
                with contextlib.suppress(OSError):
                    here.rmdir()
        return removed

    def exists(self, key: str) -> bool:
        """True if an object is stored under ``key``."""
        return self._path(key).is_file()

    def url(self, key: str, ttl: int, base_url: str) -> str:
        """``{base_url}/files/{key}?expires=…&signature=…``: served by the ``/files`` route,
        which checks the signature with ``verify``."""
        return f"{base_url.rstrip('/')}/files/{quote(key)}?{self.sign(key, ttl)}"

    def sign(self, key: str, expires_in: int) -> str:
        """``expires=<unix>&signature=<hex>``: a query string granting reads until then."""
        expires = int(self._clock()) + int(expires_in)
        return f"expires={expires}&signature={self._signature(validate_key(key), expires)}"

    def verify(self, key: str, expires: int | str, signature: str) -> bool:
        """True only for an unexpired signature made by ``sign`` for this exact key."""
        try:
            expires_at = int(expires)
            validate_key(key)
        except (TypeError, ValueError, InvalidParameterError):
            return False
        expected = self._signature(key, expires_at)
        valid = hmac.compare_digest(expected.encode(), str(signature).lower().encode())
        return valid and expires_at >= self._clock()

    def _signature(self, key: str, expires: int) -> str:
        message = f"{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _path(self, key: str) -> Path:
        path = self.root / validate_key(key)
        # Belt and braces: a symlinked directory inside root must not lead outside it either.
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise InvalidParameterError(f"object key {key!r} leaves the store")
        return path
