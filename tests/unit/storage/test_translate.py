"""Storage libraries' exceptions, built as the libraries raise them, become one line that says
what to do, retried only where trying again may help. (The S3 cases a Ceph radosgw can produce
and Dropbox's token errors run for real in tests/integration/batch/.)"""

from __future__ import annotations

import socket
from typing import Any

import dropbox.auth
import dropbox.exceptions
import dropbox.files
import pytest
import requests
from azure.core.exceptions import (
    ClientAuthenticationError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from lampyris.errors import (
    StorageCredentialsError,
    StorageDeniedError,
    StorageError,
    StorageUnavailableError,
)
from lampyris.storage.translate import missing_path, retryable, translate


def s3_error(code: str, status: int, operation: str = "ListObjectsV2") -> OSError:
    """What s3fs raises: its own OSError, botocore's ClientError as the cause."""
    cause = ClientError({"Error": {"Code": code, "Message": "m"},
                         "ResponseMetadata": {"HTTPStatusCode": status}}, operation)
    wrapped = PermissionError(code) if status == 403 else OSError(code)
    wrapped.__cause__ = cause
    return wrapped


def one_line(error: StorageError | None) -> str:
    assert error is not None
    text = str(error)
    assert "\n" not in text and text == text.strip()
    return text


@pytest.mark.parametrize(("code", "status", "kind", "says"), [
    ("ExpiredToken", 400, StorageCredentialsError,
     "s3://shop/in: S3 refused the session token (ExpiredToken): get fresh credentials"),
    ("InvalidAccessKeyId", 403, StorageCredentialsError, "check AWS_ACCESS_KEY_ID"),
    ("SignatureDoesNotMatch", 403, StorageCredentialsError, "check AWS_SECRET_ACCESS_KEY"),
    ("AccessDenied", 403, StorageDeniedError, "S3 denied access (AccessDenied)"),
    ("NoSuchBucket", 404, StorageDeniedError, "no such bucket 'shop': create the bucket"),
    ("NoSuchKey", 404, StorageDeniedError, "s3://shop/in: no such object"),
    ("SlowDown", 503, StorageUnavailableError, "S3 is busy or failing (503 SlowDown)"),
    ("InvalidArgument", 400, StorageDeniedError, "S3 refused the request (400 InvalidArgument"),
])
def test_s3_answers(code: str, status: int, kind: type[StorageError], says: str) -> None:
    error = translate(s3_error(code, status), "s3://shop/in")
    assert type(error) is kind and says in one_line(error)
    assert retryable(error) == (kind is StorageUnavailableError)  # type: ignore[arg-type]


def test_a_head_answer_without_a_body_is_still_named() -> None:
    error = translate(s3_error("403", 403, "HeadObject"), "s3://shop/in")
    assert "S3 denied access (403 HeadObject)" in one_line(error)
    bucket = translate(s3_error("404", 404, "HeadBucket"), "s3://shop")
    assert "no such bucket 'shop'" in one_line(bucket)


def test_s3_without_credentials_or_endpoint() -> None:
    error = translate(NoCredentialsError(), "s3://shop/in")
    assert isinstance(error, StorageCredentialsError) and not retryable(error)
    assert one_line(error).startswith("s3://shop/in: no S3 credentials found: set "
                                      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    refused = EndpointConnectionError(endpoint_url="http://minio:9000/shop?list-type=2",
                                      error="x")
    refused.__cause__ = ConnectionRefusedError(111, "Connect call failed")
    error = translate(refused, "s3://shop/in")
    assert isinstance(error, StorageUnavailableError) and retryable(error)
    assert one_line(error) == ("cannot reach the S3 endpoint http://minio:9000 (connection "
                               "refused): check --storage-option s3.endpoint_url")


@pytest.mark.parametrize(("union", "says"), [
    (dropbox.auth.AuthError.expired_access_token,
     "Dropbox refused the token (expired): get a new DROPBOX_TOKEN, or set "
     "DROPBOX_REFRESH_TOKEN + DROPBOX_APP_KEY so it refreshes itself"),
    (dropbox.auth.AuthError.invalid_access_token,
     "Dropbox refused the token (invalid): check DROPBOX_TOKEN"),
    (dropbox.auth.AuthError.missing_scope(
        dropbox.auth.TokenScopeError(required_scope="files.content.write")),
     "Dropbox refused the token (missing scope files.content.write)"),
])
def test_dropbox_token_refusals(union: Any, says: str) -> None:
    error = translate(dropbox.exceptions.AuthError("rid", union), "dropbox://Apps/in")
    assert isinstance(error, StorageCredentialsError) and not retryable(error)
    assert one_line(error).startswith(says)


def test_dropbox_route_errors() -> None:
    missing = dropbox.exceptions.ApiError(
        "rid", dropbox.files.ListFolderError.path(dropbox.files.LookupError.not_found),
        None, None)
    assert missing_path(missing)
    assert one_line(translate(missing, "dropbox://Apps/in")) == (
        "dropbox://Apps/in: no such file or folder on Dropbox (path/not_found)")
    busy = translate(dropbox.exceptions.RateLimitError("rid", None, 5), "dropbox://Apps/in")
    assert isinstance(busy, StorageUnavailableError)


def test_a_lost_network_names_the_host_it_could_not_resolve() -> None:
    class NameResolutionError(Exception):  # urllib3's, as requests nests it
        pass

    reason = NameResolutionError("HTTPSConnection(host='api.dropboxapi.com', port=443): "
                                 "Failed to resolve 'api.dropboxapi.com' ([Errno -2] …)")
    reason.__cause__ = socket.gaierror(-2, "Name or service not known")
    lost = requests.exceptions.ConnectionError(reason)
    error = translate(lost, "dropbox://Apps/in")
    assert isinstance(error, StorageUnavailableError)
    assert one_line(error) == ("cannot reach Dropbox (cannot resolve api.dropboxapi.com): "
                               "check the network")


def test_azure_answers() -> None:
    refused = ClientAuthenticationError(message="Server failed to authenticate the request.\n"
                                        "ErrorCode:AuthenticationFailed")
    refused.error_code = "AuthenticationFailed"  # type: ignore[attr-defined]
    error = translate(refused, "az://shop/in")
    assert isinstance(error, StorageCredentialsError)
    assert "Azure refused the credentials (AuthenticationFailed)" in one_line(error)
    container = ResourceNotFoundError(message="The specified container does not exist.")
    container.error_code = "ContainerNotFound"  # type: ignore[attr-defined]
    wrapped = FileNotFoundError("shop/in")
    wrapped.__cause__ = container
    assert not missing_path(wrapped), "a missing container is not just a missing folder"
    assert "no such container 'shop'" in one_line(translate(wrapped, "az://shop/in"))
    offline = translate(ServiceRequestError("Connection refused"), "az://shop/in")
    assert isinstance(offline, StorageUnavailableError)
    assert one_line(offline).startswith("cannot reach Azure Blob Storage")


def _library_error(module: str, name: str, *args: Any, **attributes: Any) -> Exception:
    """An exception class as an absent extra (gcsfs, google-auth) defines it."""
    cls = type(name, (Exception,), {"__module__": module})
    error = cls(*args)
    for key, value in attributes.items():
        setattr(error, key, value)
    return error


def test_google_cloud_answers() -> None:
    nothing = _library_error("google.auth.exceptions", "DefaultCredentialsError", "none")
    assert "set GOOGLE_APPLICATION_CREDENTIALS" in one_line(translate(nothing, "gs://b/in"))
    bucket = _library_error("gcsfs.retry", "HttpError", "The specified bucket does not exist.",
                            code=404)
    assert "no such bucket 'b'" in one_line(translate(bucket, "gs://b/in"))
    denied = _library_error("gcsfs.retry", "HttpError", "forbidden", code=403)
    assert isinstance(translate(denied, "gs://b/in"), StorageDeniedError)


def test_plain_errors_keep_their_text_and_a_bug_is_none() -> None:
    missing = translate(FileNotFoundError(2, "No such file", "/in/a.jpg"), "/in")
    assert isinstance(missing, StorageDeniedError) and not retryable(missing)
    assert str(missing) == "[Errno 2] No such file: '/in/a.jpg'"
    hiccup = translate(TimeoutError("timed out"), "/in")
    assert isinstance(hiccup, StorageUnavailableError) and retryable(hiccup)
    assert translate(ValueError("a bug"), "/in") is None
