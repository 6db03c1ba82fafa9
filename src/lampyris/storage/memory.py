"""An in-memory Storage for unit tests: the same contract as the real backends, no network."""

from __future__ import annotations

import threading

from lampyris.errors import StorageDeniedError
from lampyris.storage.base import Blob, StorageRef, require_storage_type


class MemoryStorage:
    """Objects kept in a dict keyed by href; a missing href reads like an HTTP 404.

    Usage::

        storage = MemoryStorage({"https://in.example/a.png": Blob(png, "image/png")})
        run_job(storage, ...)
        assert storage.objects["https://out.example/b.png"].content_type == "image/png"

    ``writes`` records ``(ref, content_type)`` in order, so a test can check what a job wrote
    and with which storage type.
    """

    def __init__(self, objects: dict[str, Blob] | None = None) -> None:
        self.objects: dict[str, Blob] = dict(objects or {})
        self.writes: list[tuple[StorageRef, str]] = []
        self._lock = threading.Lock()

    def put(self, href: str, data: bytes, content_type: str = "") -> None:
        """Seed an input object without going through ``write``."""
        with self._lock:
            self.objects[href] = Blob(data, content_type)

    def read(self, ref: StorageRef) -> Blob:
        require_storage_type(ref)
        with self._lock:
            blob = self.objects.get(ref.href)
        if blob is None:
            raise StorageDeniedError(f"no object at {ref.href.split('?', 1)[0]}",
                                     storage_status=404)
        return blob

    def write(self, ref: StorageRef, data: bytes, content_type: str) -> None:
        require_storage_type(ref)
        with self._lock:
            self.objects[ref.href] = Blob(bytes(data), content_type)
            self.writes.append((ref, content_type))
