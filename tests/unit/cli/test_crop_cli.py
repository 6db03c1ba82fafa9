"""``lampyris crop``, ``depth-blur`` and ``rendition`` through the real command line (in this
process, one worker: ``--jobs 1``) on a generated photo, judged by the pixels written."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner, Result

import lampyris.cli.file_commands as cli_files
from lampyris.cli.app import app

RED, GREY = (200, 30, 30), (215, 215, 210)


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder and a console wide enough that messages are not wrapped."""
    monkeypatch.chdir(tmp_path)
    for name in ("LAMPYRIS_OUTPUT", "LAMPYRIS_JOBS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli_files, "console", Console(stderr=True, width=500, no_color=True))
    return tmp_path


@pytest.fixture
def photo(workdir: Path) -> Path:
    """A red block (x 110..210, y 60..180) on a light grey checker, 320x240, as PNG."""
    yy, xx = np.mgrid[0:240, 0:320]
    rgb = np.empty((240, 320, 3), np.uint8)
    rgb[:] = GREY
    rgb[(xx // 4 + yy // 4) % 2 == 1] = (195, 195, 190)
    rgb[60:180, 110:210] = RED
    path = workdir / "shot.png"
    Image.fromarray(rgb).save(path)
    return path


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args] + ["--jobs", "1"])


def _read(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def _size_and_format(path: Path) -> tuple[tuple[int, int], str | None]:
    with Image.open(path) as image:
        return image.size, image.format


def test_crop_writes_the_subject_with_its_padding(photo: Path) -> None:
    result = invoke("crop", photo, "--output", "out", "--width", "40", "--height", "20")
    assert result.exit_code == 0, result.output
    out = _read(Path("out/shot.png"))
    # the 100x120 block plus 40 and 20 px (the matte's edge may add a pixel or two a side)
    assert 140 <= out.shape[1] <= 146 and 140 <= out.shape[0] <= 146
    red = np.all(out == RED, axis=2)
    rows, cols = np.flatnonzero(red.any(axis=1)), np.flatnonzero(red.any(axis=0))
    left, right = int(cols[0]), out.shape[1] - 1 - int(cols[-1])
    top, bottom = int(rows[0]), out.shape[0] - 1 - int(rows[-1])
    assert abs(left - right) <= 1 and abs(top - bottom) <= 1  # half on each side
    assert 20 <= left <= 23 and 10 <= top <= 13


def test_crop_to_jpeg_puts_padding_past_the_edge_on_white(photo: Path) -> None:
    result = invoke("crop", photo, "--output", "out", "--unit", "percent", "--height", "200",
                    "--format", "jpeg")
    assert result.exit_code == 0, result.output
    out = _read(Path("out/shot.jpg"))
    assert out.shape[2] == 3 and 360 <= out.shape[0] <= 372  # 120 px (+ the edge) x 3
    assert out[:30].min() >= 245  # above the photo's top edge: white


def test_depth_blur_blurs_the_ground_and_keeps_the_subject(photo: Path) -> None:
    result = invoke("depth-blur", photo, "--output", "out", "--blur-strength", "80")
    assert result.exit_code == 0, result.output
    out, source = _read(Path("out/shot.png")), _read(photo)
    np.testing.assert_array_equal(out[70:170, 120:200], source[70:170, 120:200])
    grey = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32)
    before = cv2.cvtColor(source, cv2.COLOR_RGB2GRAY).astype(np.float32)
    ground = np.s_[0:40, 0:80]
    assert np.abs(cv2.Laplacian(grey, cv2.CV_32F))[ground].mean() < 0.1 * np.abs(
        cv2.Laplacian(before, cv2.CV_32F))[ground].mean()


def test_rendition_writes_every_width_in_every_format(photo: Path) -> None:
    result = invoke("rendition", photo, "--output", "web", "-w", "160", "-w", "0",
                    "-f", "jpeg", "-f", "png")
    assert result.exit_code == 0, result.output
    written = {p.name: _size_and_format(p) for p in Path("web").iterdir()}
    assert written == {"shot-160.jpg": ((160, 120), "JPEG"), "shot-full.jpg": ((320, 240), "JPEG"),
                       "shot-160.png": ((160, 120), "PNG"), "shot-full.png": ((320, 240), "PNG")}


def test_bad_options_are_one_line(photo: Path) -> None:
    result = invoke("crop", photo, "--output", "out", "--background", "nocolour")
    assert result.exit_code == 2
    assert "nocolour" in result.output
