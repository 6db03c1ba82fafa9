"""Storage libraries' exceptions → lampyris's, each one line: what went wrong, what to do.

fsspec backends raise their libraries' own exceptions (botocore, azure-core, google-auth and
gcsfs, the Dropbox SDK and requests), some wrapped in an ``OSError`` by the backend (s3fs
keeps botocore's ``ClientError`` as the cause), most not. The libraries are optional extras,
so they are matched by module and class name, never imported.

What a user can fix (credentials, a refused token, a missing bucket, a wrong path) is a
``StorageDeniedError`` and is not retried; a network failure or a busy service is a
``StorageUnavailableError`` and is.

Usage::

    try:
        fs.find(root)
    except Exception as exc:
        error = translate(exc, "s3://shop/in")
        if error is None:
            raise  # not a storage error: a bug
        raise error from None
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from lampyris.errors import (
    StorageCredentialsError,
    StorageDeniedError,
    StorageError,
    StorageUnavailableError,
)
from lampyris.storage.dropbox import refused_token

# A TCP connect to a live endpoint takes < 1 ms on a LAN and ~100 ms across the world; 5 s
# leaves room for a slow VPN and still fails long before botocore's retries (a refused local
# port took 15.9 s to fail through s3fs here, and 22 s in the report that asked for this).
PREFLIGHT_TIMEOUT = 5.0

_S3_KEYS = ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), "
            "or --storage-option s3.key=… s3.secret=…")
_S3_TOKEN_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired",
                             "InvalidToken", "RequestExpired"})
_AZURE_KEYS = ("set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME and "
               "AZURE_STORAGE_ACCOUNT_KEY, or --storage-option az.account_name=… "
               "az.account_key=…")
_GCS_KEYS = ("set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or run "
             "`gcloud auth application-default login`")
_SERVICES = {"dropbox": "Dropbox", "s3": "S3", "s3a": "S3", "az": "Azure Blob Storage",
             "abfs": "Azure Blob Storage", "abfss": "Azure Blob Storage",
             "gs": "Google Cloud Storage", "gcs": "Google Cloud Storage"}


def translate(exc: BaseException, url: str) -> StorageError | None:
    """lampyris's error for ``exc``, raised while using the storage at ``url`` (a location
    URL); None when ``exc`` is no storage error (a bug, to report as one)."""
    for error in _chain(exc):
        names = _names(error)
        for library in (_s3, _dropbox, _azure, _gcs, _http):
            found = library(error, names, url)
            if found is not None:
                found.args = (" ".join(str(found).split()),)  # a library's text may wrap
                return found
    if isinstance(exc, FileNotFoundError | PermissionError):
        return StorageDeniedError(str(exc), 404 if isinstance(exc, FileNotFoundError) else 403)
    if isinstance(exc, IsADirectoryError | NotADirectoryError | FileExistsError):
        return StorageDeniedError(str(exc))
    if isinstance(exc, OSError):  # TimeoutError and ConnectionError too: a network hiccup
        return StorageUnavailableError(str(exc) or type(exc).__name__)
    return None


def retryable(error: StorageError) -> bool:
    """Whether trying again could help: not for credentials, refusals and missing things."""
    return isinstance(error, StorageUnavailableError)


def missing_path(exc: BaseException) -> bool:
    """The storage says the path itself does not exist (not: its bucket, not: any other
    failure), so a listing can answer "no such folder"."""
    for error in _chain(exc):
        kind = _missing(error, _names(error))
        if kind is not None:
            return kind == "path"
    return isinstance(exc, FileNotFoundError)


def reach(endpoint_url: str, *, what: str, hint: str,
          timeout: float = PREFLIGHT_TIMEOUT) -> None:
    """Open (and close) a TCP connection to ``endpoint_url``: a wrong host or port fails here
    at once instead of after the client library's retries."""
    parts = urlsplit(endpoint_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            pass
    except OSError as exc:
        raise StorageUnavailableError(
            f"cannot reach {what} {_origin(endpoint_url)} ({_reason(exc)}): {hint}") from None


# -- S3: botocore / aiobotocore (through s3fs) -----------------------------------------------
def _s3(error: BaseException, names: set[str], url: str) -> StorageError | None:
    if "botocore.exceptions.ClientError" in names:
        return _s3_answer(error, url)
    if "botocore.exceptions.NoCredentialsError" in names:
        return StorageCredentialsError(f"{url}: no S3 credentials found: {_S3_KEYS}")
    if "botocore.exceptions.PartialCredentialsError" in names:
        return StorageCredentialsError(f"{url}: incomplete S3 credentials ({error}): {_S3_KEYS}")
    if "botocore.exceptions.ProfileNotFound" in names:
        return StorageCredentialsError(f"{url}: {error}: check AWS_PROFILE and ~/.aws/config")
    if names & {"botocore.exceptions.SSOError", "botocore.exceptions.TokenRetrievalError",
                "botocore.exceptions.CredentialRetrievalError"}:
        return StorageCredentialsError(
            f"{url}: cannot get S3 credentials ({error}): run `aws sso login`, or {_S3_KEYS}")
    if names & {"botocore.exceptions.ConnectionError", "botocore.exceptions.HTTPClientError"}:
        kwargs = getattr(error, "kwargs", {})
        endpoint = _origin(str(kwargs.get("endpoint_url") or ""))
        hint = ("check the network" if endpoint.endswith(".amazonaws.com")
                else "check --storage-option s3.endpoint_url")
        return StorageUnavailableError(
            f"cannot reach the S3 endpoint {endpoint} ({_reason(error)}): {hint}")
    return None


def _s3_answer(error: Any, url: str) -> StorageError:
    code, status, operation = _s3_code(error)
    message = str(error.response.get("Error", {}).get("Message") or "")
    if code == "InvalidAccessKeyId":
        return StorageCredentialsError(
            f"{url}: S3 does not know the access key (InvalidAccessKeyId): check "
            "AWS_ACCESS_KEY_ID or --storage-option s3.key", status)
    if code == "SignatureDoesNotMatch":
        return StorageCredentialsError(
            f"{url}: S3 refused the secret key (SignatureDoesNotMatch): check "
            "AWS_SECRET_ACCESS_KEY or --storage-option s3.secret", status)
    if code in _S3_TOKEN_CODES:
        return StorageCredentialsError(
            f"{url}: S3 refused the session token ({code}): get fresh credentials (`aws sso "
            "login`, or a new AWS_SESSION_TOKEN)", status)
    if _missing(error, {"botocore.exceptions.ClientError"}) == "bucket":
        return _no_bucket(url, "bucket")
    if code == "AccessDenied" or status == 403:
        # a HEAD answer has no body, so no code: wrong keys and a missing permission look alike
        why = (f"{status} {operation}" if code in ("403", "Forbidden") else code)
        return StorageDeniedError(
            f"{url}: S3 denied access ({why}): check the credentials and that they may use "
            "this bucket", status)
    if _missing(error, {"botocore.exceptions.ClientError"}) == "path":
        return StorageDeniedError(f"{url}: no such object", 404)
    if status in (408, 429) or (status or 0) >= 500 or code in ("SlowDown", "RequestTimeout"):
        return StorageUnavailableError(f"{url}: S3 is busy or failing ({status} {code}): try "
                                       "again later (--retries)")
    detail = f"{status} {code}" + (f": {message}" if message else "")
    return StorageDeniedError(f"{url}: S3 refused the request ({detail})", status)


def _s3_code(error: Any) -> tuple[str, int | None, str]:
    response = getattr(error, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = str(response.get("Error", {}).get("Code") or "")
    return code, status if isinstance(status, int) else None, str(
        getattr(error, "operation_name", "") or "")


# -- Dropbox: the SDK (through dropboxdrivefs) --------------------------------------------------
def _dropbox(error: BaseException, names: set[str], url: str) -> StorageError | None:
    if "dropbox.exceptions.AuthError" in names:
        return refused_token(getattr(error, "error", None))
    if "dropbox.exceptions.ApiError" in names:
        summary = _dropbox_summary(getattr(error, "error", None))
        if _missing(error, names) == "path":
            return StorageDeniedError(f"{url}: no such file or folder on Dropbox ({summary})",
                                      404)
        if "insufficient_space" in summary:
            return StorageDeniedError(f"{url}: the Dropbox is full ({summary}): free some "
                                      "space", 409)
        if "too_many_write_operations" in summary:
            return StorageUnavailableError(f"{url}: Dropbox is busy ({summary}): try again")
        return StorageDeniedError(f"{url}: Dropbox refused ({summary})", 409)
    if "dropbox.exceptions.RateLimitError" in names:
        return StorageUnavailableError("Dropbox is rate-limiting requests: try again later "
                                       "(--retries)")
    if "dropbox.exceptions.InternalServerError" in names:
        return StorageUnavailableError(
            f"Dropbox failed ({getattr(error, 'status_code', '5xx')}): try again later")
    if "dropbox.exceptions.BadInputError" in names:
        detail = str(getattr(error, "message", "") or error).strip().splitlines()
        return StorageDeniedError(f"{url}: Dropbox rejected the request "
                                  f"({detail[0] if detail else 'bad input'})", 400)
    if "dropbox.exceptions.HttpError" in names:
        status = getattr(error, "status_code", None)
        if isinstance(status, int) and status >= 500:
            return StorageUnavailableError(f"Dropbox failed ({status}): try again later")
        return StorageDeniedError(f"{url}: Dropbox refused the request ({status})", status)
    if any(n.endswith("stone_validators.ValidationError") for n in names):
        return StorageDeniedError(f"{url}: not a Dropbox path ({error})", 400)
    return None


def _dropbox_summary(error: Any) -> str:
    """``path/not_found`` from ``ListFolderError('path', LookupError('not_found'))``: the
    shape of Dropbox's own ``error_summary``."""
    tags: list[str] = []
    while error is not None and hasattr(error, "_tag") and len(tags) < 8:
        tags.append(str(error._tag))
        error = getattr(error, "_value", None)
    return "/".join(tags) or "error"


# -- Azure: azure-core / azure-identity (through adlfs) ---------------------------------------
def _azure(error: BaseException, names: set[str], url: str) -> StorageError | None:
    if "azure.core.exceptions.AzureError" not in names:
        return None
    code = _azure_code(error)
    status = getattr(error, "status_code", None)
    if any(n.endswith("CredentialUnavailableError") for n in names):
        return StorageCredentialsError(f"{url}: no Azure credentials found: {_AZURE_KEYS}")
    if ("azure.core.exceptions.ClientAuthenticationError" in names
            or code in ("AuthenticationFailed", "InvalidAuthenticationInfo")):
        return StorageCredentialsError(
            f"{url}: Azure refused the credentials ({code or status}): check them; "
            f"{_AZURE_KEYS}", status)
    kind = _missing(error, names)
    if kind == "bucket":
        return _no_bucket(url, "container")
    if kind == "path":
        return StorageDeniedError(f"{url}: no such blob ({code or status})", 404)
    if status == 403 or code.startswith("Authorization"):
        return StorageDeniedError(f"{url}: Azure denied access ({code or status}): check the "
                                  "account key, and that it may use this container", 403)
    if names & {"azure.core.exceptions.ServiceRequestError",
                "azure.core.exceptions.ServiceResponseError"}:
        return StorageUnavailableError(
            f"cannot reach Azure Blob Storage ({_reason(error)}): check the account name "
            "(AZURE_STORAGE_ACCOUNT_NAME or az.account_name) and the network")
    if not isinstance(status, int) or status >= 500 or status in (408, 429):
        return StorageUnavailableError(f"{url}: Azure is busy or failing ({code or status}): "
                                       "try again later")
    return StorageDeniedError(f"{url}: Azure refused the request ({code or status})", status)


def _azure_code(error: BaseException) -> str:
    code = getattr(error, "error_code", None) or ""
    return str(getattr(code, "value", code))  # a StorageErrorCode enum, or a plain string


# -- Google Cloud Storage: google-auth / gcsfs ------------------------------------------------
def _gcs(error: BaseException, names: set[str], url: str) -> StorageError | None:
    if "google.auth.exceptions.DefaultCredentialsError" in names:
        return StorageCredentialsError(f"{url}: no Google Cloud credentials found: {_GCS_KEYS}")
    if "google.auth.exceptions.RefreshError" in names:
        return StorageCredentialsError(
            f"{url}: Google Cloud refused the credentials ({error}): {_GCS_KEYS}")
    if "google.auth.exceptions.TransportError" in names:
        return StorageUnavailableError(f"cannot reach Google Cloud ({_reason(error)}): check "
                                       "the network")
    if "gcsfs.retry.HttpError" not in names:
        return None
    status = getattr(error, "code", None)
    kind = _missing(error, names)
    if kind == "bucket":
        return _no_bucket(url, "bucket")
    if kind == "path":
        return StorageDeniedError(f"{url}: no such object", 404)
    if status == 401:
        return StorageCredentialsError(
            f"{url}: Google Cloud refused the credentials ({error}): {_GCS_KEYS}", 401)
    if status == 403:
        return StorageDeniedError(f"{url}: Google Cloud denied access ({error}): check that "
                                  "the credentials may use this bucket", 403)
    if not isinstance(status, int) or status >= 500 or status in (408, 429):
        return StorageUnavailableError(f"{url}: Google Cloud is busy or failing ({status}): "
                                       "try again later")
    return StorageDeniedError(f"{url}: Google Cloud refused the request ({error})", status)


# -- plain HTTP: requests (the Dropbox SDK, dropboxdrivefs' downloads) and aiohttp -------------
def _http(error: BaseException, names: set[str], url: str) -> StorageError | None:
    if names & {"requests.exceptions.ConnectionError", "requests.exceptions.Timeout",
                "aiohttp.client_exceptions.ClientConnectionError"}:
        return StorageUnavailableError(
            f"cannot reach {_service(url, error)} ({_reason(error)}): check the network")
    if "requests.exceptions.HTTPError" in names:
        status = getattr(getattr(error, "response", None), "status_code", None)
        if isinstance(status, int) and 400 <= status < 500 and status not in (408, 429):
            return StorageDeniedError(f"{url}: {_service(url, error)} answered {status}",
                                      status)
        return StorageUnavailableError(f"{url}: {_service(url, error)} answered {status}: "
                                       "try again later")
    return None


# -- shared -------------------------------------------------------------------------------------
def _missing(error: BaseException, names: set[str]) -> str | None:
    """"path" when the storage says the path does not exist, "bucket" when the bucket or
    container holding it does not, else None."""
    if "botocore.exceptions.ClientError" in names:
        code, status, operation = _s3_code(error)
        if code == "NoSuchBucket" or (operation == "HeadBucket" and status == 404):
            return "bucket"
        return "path" if code in ("NoSuchKey", "NotFound", "404") else None
    if "dropbox.exceptions.ApiError" in names:
        tags = _dropbox_summary(getattr(error, "error", None)).split("/")
        return "path" if "not_found" in tags else None
    if "azure.core.exceptions.AzureError" in names:
        code = _azure_code(error)
        if code == "ContainerNotFound":
            return "bucket"
        if code.endswith("NotFound") or getattr(error, "status_code", None) == 404:
            return "path"
    if "gcsfs.retry.HttpError" in names and getattr(error, "code", None) == 404:
        return "bucket" if "bucket" in str(error).lower() else "path"
    return None


def _no_bucket(url: str, noun: str) -> StorageDeniedError:
    name = urlsplit(url).netloc or url
    return StorageDeniedError(
        f"{url}: no such {noun} {name!r}: create the {noun} or check the name", 404)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what caused it (``raise … from``, an exception being handled, and the
    ``reason``/argument exceptions urllib3 and requests nest), each once."""
    seen: set[int] = set()
    pending = [exc]
    while pending and len(seen) < 16:
        error = pending.pop(0)
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        nested = [error.__cause__, error.__context__, getattr(error, "reason", None),
                  *getattr(error, "args", ())]
        pending.extend(e for e in nested if isinstance(e, BaseException))


def _names(error: BaseException) -> set[str]:
    return {f"{cls.__module__}.{cls.__qualname__}" for cls in type(error).__mro__}


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words."""
    for error in _chain(exc):
        if isinstance(error, socket.gaierror) or type(error).__name__ == "NameResolutionError":
            host = _host_in(str(error))
            return f"cannot resolve {host}" if host else "cannot resolve the host name"
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, TimeoutError) or "Timeout" in type(error).__name__:
            return "timed out"
        if "SSL" in type(error).__name__:
            return "TLS handshake failed"
    return "connection failed"


def _host_in(text: str) -> str:
    found = re.search(r"(?:resolve |host=)'([^']+)'", text)
    return found.group(1) if found else ""


def _origin(endpoint_url: str) -> str:
    parts = urlsplit(endpoint_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else endpoint_url


def _service(url: str, error: BaseException) -> str:
    service = _SERVICES.get(url.split(":", 1)[0] if ":" in url else "")
    request = getattr(error, "request", None)
    host = urlsplit(str(getattr(request, "url", "") or "")).hostname
    return service or host or "the storage"
