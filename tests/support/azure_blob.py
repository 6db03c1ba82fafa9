"""azure-storage-blob helpers for Azurite: container, blob upload, read / write SAS URLs.

A SAS URL for a blob is ``{blob_endpoint}/{container}/{blob}?{sas}``. Writing through one with a
plain HTTP PUT needs the header ``x-ms-blob-type: BlockBlob``.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContentSettings,
    generate_blob_sas,
)

if TYPE_CHECKING:
    from support.azurite import Azurite

BLOCK_BLOB_HEADERS = {"x-ms-blob-type": "BlockBlob"}


def service_client(server: Azurite) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(server.connection_string)


def create_container(server: Azurite, container: str) -> None:
    """Create ``container`` (no error when it exists)."""
    with contextlib.suppress(ResourceExistsError):
        service_client(server).create_container(container)


def upload_blob(
    server: Azurite,
    container: str,
    blob: str,
    data: bytes,
    *,
    content_type: str = "application/octet-stream",
) -> None:
    service_client(server).get_blob_client(container, blob).upload_blob(
        data, overwrite=True, content_settings=ContentSettings(content_type=content_type)
    )


def download_blob(server: Azurite, container: str, blob: str) -> bytes:
    return service_client(server).get_blob_client(container, blob).download_blob().readall()


def blob_sas_url(
    server: Azurite,
    container: str,
    blob: str,
    permission: BlobSasPermissions,
    *,
    expires_in: timedelta = timedelta(hours=1),
) -> str:
    """A SAS URL for one blob; a negative ``expires_in`` gives an already expired one."""
    now = datetime.now(UTC)
    sas = generate_blob_sas(
        account_name=server.account_name,
        container_name=container,
        blob_name=blob,
        account_key=server.account_key,
        permission=permission,
        start=now - timedelta(minutes=5),
        expiry=now + expires_in,
    )
    return f"{server.blob_endpoint}/{container}/{quote(blob)}?{sas}"


def read_sas_url(
    server: Azurite, container: str, blob: str, *, expires_in: timedelta = timedelta(hours=1)
) -> str:
    return blob_sas_url(
        server, container, blob, BlobSasPermissions(read=True), expires_in=expires_in
    )


def write_sas_url(
    server: Azurite, container: str, blob: str, *, expires_in: timedelta = timedelta(hours=1)
) -> str:
    """Create + write (overwrite) permission: enough for a PUT of a new or existing blob."""
    return blob_sas_url(
        server,
        container,
        blob,
        BlobSasPermissions(read=True, create=True, write=True),
        expires_in=expires_in,
    )
