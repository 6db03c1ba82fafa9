"""Reading and writing through the pre-signed URLs Adobe's APIs accept as ``{href, storage}``.

The three storage types differ only in the write request each provider expects, so one backend
covers them; the guarded fetch does the connecting, retrying and capping.
"""

from __future__ import annotations

from types import TracebackType

import httpx

from lampyris.storage.base import Blob, StorageRef, StorageType, require_storage_type
from lampyris.storage.fetch import HttpFetcher
from lampyris.storage.guard import UrlGuard
from lampyris.storage.settings import StorageSettings

_OCTET_STREAM = "application/octet-stream"


def write_request(storage: StorageType, content_type: str) -> tuple[str, dict[str, str]]:
    """The method and headers each provider's upload URL expects.

    ``external`` is an S3-style pre-signed PUT; ``azure`` a SAS URL, whose Put Blob needs the
    blob type; ``dropbox`` a temporary upload link, which takes a raw POST body.
    """
    if storage == "azure":
        return "PUT", {"Content-Type": content_type or _OCTET_STREAM, "x-ms-blob-type": "BlockBlob"}
    if storage == "dropbox":
        return "POST", {"Content-Type": _OCTET_STREAM}
    return "PUT", {"Content-Type": content_type or _OCTET_STREAM}


class PresignedStorage:
    """The Storage for ``external`` (S3), ``azure`` (SAS) and ``dropbox`` hrefs.

    Usage::

        with PresignedStorage(StorageSettings()) as storage:
            blob = storage.read(StorageRef(input_href, "external"))
            storage.write(StorageRef(output_href, "azure"), png, "image/png")

    Every request passes the SSRF guard; private addresses need LAMPYRIS_ALLOW_PRIVATE_URLS.
    """

    def __init__(
        self,
        settings: StorageSettings | None = None,
        *,
        guard: UrlGuard | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings or StorageSettings()
        self._fetcher = HttpFetcher(self.settings, guard=guard, transport=transport)

    def read(self, ref: StorageRef) -> Blob:
        """GET the href (every storage type reads the same way)."""
        require_storage_type(ref)
        return self._fetcher.request("GET", ref.href)

    def write(self, ref: StorageRef, data: bytes, content_type: str) -> None:
        """Upload ``data`` the way ``ref.storage`` expects; any 2xx counts as stored."""
        method, headers = write_request(require_storage_type(ref), content_type)
        self._fetcher.request(method, ref.href, content=data, headers=headers)

    def close(self) -> None:
        self._fetcher.close()

    def __enter__(self) -> PresignedStorage:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
