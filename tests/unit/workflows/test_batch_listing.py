"""The batch's listing of a local folder as it streams (issue 16): a folder at a time, yet in
the order of the full paths, as when the whole listing was sorted at once."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from lampyris.storage.locations import Location, list_images

# names where a folder's order and its paths' order part: "." and "-" sort before "/"
NAMES = ["a.png", "a/b.png", "a-b.png", "a b.png", "a/a.png", "a/.x/c.png", "ab/c.png",
         "ab.png", "A.png", "é.png", "z/y/x.png", "z/y.png", "z.png/inner.png", "z0.png",
         "_.png", "0.png", "a/b/c/d.jpg", "a/b.jpg/e.png", "notes.txt"]


def test_a_tree_streams_in_the_order_of_its_paths(tmp_path: Path) -> None:
    root = tmp_path / "in"
    shuffled = NAMES[:]
    random.Random(16).shuffle(shuffled)
    for rel in shuffled:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    found = list(list_images(Location(str(root))))
    expected = sorted(rel for rel in NAMES if not rel.endswith(".txt") and "/." not in rel)
    assert [f.rel for f in found] == expected
    assert [f.path for f in found] == sorted(f.path for f in found)
    assert [f.path for f in found] == [f"{root}/{rel}" for rel in expected]


def test_a_file_or_folder_gone_before_it_is_read_is_left_out(tmp_path: Path) -> None:
    root = tmp_path / "in"
    for rel in ("a.png", "b.png", "c/d.png", "e.png"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    listing = list_images(Location(str(root)))
    assert next(listing).rel == "a.png"
    (root / "b.png").unlink()  # between their folder's read and their own
    shutil.rmtree(root / "c")
    assert [f.rel for f in listing] == ["e.png"]
