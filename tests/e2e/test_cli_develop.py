"""The installed ``lampyris`` develop commands end to end: a real process with its worker pool."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from support.photos import luminance, photo

pytestmark = pytest.mark.slow


def lampyris(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "lampyris.cli.app", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "COLUMNS": "300"})  # no wrapped messages


def test_auto_tone_a_folder_consistently_in_worker_processes(tmp_path: Path) -> None:
    shoot = tmp_path / "shoot"
    (shoot / "day2").mkdir(parents=True)
    for name, stops in (("a.jpg", -2.0), ("b.jpg", -1.0), ("day2/c.png", 0.5)):
        Image.fromarray(photo(stops)).save(shoot / name, quality=95)
    (shoot / "broken.jpg").write_bytes((shoot / "a.jpg").read_bytes()[:2000])
    out = tmp_path / "out"
    done = lampyris("auto-tone", shoot, "--output", out, "--consistent", "--xmp", "-j", "2")
    assert done.returncode == 1, done.stderr  # one input is broken
    text = " ".join(done.stderr.split())
    assert "house look: key" in text and "(measured over 3 image(s))" in text
    assert "done 3 · skipped 0 · failed 1" in text and "broken.jpg" in text
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "a.jpg", "a.xmp", "b.jpg", "b.xmp", "day2", "day2/c.png", "day2/c.xmp"]
    before = luminance(np.asarray(Image.open(shoot / "a.jpg"))).mean()
    assert luminance(np.asarray(Image.open(out / "a.jpg"))).mean() > 2 * before
    assert not list(out.rglob("*.part"))

    listed = lampyris("--help")
    assert all(f" {name} " in listed.stdout for name in ("auto-tone", "straighten", "edit"))
