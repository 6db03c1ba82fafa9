"""The one exception tree: every layer raises these, and each wire maps them in one place.

Third-party exceptions (Pillow, ONNX Runtime, OS errors) are translated at the seam that
calls them, so callers never catch a library's own exception types.

Every class carries its wire facts as class attributes: ``status``, the HTTP status the error
stands for, and ``code``, lampyris' own precise code for it (``"corrupt_image"``), stable
across releases because job rows store it. Each class of this tree declares its own ``code``
and no two classes share one, so a recorded code names exactly one class again
(``LampyrisError.by_code``); a subclass elsewhere that declares none shares its parent's. The
Adobe-flavoured codes a route answers are the wire's business (``api/errors.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar


class LampyrisError(Exception):
    """Base of every error lampyris raises on purpose (and what an unexpected one maps to)."""

    status: int = 500
    code: str = "internal_error"

    _by_code: ClassVar[dict[str, type[LampyrisError]]] = {}
    _by_name: ClassVar[dict[str, type[LampyrisError]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Register a class that declares its own ``code``; one that does not shares its
        parent's facts, and its failures read back as the parent's."""
        super().__init_subclass__(**kwargs)
        code = cls.__dict__.get("code")
        if code is None:
            return
        if not isinstance(code, str) or not code:
            raise TypeError(f"{cls.__qualname__}.code must be a non-empty string")
        if not isinstance(getattr(cls, "status", None), int):
            raise TypeError(f"{cls.__qualname__}.status must be an HTTP status (int)")
        taken = LampyrisError._by_code.get(code)
        if taken is not None and not _same(taken, cls):
            raise TypeError(f"{cls.__module__}.{cls.__qualname__}: the code {code!r} is "
                            f"{taken.__module__}.{taken.__qualname__}'s already")
        LampyrisError._by_code[code] = cls
        named = LampyrisError._by_name.get(cls.__name__)
        if named is None or _same(named, cls):
            LampyrisError._by_name[cls.__name__] = cls

    @staticmethod
    def by_code(code: str) -> type[LampyrisError]:
        """The class whose ``code`` this is; ``LampyrisError`` for a code no class declares
        (a newer worker's, or one of a module not imported here)."""
        return LampyrisError._by_code.get(code, LampyrisError)

    @staticmethod
    def by_name(name: str) -> type[LampyrisError]:
        """The class of this name (job rows written before codes named it by class);
        ``LampyrisError`` for any other name (``"InternalError"``, a class since removed)."""
        return LampyrisError._by_name.get(name, LampyrisError)

    @staticmethod
    def classes() -> tuple[type[LampyrisError], ...]:
        """Every class that declares its own code, defined so far; the base first."""
        return tuple(LampyrisError._by_code.values())


LampyrisError._by_code[LampyrisError.code] = LampyrisError
LampyrisError._by_name[LampyrisError.__name__] = LampyrisError


def _same(a: type, b: type) -> bool:
    """The same class defined again (a module reloaded)."""
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


class InputError(LampyrisError):
    """Something the caller sent is wrong: fix the input, retrying will not help."""

    status, code = 400, "invalid_input"


class UnsupportedImageError(InputError):
    """The bytes are not an image format lampyris can read (or the plugin is missing)."""

    status, code = 415, "unsupported_image"


class CorruptImageError(InputError):
    """The file claims to be an image but cannot be decoded (truncated, damaged)."""

    status, code = 400, "corrupt_image"


class ImageTooLargeError(InputError):
    """The image exceeds the configured pixel limit (or is a decompression bomb)."""

    status, code = 413, "image_too_large"


class InvalidParameterError(InputError):
    """A parameter value is out of range or contradicts another one."""

    status, code = 400, "invalid_parameter"


class ModelError(LampyrisError):
    """A model cannot be found, verified or run."""

    status, code = 500, "model_error"


class ModelNotFoundError(ModelError):
    """No source of a model holds its file (not bundled, not cached, not pulled)."""

    status, code = 500, "model_not_found"


class ModelChecksumError(ModelError):
    """A model file's sha256 differs from its spec: refuse to run unverified weights."""

    status, code = 500, "model_checksum_mismatch"


class FidelityError(LampyrisError):
    """A fill changed pixels outside its mask: refused everywhere, nothing is delivered."""

    status, code = 500, "fill_fidelity"


class JobError(LampyrisError):
    """A job or batch cannot go on (its workers cannot run); the inputs may be fine."""

    status, code = 500, "job_error"


class JobCancelledError(JobError):
    """The job was cancelled by its owner (recorded on the job; nothing is raised to them)."""

    status, code = 409, "job_cancelled"


class StorageError(LampyrisError):
    """Reading or writing a referenced object failed (the href, not the image, is at fault).

    502: another system failed us. A job's wire says which link was at fault instead (410 for
    its input, 409 for its output: ``api/errors.py``)."""

    status, code = 502, "storage_error"


class ForbiddenUrlError(StorageError):
    """The URL is refused before any connection: bad scheme, or a private/loopback/link-local/
    metadata address that is not explicitly allowed (the SSRF guard)."""

    status, code = 400, "forbidden_url"


class ObjectTooLargeError(StorageError):
    """The referenced object is bigger than the byte cap."""

    status, code = 413, "object_too_large"


class StorageDeniedError(StorageError):
    """The storage answered with a client error (403 expired/denied, 404 missing…): retrying
    will not help. ``storage_status`` is the HTTP status the storage answered (``status`` is
    the class's own, like every error's)."""

    status, code = 502, "storage_denied"

    def __init__(self, message: str, storage_status: int | None = None) -> None:
        super().__init__(message)
        self.storage_status = storage_status


class StorageCredentialsError(StorageDeniedError):
    """No credentials were found, or the storage refused them (unknown key, wrong secret,
    expired token): every request will fail the same way, so a batch should stop."""

    status, code = 502, "storage_credentials"


class StorageUnavailableError(StorageError):
    """The storage could not be reached, timed out or kept answering 5xx after retries."""

    status, code = 503, "storage_unavailable"


class UnknownObjectError(StorageError):
    """The server's own object store has no object under that key (or it expired)."""

    status, code = 404, "unknown_object"


class TransferTooSlowError(StorageUnavailableError):
    """A transfer ran past its overall deadline or fell under the minimum transfer rate
    (``LAMPYRIS_STORAGE_TRANSFER_DEADLINE``, ``LAMPYRIS_STORAGE_MIN_TRANSFER_RATE``): the peer
    is trickling, so the worker lets go instead of being held."""

    status, code = 504, "transfer_too_slow"
