"""Whole-object writes: a reader sees the old object or the new one, never half of either.

On a local disk that takes a temp file and a rename, so an interrupted batch never leaves a
half file that a re-run would then skip as done; an object store's put already replaces the
object whole.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem


def write_atomic(path: str | os.PathLike[str], data: bytes,
                 fs: AbstractFileSystem | None = None, *, content_type: str = "") -> None:
    """Write ``data`` to ``path`` on ``fs`` (None: the local disk), replacing what was there.

    Local: a ``.<name>.<pid>.part`` temp file beside ``path``, then a rename; missing folders
    are made. Otherwise the filesystem's ``pipe_file``, with ``content_type`` kept by the
    stores that keep one (S3, Azure Blob Storage). Raises what the filesystem raises (``OSError``
    or a library's own exception: ``storage.translate`` makes one line of it).
    """
    if fs is None or isinstance(fs, LocalFileSystem):
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            tmp.write_bytes(data)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
    else:
        fs.pipe_file(str(path), data, **_typed(fs, content_type))


def _typed(fs: AbstractFileSystem, content_type: str) -> dict[str, Any]:
    """The ``pipe_file`` keyword that stores ``content_type`` on ``fs``, if it keeps one."""
    if not content_type:
        return {}
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    if protocols & {"s3", "s3a"}:
        return {"ContentType": content_type}
    if protocols & {"az", "abfs", "abfss"}:
        return {"content_settings": {"content_type": content_type}}
    return {}
