"""Reading job inputs and writing job outputs by reference, behind one SSRF guard."""

from __future__ import annotations

from lampyris.storage.base import (
    STORAGE_TYPES,
    Blob,
    Storage,
    StorageRef,
    StorageType,
    require_storage_type,
)
from lampyris.storage.fetch import MAX_REDIRECTS, HttpFetcher, redact
from lampyris.storage.fsspec import FsspecStorage
from lampyris.storage.guard import GuardedUrl, UrlGuard, forbidden_reason, resolve
from lampyris.storage.hosting import open_object_store
from lampyris.storage.memory import MemoryStorage
from lampyris.storage.objectstore import LocalObjectStore, ObjectStore, validate_key
from lampyris.storage.presigned import PresignedStorage, write_request
from lampyris.storage.routed import RoutedStorage
from lampyris.storage.s3objects import S3ObjectStore, parse_s3_url
from lampyris.storage.settings import StorageSettings

__all__ = [
    "MAX_REDIRECTS",
    "STORAGE_TYPES",
    "Blob",
    "FsspecStorage",
    "GuardedUrl",
    "HttpFetcher",
    "LocalObjectStore",
    "MemoryStorage",
    "ObjectStore",
    "PresignedStorage",
    "RoutedStorage",
    "S3ObjectStore",
    "Storage",
    "StorageRef",
    "StorageSettings",
    "StorageType",
    "UrlGuard",
    "forbidden_reason",
    "open_object_store",
    "parse_s3_url",
    "redact",
    "require_storage_type",
    "resolve",
    "validate_key",
    "write_request",
]
