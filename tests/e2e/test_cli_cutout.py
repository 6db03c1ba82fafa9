"""The installed ``lampyris`` command end to end: real processes, real files, real model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from lampyris.workflows.naming import hint

pytestmark = pytest.mark.slow


def lampyris(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "lampyris.cli.app", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=300, check=False)


def product(path: Path, size: tuple[int, int] = (360, 240), colour=(200, 30, 30)) -> Path:
    """A red disc on a light grey studio background: a subject u2netp finds reliably."""
    w, h = size
    img = np.full((h, w, 3), 238, np.uint8)
    cv2.circle(img, (w // 2, h // 2), min(w, h) // 3, colour, -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)
    return path


@pytest.fixture
def shoot(tmp_path: Path) -> Path:
    """A small tree of inputs with one corrupt JPEG and one non-image file."""
    root = tmp_path / "shoot"
    product(root / "a.jpg")
    product(root / "sub" / "b.png", colour=(30, 60, 200))
    product(root / "sub" / "deeper" / "c.webp")
    good = (root / "a.jpg").read_bytes()
    (root / "broken.jpg").write_bytes(good[: len(good) // 3])
    (root / "notes.jpg").write_bytes(b"this is not an image at all")
    (root / "readme.txt").write_text("ignored: not an image suffix")
    return root


def test_folder_keeps_tree_and_one_bad_file_does_not_stop_the_batch(shoot: Path, tmp_path: Path):
    out = tmp_path / "out"
    done = lampyris("cutout", shoot, "--output", out, "--jobs", "2")
    assert done.returncode == 1, done.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "a.png", "sub/b.png", "sub/deeper/c.png",
    ]
    assert "done 3" in done.stderr and "failed 2" in done.stderr
    assert "broken.jpg" in done.stderr and "notes.jpg" in done.stderr
    cut = np.asarray(Image.open(out / "a.png"))
    assert cut.shape == (240, 360, 4)
    assert cut[120, 180, 3] == 255 and cut[5, 5, 3] == 0  # subject kept, background removed
    assert not list(out.rglob("*.part"))


def test_rerun_skips_existing_outputs_unless_overwrite(tmp_path: Path):
    src = product(tmp_path / "in" / "x.jpg")
    out = tmp_path / "out"
    assert lampyris("cutout", src, "-o", out, "-j", "1").returncode == 0
    first = (out / "x.png").stat().st_mtime_ns
    again = lampyris("cutout", src, "-o", out, "-j", "1")
    assert again.returncode == 0 and "skipped 1" in again.stderr
    assert (out / "x.png").stat().st_mtime_ns == first
    forced = lampyris("cutout", src, "-o", out, "-j", "1", "--overwrite")
    assert "done 1" in forced.stderr and (out / "x.png").stat().st_mtime_ns != first


def test_catalog_jpeg_on_canvas_with_shadow(tmp_path: Path):
    src = product(tmp_path / "x.png", size=(600, 400))
    out = tmp_path / "out"
    done = lampyris("cutout", src, "-o", out, "-f", "jpeg", "--background", "white",
                    "--canvas", "500x700", "--padding", "10%", "--shadow", "--decontaminate", "1")
    assert done.returncode == 0, done.stderr
    img = Image.open(out / "x.jpg")
    assert img.format == "JPEG" and img.size == (500, 700) and img.mode == "RGB"
    px = np.asarray(img).astype(int)
    assert (px[5, 5] >= 250).all()  # white canvas corner
    assert px[350, 250, 0] > 150 and px[350, 250, 1] < 90  # the red disc, centred

    small = lampyris("cutout", src, "-o", tmp_path / "big", "-f", "jpeg", "--background",
                     "white", "--canvas", "1600x1600", "--padding", "6%")
    assert small.returncode == 0, small.stderr  # a notice is not a failure
    line = next(line for line in small.stderr.splitlines() if line.strip().startswith("!"))
    assert "x.png: the subject is" in line and "--max-upscale" in line


def test_mask_only_binary_and_glob(tmp_path: Path):
    product(tmp_path / "in" / "p1.jpg")
    product(tmp_path / "in" / "nested" / "p2.jpg")
    out = tmp_path / "out"
    done = lampyris("cutout", str(tmp_path / "in" / "**" / "*.jpg"), "-o", out,
                    "--mask-only", "--binary", "--format", "webp", "--lossless")
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.webp")) == [
        "nested/p2.webp", "p1.webp",
    ]
    mask = np.asarray(Image.open(out / "p1.webp").convert("L"))
    assert set(np.unique(mask)) <= {0, 255}
    assert mask[120, 180] == 255 and mask[5, 5] == 0


def test_bad_options_exit_2_with_a_reason(tmp_path: Path):
    src = product(tmp_path / "x.jpg")
    jpeg = lampyris("cutout", src, "-o", tmp_path / "o", "--format", "jpeg")
    assert jpeg.returncode == 2 and "--background" in jpeg.stderr
    colour = lampyris("cutout", src, "-o", tmp_path / "o", "--background", "no-such-colour")
    assert colour.returncode == 2 and "unknown colour" in colour.stderr
    model = lampyris("cutout", src, "-o", tmp_path / "o", "--model", "nope")
    assert model.returncode == 2 and "unknown model" in model.stderr
    missing = lampyris("cutout", tmp_path / "missing.jpg", "-o", tmp_path / "o")
    assert missing.returncode == 1 and "no such file" in missing.stderr
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_two_inputs_of_one_stem_are_refused_unless_naming_resolves_it(tmp_path: Path):
    """``0020.jpg`` (a red disc, landscape) and ``0020.png`` (a blue disc, square) would both
    be ``0020.png``: refused before anything runs, unless ``--naming`` tells them apart."""
    jpeg = product(tmp_path / "in" / "0020.jpg")
    png = product(tmp_path / "in" / "0020.png", size=(260, 260), colour=(30, 60, 200))
    out = tmp_path / "out"
    refused = lampyris("cutout", tmp_path / "in", "-o", out)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.splitlines() == [  # one line, whatever the terminal width
        f"error: {jpeg.resolve()} and {png.resolve()} would both be written to "
        f"{out.resolve() / '0020.png'}: {hint()}"]
    assert not out.exists()

    def judge(output: Path, source: Path, colour: tuple[int, int, int]) -> None:
        """``output`` is the cutout of ``source``: its size, its disc kept in its colour, its
        studio background removed."""
        cut, src = np.asarray(Image.open(output)), np.asarray(Image.open(source).convert("RGB"))
        h, w = src.shape[:2]
        assert cut.shape == (h, w, 4)
        assert cut[h // 2, w // 2, 3] == 255 and cut[3, 3, 3] == 0
        assert np.abs(cut[h // 2, w // 2, :3].astype(int) - colour).max() < 12
        subject = cut[..., 3] == 255
        assert np.abs(cut[subject][:, :3].astype(int) - src[subject]).mean() < 2

    kept = lampyris("cutout", tmp_path / "in", "-o", out, "--naming", "keep-extension")
    assert kept.returncode == 0, kept.stderr
    assert sorted(p.name for p in out.iterdir()) == ["0020.jpg.png", "0020.png.png"]
    judge(out / "0020.jpg.png", jpeg, (200, 30, 30))
    judge(out / "0020.png.png", png, (30, 60, 200))

    numbered = lampyris("cutout", png, jpeg, "-o", tmp_path / "numbered", "--naming", "number")
    assert numbered.returncode == 0, numbered.stderr
    assert sorted(p.name for p in (tmp_path / "numbered").iterdir()) == [
        "0020-2.png", "0020.png"]
    judge(tmp_path / "numbered" / "0020.png", jpeg, (200, 30, 30))  # first in sorted order
    judge(tmp_path / "numbered" / "0020-2.png", png, (30, 60, 200))


def test_models_list_and_verify():
    listed = lampyris("models", "list")
    assert listed.returncode == 0
    row = next(line for line in listed.stdout.splitlines() if "u2netp" in line)
    assert "yes" in row
    verified = lampyris("models", "verify", "u2netp")
    assert verified.returncode == 0 and "u2netp: ok" in verified.stdout
    unknown = lampyris("models", "pull", "nope")
    assert unknown.returncode == 1 and "unknown model" in unknown.stderr
