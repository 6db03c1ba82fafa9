"""One ``Storage`` over every kind of reference a job names.

A job's input may be a pre-signed URL (``external``, ``azure``, ``dropbox``) or an object the
server holds itself (``hosted``: a Firefly upload, an earlier job's output); its outputs go to
a user's URL or into the server's store. The worker reads and writes through this one object
and never branches on the kind.
"""

from __future__ import annotations

from lampyris.errors import StorageDeniedError, UnknownObjectError
from lampyris.storage.base import Blob, Storage, StorageRef
from lampyris.storage.objectstore import ObjectStore


class RoutedStorage:
    """``hosted`` references go to ``objects`` (the href is the object's key); every other
    kind goes to ``remote`` (the pre-signed backends, behind the SSRF guard).

    A missing hosted object reads as it does on every ``Storage``: ``StorageDeniedError``
    with ``storage_status`` 404 (the ``ObjectStore`` itself says ``UnknownObjectError``).
    """

    def __init__(self, remote: Storage, objects: ObjectStore) -> None:
        self.remote = remote
        self.objects = objects

    def read(self, ref: StorageRef) -> Blob:
        if ref.storage == "hosted":
            try:
                return self.objects.get(ref.href)
            except UnknownObjectError as exc:
                raise StorageDeniedError(str(exc), 404) from exc
        return self.remote.read(ref)

    def write(self, ref: StorageRef, data: bytes, content_type: str) -> None:
        if ref.storage == "hosted":
            self.objects.put(ref.href, data, content_type)
        else:
            self.remote.write(ref, data, content_type)
