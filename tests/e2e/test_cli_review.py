"""``lampyris cutout`` end to end with the review score (issue 20): real processes, the real
model and the real score. A clear product shot passes; generated low-contrast clutter (no
subject a model can be sure of, touching every border) is flagged, counted on the summary
line, routed by ``--on-review move:`` and listed first in the summary JSON and the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from support.images import clutter

pytestmark = pytest.mark.slow


def lampyris(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "lampyris.cli.app", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)


def product(path: Path) -> Path:
    """A red disc on a light grey sweep: the shot u2netp is sure of."""
    img = np.full((320, 400, 3), 238, np.uint8)
    cv2.circle(img, (200, 160), 100, (200, 30, 30), -1)
    Image.fromarray(img).save(path)
    return path


@pytest.fixture
def shoot(tmp_path: Path) -> Path:
    root = tmp_path / "shoot"
    (root / "sub").mkdir(parents=True)
    product(root / "bottle.png")
    clutter(root / "sub" / "shelf.png")
    return root


def test_the_hard_image_is_flagged_moved_and_listed_first(shoot: Path, tmp_path: Path):
    out, check = tmp_path / "out", tmp_path / "check"
    report, summary = tmp_path / "report.html", tmp_path / "summary.json"
    done = lampyris("cutout", shoot, "--output", out, "--jobs", "1",
                    "--on-review", f"move:{check}", "--report", report, "--summary", summary)
    assert done.returncode == 0, done.stderr  # a result to check is no failure
    assert "done 2" in done.stderr and "failed 0" in done.stderr
    assert "1 to review (score < 0.5, 1 moved)" in done.stderr, done.stderr
    assert "sub/shelf.png: score 0." in done.stderr

    # the easy one where it was asked for, the hard one in the review folder, same tree
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["bottle.png"]
    assert sorted(p.relative_to(check).as_posix() for p in check.rglob("*.png")) == [
        "sub/shelf.png"]
    cut = np.asarray(Image.open(out / "bottle.png"))
    assert cut[160, 200, 3] == 255 and cut[5, 5, 3] == 0
    assert np.asarray(Image.open(check / "sub" / "shelf.png")).shape == (320, 400, 4)

    data = json.loads(summary.read_text())
    names = [Path(item["input"]).name for item in data["items"]]
    assert names == ["shelf.png", "bottle.png"], "worst first"
    hard, easy = data["items"]
    assert hard["review"]["flag"] is True and hard["review"]["reasons"]
    assert hard["review"]["score"] < 0.5 <= easy["review"]["score"]
    assert easy["review"]["flag"] is False
    assert hard["output"] == str(check / "sub" / "shelf.png")
    assert data["review"] == {"threshold": 0.5, "this_run": 1, "moved": 1, "ledger": 1}

    page = report.read_text()
    listed = page[page.index('<section id="review">'):page.index('<section id="contact')]
    assert "To review (1)" in listed and "sub/shelf.png" in listed
    assert hard["review"]["reasons"][0] in listed.replace("&#x27;", "'")
    sheet = page[page.index('<section id="contact'):]
    assert sheet.index("sub/shelf.png") < sheet.index("bottle.png")


def test_the_threshold_decides_what_is_flagged(shoot: Path, tmp_path: Path):
    out = tmp_path / "out"
    lax = lampyris("cutout", shoot, "--output", out, "--jobs", "1", "--review-threshold", "0")
    assert lax.returncode == 0, lax.stderr
    assert "0 to review (score < 0)" in lax.stderr
    assert sorted(p.name for p in out.rglob("*.png")) == ["bottle.png", "shelf.png"]
    strict = lampyris("cutout", shoot, "--output", out, "--jobs", "1", "--overwrite",
                      "--review-threshold", "1")
    assert strict.returncode == 0, strict.stderr
    assert "2 to review (score < 1)" in strict.stderr
    bad = lampyris("cutout", shoot, "--output", out, "--on-review", "somewhere")
    assert bad.returncode == 2 and "--on-review is keep or move:URL" in bad.stderr
