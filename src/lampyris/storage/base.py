"""What a storage reference is, and the two calls every backend implements.

A job names its input and output the way Adobe's APIs do: an ``href`` and a ``storage`` type.
The backend turns that into HTTP (pre-signed URLs) or anything else (the in-memory backend of
the unit tests); callers never see which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from lampyris.errors import InvalidParameterError

# ``hosted``: an object in the server's own store (a Firefly upload), read by the job runner
# itself; the pre-signed backends speak only STORAGE_TYPES.
StorageType = Literal["external", "azure", "dropbox", "hosted"]
STORAGE_TYPES: tuple[StorageType, ...] = ("external", "azure", "dropbox")


@dataclass(frozen=True)
class StorageRef:
    """Where an object lives: a URL and how to talk to it (Adobe's ``{href, storage}``)."""

    href: str
    storage: StorageType = "external"


@dataclass(frozen=True)
class Blob:
    """Bytes read from a storage, with the media type the server claimed (may be empty)."""

    data: bytes
    content_type: str = ""


class Storage(Protocol):
    """Reads and writes objects by reference; raises only ``lampyris.errors.StorageError``."""

    def read(self, ref: StorageRef) -> Blob: ...

    def write(self, ref: StorageRef, data: bytes, content_type: str) -> None: ...


def require_storage_type(ref: StorageRef) -> StorageType:
    """The ref's storage type, or InvalidParameterError naming the allowed ones.

    ``storage`` arrives from JSON, so the Literal annotation alone does not keep it honest.
    """
    if ref.storage not in STORAGE_TYPES:
        raise InvalidParameterError(
            f"unknown storage type {ref.storage!r}; allowed: {', '.join(STORAGE_TYPES)}"
        )
    return ref.storage
