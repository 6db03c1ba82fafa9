"""One file through one op: outcomes, atomic writes, metadata, and errors as results."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from lampyris.imaging.xmp import read_preset
from lampyris.workflows.filejob import FileJob, run_file
from lampyris.workflows.files import FileTask


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A red disc on grey with an EXIF tag (Artist) to carry over."""
    img = np.full((240, 320, 3), 238, np.uint8)
    cv2.circle(img, (160, 120), 80, (200, 30, 30), -1)
    exif = Image.Exif()
    exif[0x013B] = "lampyris tests"
    path = tmp_path / "photo.jpg"
    Image.fromarray(img).save(path, exif=exif)
    return path


def test_done_writes_the_cutout(photo: Path, tmp_path: Path) -> None:
    task = FileTask(photo, tmp_path / "out" / "photo.png")
    result = run_file(task, FileJob("cutout"))
    assert result.outcome == "done" and result.seconds > 0
    with Image.open(task.destination) as img:
        out = np.asarray(img)
    assert out.shape == (240, 320, 4) and out[120, 160, 3] == 255 and out[2, 2, 3] == 0
    assert list(task.destination.parent.iterdir()) == [task.destination]  # no temp file left


def test_existing_output_is_skipped_unless_overwrite(photo: Path, tmp_path: Path) -> None:
    dest = tmp_path / "photo.png"
    dest.write_bytes(b"previous")
    skipped = run_file(FileTask(photo, dest), FileJob("cutout"))
    assert skipped.outcome == "skipped" and dest.read_bytes() == b"previous"
    done = run_file(FileTask(photo, dest), FileJob("cutout", overwrite=True))
    assert done.outcome == "done" and dest.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("keep", [True, False])
def test_metadata_only_on_request(photo: Path, tmp_path: Path, keep: bool) -> None:
    dest = tmp_path / "out" / "photo.jpg"
    job = FileJob("cutout", {"background": "white"}, "jpeg", keep_metadata=keep)
    assert run_file(FileTask(photo, dest), job).outcome == "done"
    with Image.open(dest) as img:
        artist = img.getexif().get(0x013B)
    assert artist == ("lampyris tests" if keep else None)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"not an image", "not"), (b"", "empty"), (None, "truncated")],
)
def test_bad_files_fail_with_a_reason(
    photo: Path, tmp_path: Path, content: bytes | None, reason: str
) -> None:
    src = tmp_path / "bad.jpg"
    src.write_bytes(photo.read_bytes()[:2000] if content is None else content)
    dest = tmp_path / "out" / "bad.png"
    result = run_file(FileTask(src, dest), FileJob("cutout"))
    assert result.outcome == "failed" and reason in result.reason.lower()
    assert not dest.exists()


def test_params_problems_become_failures(photo: Path, tmp_path: Path) -> None:
    jpeg_with_alpha = FileJob("cutout", {}, "jpeg")
    result = run_file(FileTask(photo, tmp_path / "x.jpg"), jpeg_with_alpha)
    assert result.outcome == "failed" and "alpha" in result.reason.lower()


def test_any_op_keeps_the_format_its_destination_names_and_writes_a_sidecar(
        photo: Path, tmp_path: Path) -> None:
    dim = tmp_path / "dim.jpg"  # under-exposed, so auto tone has something to choose
    Image.fromarray((np.asarray(Image.open(photo)) // 3).astype(np.uint8)).save(dim)
    dest = tmp_path / "out" / "photo.jpg"
    job = FileJob("auto_tone", {"strength": 0.5}, format=None, xmp_sidecar=True)
    assert run_file(FileTask(dim, dest), job).outcome == "done"
    with Image.open(dest) as img:
        assert img.format == "JPEG" and img.size == (320, 240)
    preset = read_preset((tmp_path / "out" / "photo.xmp").read_bytes())
    assert preset.settings["exposure"] != 0  # what auto tone chose, at half strength
