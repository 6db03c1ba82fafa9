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
from lampyris.imaging.decode import IMAGE_SUFFIXES
from lampyris.storage.dropbox import dropbox_auth
from lampyris.storage.translate import missing_path, reach, translate

_PREFIX_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})
_EXTRAS = {"s3": "s3", "s3a": "s3", "az": "azure", "abfs": "azure", "abfss": "azure",
           "gs": "gcs", "gcs": "gcs", "dropbox": "dropbox"}


S3_PAGE_KEYS = 1000  # keys a ``list_objects_v2`` page holds at most (S3's own maximum)

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
    modified: float | None = None  # seconds since the epoch, where the listing says (local)


@dataclass(frozen=True)
class Location:
    """A folder (or a single file) at ``url``, opened with ``options``."""

    url: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def protocol(self) -> str:
        if "://" in self.url:
            return self.url.split("://", 1)[0]
        return "dropbox" if self.url.startswith("dropbox:/") else "file"

    def open(self) -> tuple[AbstractFileSystem, str]:
        """The filesystem and the root path on it; a missing backend is a clear error.

        Every form of a Dropbox URL names the same folder: ``dropbox://Apps/in``,
        ``dropbox:///Apps/in/``, ``dropbox:/Apps/in`` all open ``/Apps/in`` (the SDK refuses
        a path without the leading slash), and ``dropbox://`` the root, ``/``.
        """
        url, options = self.url, self.options
        if self.protocol == "dropbox":
            options = dropbox_auth(options)  # quiets the SDK's logger too
            inside = url.split(":", 1)[1].strip("/")
            url = f"dropbox:///{inside}" if inside else "dropbox://"
        try:
            fs, root = fsspec.core.url_to_fs(url, **options)
        except ImportError as exc:
            extra = _EXTRAS.get(self.protocol, self.protocol)
            raise InvalidParameterError(
                f"{self.protocol}:// needs an extra package: pip install 'lampyris[{extra}]' "
                f"({exc})") from None
        except ValueError as exc:
            raise InvalidParameterError(f"{self.url}: {exc}") from None
        root = str(root).rstrip("/") or str(root)
        # paths are joined onto the root, so Dropbox's is "/" here; a listing asks for ""
        return fs, "/" if self.protocol == "dropbox" and not root else root

    def url_of(self, rel: str) -> str:
        """The URL of ``rel`` below this location (what the ledger and reports show)."""
        if self.url.endswith("://"):  # a whole bucket or Dropbox
            return f"{self.url}{rel}"
        return f"{self.url.rstrip('/')}/{rel}"


def list_images(location: Location, *, page_keys: int = S3_PAGE_KEYS) -> Iterator[SourceFile]:
    """Every image below ``location`` (recursively; by suffix), in the order of their paths.

    Local folders and S3 stream: a folder at a time (``os.scandir``), a page of ``page_keys``
    keys at a time (``list_objects_v2``, which answers in key order), so a million inputs
    never sit in memory at once. Other backends (Azure, GCS, Dropbox, memory) list
    everything with fsspec's ``find`` (or Dropbox's SDK) first and sort it.

    A storage failure is one line that says what to do (``translate``): an unreachable
    endpoint, missing or refused credentials, a missing bucket; a missing folder is "no such
    folder". fsspec's ``isfile``/``exists``/``find`` answer False or {} for any of these on some
    backends, so listing calls what raises.
    """
    fs, root = location.open()
    if isinstance(fs, LocalFileSystem) and os.path.isdir(root):
        yield from _local_images(root)
        return
    if location.protocol in ("s3", "s3a") and _pages_s3(fs):
        yield from _s3_images(location, fs, root, page_keys)
        return
    try:
        found = _find_dropbox(fs, root) if _is_dropbox(fs) else _find(location, fs, root)
    except Exception as exc:
        raise _listing_error(location, exc) from None
    if list(found) == [root] and found[root].get("type") != "directory":
        yield _source(found[root], PurePosixPath(root).name)  # the source is this one file
        return
    base = root.rstrip("/") + "/"
    # Keep a compact record per image and drop fsspec's detail dicts (~1 KB per file).
    images = []
    for path, info in found.items():
        if info.get("type") == "directory":
            continue
        if PurePosixPath(path).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        # every path found is below the root; Dropbox answers in the folders' own case
        rel = (path[len(base):] if path.lower().startswith(base.lower())
               else PurePosixPath(path).name)
        if _hidden(rel):
            continue
        images.append(_source(info, rel))
    del found
    images.sort(key=lambda f: f.path)
    yield from images


