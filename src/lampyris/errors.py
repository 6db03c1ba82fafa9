"""The one exception tree: every layer raises these, and each wire maps them in one place.

Third-party exceptions (Pillow, ONNX Runtime, OS errors) are translated at the seam that
calls them, so callers never catch a library's own exception types.
"""

from __future__ import annotations


class LampyrisError(Exception):
    """Base of every error lampyris raises on purpose."""


class InputError(LampyrisError):
    """Something the caller sent is wrong: fix the input, retrying will not help."""


class UnsupportedImageError(InputError):
    """The bytes are not an image format lampyris can read (or the plugin is missing)."""


class CorruptImageError(InputError):
    """The file claims to be an image but cannot be decoded (truncated, damaged)."""


class ImageTooLargeError(InputError):
    """The image exceeds the configured pixel limit (or is a decompression bomb)."""


class InvalidParameterError(InputError):
    """A parameter value is out of range or contradicts another one."""


class ModelError(LampyrisError):
    """A model cannot be found, verified or run."""


class ModelNotFoundError(ModelError):
    """No source of a model holds its file (not bundled, not cached, not pulled)."""


class ModelChecksumError(ModelError):
    """A model file's sha256 differs from its spec: refuse to run unverified weights."""


class FidelityError(LampyrisError):
    """A fill changed pixels outside its mask: refused everywhere, nothing is delivered."""


class JobError(LampyrisError):
    """A job or batch cannot go on (its workers cannot run); the inputs may be fine."""


class StorageError(LampyrisError):
    """Reading or writing a referenced object failed (the href, not the image, is at fault)."""


class ForbiddenUrlError(StorageError):
    """The URL is refused before any connection: bad scheme, or a private/loopback/link-local/
    metadata address that is not explicitly allowed (the SSRF guard)."""


class ObjectTooLargeError(StorageError):
    """The referenced object is bigger than the byte cap."""


class StorageDeniedError(StorageError):
    """The storage answered with a client error (403 expired/denied, 404 missing…): retrying
    will not help. ``status`` is the HTTP status it answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class StorageCredentialsError(StorageDeniedError):
    """No credentials were found, or the storage refused them (unknown key, wrong secret,
    expired token): every request will fail the same way, so a batch should stop."""


class StorageUnavailableError(StorageError):
    """The storage could not be reached, timed out or kept answering 5xx after retries."""


class UnknownObjectError(StorageError):
    """The server's own object store has no object under that key (or it expired)."""


class TransferTooSlowError(StorageUnavailableError):
    """A transfer ran past its overall deadline or fell under the minimum transfer rate
    (``LAMPYRIS_STORAGE_TRANSFER_DEADLINE``, ``LAMPYRIS_STORAGE_MIN_TRANSFER_RATE``): the peer
    is trickling, so the worker lets go instead of being held."""
