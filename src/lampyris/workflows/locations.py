"""Batch sources and sinks by URL, through fsspec: local paths, ``s3://`` (any endpoint),
``az://``, ``gs://``, ``dropbox://``.

A ``Location`` is a URL plus fsspec storage options, small and picklable, so worker processes
rebuild the filesystem themselves (fsspec caches one instance per process and options).
Credentials come from each backend's usual environment (``AWS_*``, ``AZURE_STORAGE_*``,
``GOOGLE_APPLICATION_CREDENTIALS``, ``DROPBOX_TOKEN``) or from explicit options.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import fsspec
from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

from lampyris.errors import InvalidParameterError, StorageError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif",
                            ".heic", ".heif", ".avif"})
_PREFIX_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})
_EXTRAS = {"s3": "s3", "s3a": "s3", "az": "azure", "abfs": "azure", "abfss": "azure",
           "gs": "gcs", "gcs": "gcs", "dropbox": "dropbox"}


# What each backend calls the field that changes with the content (S3 ETag, Azure etag, local
# mtime, Dropbox/GCS timestamps).
_STAMP_KEYS = ("ETag", "etag", "mtime", "LastModified", "last_modified", "updated",
               "server_modified", "created")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One input found by listing: its full path on the filesystem, its path relative to the
    source root, and a stamp (size + ETag/mtime) that changes when the file does."""

    path: str
    rel: str
    size: int
    stamp: str


@dataclass(frozen=True)
class Location:
    """A folder (or a single file) at ``url``, opened with ``options``."""

    url: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def protocol(self) -> str:
        return self.url.split("://", 1)[0] if "://" in self.url else "file"

    def open(self) -> tuple[AbstractFileSystem, str]:
        """The filesystem and the root path on it; a missing backend is a clear error."""
        options = dropbox_auth(self.options) if self.protocol == "dropbox" else self.options
        try:
            fs, root = fsspec.core.url_to_fs(self.url, **options)
        except ImportError as exc:
            extra = _EXTRAS.get(self.protocol, self.protocol)
            raise InvalidParameterError(
                f"{self.protocol}:// needs an extra package: pip install 'lampyris[{extra}]' "
                f"({exc})") from None
        except ValueError as exc:
            raise InvalidParameterError(f"{self.url}: {exc}") from None
        return fs, str(root).rstrip("/") or str(root)

    def url_of(self, rel: str) -> str:
        """The URL of ``rel`` below this location (what the ledger and reports show)."""
        return f"{self.url.rstrip('/')}/{rel}"



def dropbox_auth(options: dict[str, Any]) -> dict[str, Any]:
    """Dropbox credentials: explicit ``token``/``client`` options win; else ``DROPBOX_TOKEN``
    (a short-lived access token); else ``DROPBOX_REFRESH_TOKEN`` + ``DROPBOX_APP_KEY`` (+
    ``DROPBOX_APP_SECRET``), which refresh themselves: what a weekly ``--watch`` needs."""
    if "token" in options or "client" in options:
        return options
    env = os.environ
    if env.get("DROPBOX_TOKEN"):
        return {**options, "token": env["DROPBOX_TOKEN"]}
    if env.get("DROPBOX_REFRESH_TOKEN") and env.get("DROPBOX_APP_KEY"):
        try:
            import dropbox
        except ImportError:
            raise InvalidParameterError(
                "dropbox:// needs an extra package: pip install 'lampyris[dropbox]'") from None
        client = dropbox.Dropbox(oauth2_refresh_token=env["DROPBOX_REFRESH_TOKEN"],
                                 app_key=env["DROPBOX_APP_KEY"],
                                 app_secret=env.get("DROPBOX_APP_SECRET"))
        return {**options, "client": client}
    raise InvalidParameterError(
        "dropbox:// needs credentials: set DROPBOX_TOKEN, or DROPBOX_REFRESH_TOKEN and "
        "DROPBOX_APP_KEY (and DROPBOX_APP_SECRET), or --storage-option dropbox.token=…")


def list_images(location: Location) -> Iterator[SourceFile]:
    """Every image below ``location`` (recursively; by suffix), in a stable order."""
    fs, root = location.open()
    try:
        if fs.isfile(root):
            info = fs.info(root)
            yield _source(info, PurePosixPath(root).name)
            return
        if isinstance(fs, LocalFileSystem) and os.path.isdir(root):
            yield from _local_images(root)
            return
        found = fs.find(root, detail=True)
        # fsspec's find() answers {} for a missing folder instead of raising: tell them apart
        # where folders are real, so a mistyped source is an error rather than a run that
        # quietly does nothing. In a bucket an empty prefix is just empty (``--watch`` waits
        # for files to arrive there), but the bucket itself must exist.
        if not found and not fs.isdir(root):
            if location.protocol not in _PREFIX_STORES:
                raise FileNotFoundError(root)
            bucket = root.split("/", 1)[0]
            if not fs.exists(bucket):
                raise FileNotFoundError(bucket)
    except FileNotFoundError:
        raise StorageError(f"{location.url}: no such folder") from None
    except OSError as exc:
        raise StorageError(f"{location.url}: cannot list ({exc})") from None
    base = root.rstrip("/") + "/"
    # Keep a compact record per image and drop fsspec's detail dicts (~1 KB per file).
    images = []
    for path, info in found.items():
        if info.get("type") == "directory":
            continue
        if PurePosixPath(path).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        rel = path[len(base):] if path.startswith(base) else PurePosixPath(path).name
        images.append(_source(info, rel))
    del found
    images.sort(key=lambda f: f.path)
    yield from images


def _local_images(root: str) -> Iterator[SourceFile]:
    """A local tree through ``os.scandir``: no per-file dicts, so listing 100,000 files costs
    their compact records only."""
    images: list[SourceFile] = []
    pending = [root]
    base = root.rstrip("/") + "/"
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES:
                    stat = entry.stat()
                    images.append(SourceFile(
                        path=entry.path, rel=entry.path[len(base):], size=stat.st_size,
                        stamp=f"{stat.st_size}:{stat.st_mtime:.6f}"))
    images.sort(key=lambda f: f.path)
    yield from images


def _source(info: dict[str, Any], rel: str) -> SourceFile:
    path = info["name"]
    size = int(info.get("size") or 0)
    tag = next((info[k] for k in _STAMP_KEYS if info.get(k)), "")
    if isinstance(tag, float):
        tag = f"{tag:.6f}"
    return SourceFile(path=path, rel=rel.lstrip("/"), size=size, stamp=f"{size}:{tag}")