def probe(location: Location) -> None:
    """Fail now, in one line, where every read or write below ``location`` would: an
    unreachable S3 endpoint, no credentials or refused ones, a missing bucket. For a sink,
    before a batch starts (a folder that does not exist yet is fine: writes make it)."""
    fs, root = location.open()
    try:
        _reach(location)
        bucket = root.split("/", 1)[0]
        if location.protocol in ("s3", "s3a") and hasattr(fs, "call_s3"):
            # a listing, not HEAD: a HEAD answer has no body to tell a wrong secret (403
            # SignatureDoesNotMatch) from a missing permission (403 AccessDenied)
            fs.call_s3("list_objects_v2", Bucket=bucket, MaxKeys=1)
        elif location.protocol in _PREFIX_STORES:
            fs.info(bucket)
        elif _is_dropbox(fs):
            fs.dbx.files_list_folder("", limit=1)
    except Exception as exc:
        raise _listing_error(location, exc) from None


def _pages_s3(fs: Any) -> bool:
    """s3fs, listing the latest version of each key (a versioned one goes through ``find``)."""
    return hasattr(fs, "call_s3") and not getattr(fs, "version_aware", False)


def _s3_images(location: Location, fs: Any, root: str, page_keys: int
               ) -> Iterator[SourceFile]:
    """The images below ``root`` on S3 as ``list_objects_v2`` pages arrive (key order is
    path order: S3 sorts keys by their UTF-8 bytes, as Python sorts code points); one file
    when ``root`` names one; nothing for an empty or missing prefix of a bucket that exists.
    The same records as ``find``'s (path, size, ETag), without s3fs's listing cache, which
    keeps every key of a ``find`` for the life of the process."""
    bucket, _, key = root.partition("/")
    kwargs = {"Bucket": bucket, "Prefix": f"{key}/" if key else "", "MaxKeys": page_keys,
              **getattr(fs, "req_kw", {})}
    base = f"{bucket}/{kwargs['Prefix']}"
    listed = False
    while True:
        try:
            if "ContinuationToken" not in kwargs:
                _reach(location)
            page = fs.call_s3("list_objects_v2", **kwargs)
        except Exception as exc:
            raise _listing_error(location, exc) from None
        for obj in page.get("Contents", ()):
            listed = True
            path = f"{bucket}/{obj['Key']}"
            if path.endswith("/") or PurePosixPath(path).suffix.lower() not in IMAGE_SUFFIXES:
                continue  # a folder's placeholder (``x.png/`` too), or not an image
            rel = path[len(base):]
            if _hidden(rel):
                continue
            yield _source({**obj, "name": path, "size": obj.get("Size")}, rel)
        if not page.get("IsTruncated"):
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    if not listed and key:
        try:
            found = _one_file(location, fs, root)
        except Exception as exc:
            raise _listing_error(location, exc) from None
        if found is not None:
            yield _source(found, PurePosixPath(root).name)


def _one_file(location: Location, fs: AbstractFileSystem, root: str
              ) -> dict[str, Any] | None:
    """``root``'s info when it is one file; None for an empty folder, or an empty or missing
    prefix of a bucket that exists (``--watch`` waits for files to arrive there); a missing
    folder where folders are real raises, so a mistyped source is an error rather than a run
    that quietly does nothing."""
    try:
        info = fs.info(root)
    except FileNotFoundError as exc:
        if location.protocol not in _PREFIX_STORES or not missing_path(exc):
            raise
        fs.info(root.split("/", 1)[0])  # but the bucket itself must exist
        return None
    return None if info.get("type") == "directory" else info


def _find(location: Location, fs: AbstractFileSystem, root: str) -> dict[str, dict[str, Any]]:
    """What is below ``root`` (or ``{root: info}`` for one file): fsspec's ``find``, with a
    missing folder told from an empty one where folders are real, so a mistyped source is an
    error rather than a run that quietly does nothing."""
    _reach(location)
    found: dict[str, dict[str, Any]] = fs.find(root, detail=True)
    if found and list(found) != [root]:
        return found
    info = _one_file(location, fs, root)  # one file, an empty folder, or nothing
    return {} if info is None else {root: info}


def _find_dropbox(fs: Any, root: str) -> dict[str, dict[str, Any]]:
    """Dropbox through the SDK client dropboxdrivefs holds: its ``ls`` logs an ApiError and
    answers None, and fsspec's ``find`` swallows a ConnectionError, so a refused token or a
    lost network would read as an empty or missing folder. One recursive, paged listing;
    the API names the root "", not "/"."""
    dbx = fs.dbx
    path = "" if root == "/" else root
    if path:
        meta = dbx.files_get_metadata(path)
        if _dropbox_kind(meta) == "file":
            return {root: _dropbox_info(meta)}
    page = dbx.files_list_folder(path, recursive=True)
    entries = list(page.entries)
    while page.has_more:
        page = dbx.files_list_folder_continue(page.cursor)
        entries.extend(page.entries)
    return {e.path_display: _dropbox_info(e) for e in entries if _dropbox_kind(e) == "file"}


