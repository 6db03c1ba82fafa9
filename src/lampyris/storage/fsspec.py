"""A ``Storage`` over fsspec URLs: the batch engine's locations, one object at a time.

A reference's ``href`` is a URL fsspec opens (``file://…`` or a local path, ``memory://``,
``s3://``, ``az://``, ``gs://``, ``dropbox://``); the scheme picks the backend, and the
options for it come from ``options[protocol]``, as ``--storage-option PROTOCOL.KEY=VALUE``
gives them. Writes are whole-object (``atomic.write_atomic``); every failure is one
``StorageError`` line (``translate``).

This reads local files and any bucket its credentials reach: it is for the batch engine and
the CLI, never for references a remote client names (those go through ``PresignedStorage``
and its SSRF guard).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fsspec import AbstractFileSystem

from lampyris.errors import InvalidParameterError, LampyrisError, StorageDeniedError
from lampyris.storage.atomic import write_atomic
from lampyris.storage.base import Blob, StorageRef
from lampyris.storage.locations import Location
from lampyris.storage.translate import missing_path, translate

T = TypeVar("T")

# The stores that keep a content type with the object, and where ``info`` says it.
_S3 = frozenset({"s3", "s3a"})
_AZURE = frozenset({"az", "abfs", "abfss"})


class FsspecStorage:
    """Objects by fsspec URL.

    Usage::

        storage = FsspecStorage({"s3": {"endpoint_url": "http://127.0.0.1:9000"}})
        storage.write(StorageRef("s3://shop/out/a.png"), png, "image/png")
        blob = storage.read(StorageRef("s3://shop/out/a.png"))  # Blob(png, "image/png")

    The ref's ``storage`` is not consulted (the URL's scheme names the backend), except that
    ``hosted`` refs, keys in the server's own store, are refused. ``content_type`` is kept
    where the store keeps one (S3, Azure Blob Storage) and read back as "" elsewhere (a local
    disk, ``memory://``). A missing object is a ``StorageDeniedError`` with
    ``storage_status`` 404, as with every ``Storage``. Small and picklable (the options
    only): a worker process opens the filesystems itself, and fsspec caches one per process
    and options.
    """

    def __init__(self, options: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.options: dict[str, dict[str, Any]] = {
            protocol: dict(values) for protocol, values in (options or {}).items()}

    def location(self, ref: StorageRef) -> Location:
        """The ``Location`` of ``ref``'s object, with its protocol's options."""
        if ref.storage == "hosted":
            raise InvalidParameterError(
                f"{ref.href!r} is a key in the server's store, not an fsspec URL")
        protocol = Location(ref.href).protocol
        return Location(ref.href, dict(self.options.get(protocol, {})))

    def read(self, ref: StorageRef) -> Blob:
        location = self.location(ref)

        def get(fs: AbstractFileSystem, path: str) -> Blob:
            data = fs.cat_file(path)
            return Blob(bytes(data), _content_type(fs, path))

        return _translated(location, get)

    def write(self, ref: StorageRef, data: bytes, content_type: str) -> None:
        location = self.location(ref)
        _translated(location,
                    lambda fs, path: write_atomic(path, data, fs, content_type=content_type))


def _translated(location: Location, call: Callable[[AbstractFileSystem, str], T]) -> T:
    """``call(fs, path)`` on ``location``'s filesystem; what the backend raises becomes one
    ``StorageError`` line (an unexpected exception is raised as itself: a bug). A missing
    object the backend names by its bare path (a local disk, s3fs after a HEAD) is said as
    S3's answer is: ``<url>: no such object``."""
    try:
        fs, path = location.open()
        return call(fs, path)
    except LampyrisError:
        raise
    except Exception as exc:
        error = translate(exc, location.url)
        if error is None:
            raise
        if missing_path(exc) and str(error) == str(exc):  # the OS's or s3fs' bare path
            error = StorageDeniedError(f"{location.url}: no such object", 404)
        raise error from None


def _content_type(fs: AbstractFileSystem, path: str) -> str:
    """The content type the store keeps for ``path`` ("" where it keeps none): one more
    request (S3's HEAD, Azure's blob properties), past any cached listing."""
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    if protocols & _S3:
        return str(fs.info(path, refresh=True).get("ContentType") or "")
    if protocols & _AZURE:
        settings = fs.info(path, refresh=True).get("content_settings") or {}
        return str(settings.get("content_type") or "")
    return ""
