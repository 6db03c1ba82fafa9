"""PresignedStorage: the request each Adobe storage type turns into, on a real local server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lampyris.errors import ForbiddenUrlError, StorageDeniedError
from lampyris.storage import PresignedStorage, StorageRef, StorageSettings
from support.http_server import Reply, ScriptedServer, fast_settings


@pytest.fixture
def storage() -> Iterator[PresignedStorage]:
    with PresignedStorage(fast_settings()) as presigned:
        yield presigned


@pytest.mark.parametrize(
    ("kind", "method", "expected"),
    [
        ("external", "PUT", {"content-type": "image/png"}),
        ("azure", "PUT", {"content-type": "image/png", "x-ms-blob-type": "BlockBlob"}),
        ("dropbox", "POST", {"content-type": "application/octet-stream"}),
    ],
)
def test_each_storage_type_sends_its_providers_upload_request(
    http_server: ScriptedServer,
    storage: PresignedStorage,
    kind: str,
    method: str,
    expected: dict[str, str],
) -> None:
    ref = StorageRef(http_server.url("/out.png?sig=abc"), kind)  # type: ignore[arg-type]
    storage.write(ref, b"\x89PNG", "image/png")
    (request,) = http_server.requests
    assert (request.method, request.path, request.body) == (method, "/out.png?sig=abc", b"\x89PNG")
    assert {name: request.headers.get(name) for name in expected} == expected
    assert request.headers["content-length"] == "4"
    assert ("x-ms-blob-type" in request.headers) == (kind == "azure")


def test_a_missing_content_type_is_sent_as_octet_stream(
    http_server: ScriptedServer, storage: PresignedStorage
) -> None:
    storage.write(StorageRef(http_server.url("/raw")), b"data", "")
    assert http_server.requests[0].headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize("kind", ["external", "azure", "dropbox"])
def test_every_storage_type_reads_with_get(
    http_server: ScriptedServer, storage: PresignedStorage, kind: str
) -> None:
    http_server.script("/in.jpg", Reply(200, b"jpeg", {"Content-Type": "image/jpeg"}))
    blob = storage.read(StorageRef(http_server.url("/in.jpg"), kind))  # type: ignore[arg-type]
    assert (blob.data, blob.content_type) == (b"jpeg", "image/jpeg")
    assert http_server.requests[0].method == "GET"


def test_an_expired_upload_url_is_denied_with_its_status(
    http_server: ScriptedServer, storage: PresignedStorage
) -> None:
    http_server.script("/out.png", Reply(403, b"<Error><Code>AccessDenied</Code></Error>"))
    with pytest.raises(StorageDeniedError) as caught:
        storage.write(StorageRef(http_server.url("/out.png?se=2001&sig=SECRET"), "azure"), b"x", "")
    assert caught.value.storage_status == 403
    assert "SECRET" not in str(caught.value)


def test_default_settings_refuse_loopback(http_server: ScriptedServer) -> None:
    with PresignedStorage(StorageSettings()) as storage, pytest.raises(ForbiddenUrlError) as caught:
        storage.read(StorageRef(http_server.url("/in.png")))
    assert "LAMPYRIS_ALLOW_PRIVATE_URLS" in str(caught.value)
    assert http_server.requests == []