def _dropbox_kind(meta: Any) -> str:
    return {"FileMetadata": "file", "FolderMetadata": "directory"}.get(type(meta).__name__, "")


def _dropbox_info(meta: Any) -> dict[str, Any]:
    # the content hash changes exactly when the bytes do
    return {"name": meta.path_display, "size": meta.size, "type": "file",
            "etag": meta.content_hash or str(meta.server_modified)}


def _is_dropbox(fs: AbstractFileSystem) -> bool:
    return hasattr(fs, "dbx")  # dropboxdrivefs' SDK client (not a stand-in filesystem)


def _reach(location: Location) -> None:
    """An explicit endpoint answers a TCP connect before anything is listed: a wrong host or
    port fails in milliseconds, not after the client's retries (measured here on a refused
    local port: 15.9 s through s3fs, 171.8 s through adlfs)."""
    options = location.options
    if location.protocol in ("s3", "s3a"):
        endpoint = options.get("endpoint_url") or options.get("client_kwargs", {}).get(
            "endpoint_url")
        if endpoint:
            reach(str(endpoint), what="the S3 endpoint",
                  hint="check --storage-option s3.endpoint_url")
    elif location.protocol in ("az", "abfs", "abfss"):
        if options.get("account_url"):
            reach(str(options["account_url"]), what="the Azure endpoint",
                  hint="check --storage-option az.account_url")
            return
        connection = str(options.get("connection_string")
                         or os.environ.get("AZURE_STORAGE_CONNECTION_STRING") or "")
        fields = dict(part.split("=", 1) for part in connection.split(";") if "=" in part)
        if fields.get("BlobEndpoint"):
            reach(fields["BlobEndpoint"], what="the Azure endpoint",
                  hint="check BlobEndpoint in the connection string")


def _listing_error(location: Location, exc: Exception) -> Exception:
    if missing_path(exc):
        return StorageError(f"{location.url}: no such folder")
    error = translate(exc, location.url)
    if error is None:
        return exc  # a bug: raised as itself
    if str(error) == str(exc):  # a plain OSError, in its own words: say what it stopped
        return type(error)(f"{location.url}: cannot list ({exc})")
    return error


def _hidden(rel: str) -> bool:
    """Dot files and folders are never inputs: a ledger's ``.lampyris`` folder and its
    thumbnails, half-written ``.name.part`` files, macOS's ``._name.jpg`` resource forks."""
    return any(part.startswith(".") for part in rel.split("/"))


def _local_images(root: str) -> Iterator[SourceFile]:
    """A local tree through ``os.scandir``, a folder at a time, depth first: no per-file
    dicts, and only the names of the folders being walked in memory. Each folder's names are
    sorted with a subfolder's as ``name/``, which walks the tree in the order of the full
    paths (``a.png`` before ``a/b.png``, as ``.`` sorts before ``/``)."""
    base = root.rstrip("/") + "/"
    walking = [(base, iter(_folder_names(base)))]
    while walking:
        folder, names = walking[-1]
        name = next(names, None)
        if name is None:
            walking.pop()
            continue
        path = folder + name
        try:  # gone since its folder was read: the next listing decides
            if name.endswith("/"):
                walking.append((path, iter(_folder_names(path))))
                continue
            stat = os.stat(path)
        except FileNotFoundError:
            continue
        yield local_file(path, path[len(base):], stat)


def _folder_names(folder: str) -> list[str]:
    """The images and subfolders (``name/``) of one folder, sorted; no dot files (see
    ``_hidden``)."""
    names = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                names.append(entry.name + "/")
            elif os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES:
                names.append(entry.name)
    names.sort()
    return names


def local_file(path: str, rel: str, stat: os.stat_result) -> SourceFile:
    """A local file's record from its ``stat``: the stamp is size and mtime."""
    return SourceFile(path=path, rel=rel, size=stat.st_size,
                      stamp=f"{stat.st_size}:{stat.st_mtime:.6f}", modified=stat.st_mtime)


def _source(info: dict[str, Any], rel: str) -> SourceFile:
    path = info["name"]
    size = int(info.get("size") or 0)
    tag = next((info[k] for k in _STAMP_KEYS if info.get(k)), "")
    if isinstance(tag, float):
        tag = f"{tag:.6f}"
    return SourceFile(path=path, rel=rel.lstrip("/"), size=size, stamp=f"{size}:{tag}")
