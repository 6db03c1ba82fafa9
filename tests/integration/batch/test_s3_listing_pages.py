"""Listing an S3 source page by page on a real Ceph radosgw (issue 16): every image once, in
the order of their paths, with the same records (path, size, ETag stamp) fsspec's ``find``
gave, across many pages; and a run over more keys than one page of S3's own size."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from lampyris.storage import locations
from lampyris.storage.locations import Location, list_images
from support import s3
from support.ceph import CephS3

KEYS = ([f"in/{n:03d}.png" for n in range(30)]
        + ["in/sub/a.jpg", "in/sub/deep/b.webp", "in/a-b.png", "in/a/b.png", "in/a.png",
           "in/.hidden.png", "in/sub/.thumbs/c.png", "in/notes.txt", "in/x.png/",
           "in/x.png/inner.png", "inbox/not-below.png", "other/elsewhere.png"])


def options(server: CephS3) -> dict[str, Any]:
    return {"endpoint_url": server.endpoint_url, "key": server.access_key,
            "secret": server.secret_key}


def put_all(server: CephS3, bucket: str, keys: list[str]) -> None:
    client = s3.client_for(server)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.put_object(client, bucket, key, key.encode()), keys))


def test_small_pages_list_every_image_once_in_order(
        ceph_s3: CephS3, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    put_all(ceph_s3, s3_bucket, KEYS)
    location = Location(f"s3://{s3_bucket}/in", options(ceph_s3))
    fs, _ = location.open()
    pages: list[str | None] = []
    call = fs.call_s3

    def counting(method: str, **kwargs: Any) -> Any:
        if method == "list_objects_v2":
            pages.append(kwargs.get("ContinuationToken"))
        return call(method, **kwargs)

    monkeypatch.setattr(fs, "call_s3", counting)  # fsspec hands list_images this instance
    found = list(list_images(location, page_keys=7))
    below = [k for k in KEYS if k.startswith("in/")]
    assert len(pages) == -(-len(below) // 7) > 1  # every page asked for, each once
    assert pages[0] is None and len(set(pages[1:])) == len(pages) - 1 and None not in pages[1:]
    rels = [f.rel for f in found]
    assert rels == sorted(rels) and len(set(rels)) == len(rels)
    assert rels == sorted([k[3:] for k in KEYS if k.startswith("in/") and "/." not in k
                           and k.endswith((".png", ".jpg", ".webp"))])
    # the records fsspec's find made, so a ledger written before sees nothing changed (but
    # for the placeholder of a folder named like an image, which find took for an image)
    monkeypatch.setattr(locations, "_pages_s3", lambda fs: False)
    assert [f for f in list_images(location) if f.rel != "x.png/"] == found
    assert all(f.stamp.startswith(f"{f.size}:\"") for f in found)  # size:ETag


def test_a_prefix_that_is_one_file_empty_or_missing(ceph_s3: CephS3, s3_bucket: str) -> None:
    put_all(ceph_s3, s3_bucket, ["in/one.png", "in/one.png.bak", "empty/"])
    (one,) = list_images(Location(f"s3://{s3_bucket}/in/one.png", options(ceph_s3)))
    assert (one.path, one.rel, one.size) == (f"{s3_bucket}/in/one.png", "one.png", 10)
    assert list(list_images(Location(f"s3://{s3_bucket}/empty", options(ceph_s3)))) == []
    assert list(list_images(Location(f"s3://{s3_bucket}/missing/", options(ceph_s3)))) == []
    assert [f.rel for f in list_images(Location(f"s3://{s3_bucket}", options(ceph_s3)))] == [
        "in/one.png"]


def test_a_batch_of_more_keys_than_one_page(ceph_s3: CephS3, s3_bucket: str,
                                            tmp_path: Path) -> None:
    """2,500 objects (S3 pages hold 1,000) through a dry run of the real CLI."""
    count = 2500
    put_all(ceph_s3, s3_bucket, [f"in/{n:05d}.png" for n in range(count)])
    done = subprocess.run(
        [sys.executable, "-m", "lampyris.cli.app", "batch", f"s3://{s3_bucket}/in/",
         f"s3://{s3_bucket}/out/", "--steps", "auto_tone", "--dry-run",
         "--ledger", str(tmp_path / "ledger.db"),
         *[arg for key, value in options(ceph_s3).items()
           for arg in ("--storage-option", f"s3.{key}={value}")]],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert f"{count} image(s) in s3://{s3_bucket}/in/: {count} to process" in done.stdout
    lines = [line.strip() for line in done.stdout.splitlines() if "→" in line]
    assert lines[0] == (f"s3://{s3_bucket}/in/00000.png → s3://{s3_bucket}/out/00000.png")
    assert lines[-1].endswith("/00019.png") and f"… and {count - 20} more" in done.stdout
