"""``lampyris refine-mask`` through the real command line, judged by the masks written against
the synthetic photo's true matte."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner, Result

import lampyris.cli.file_commands as cli_files
from lampyris.cli.app import app
from support.mask_scenes import edge_error, rough_mask, wavy_subject


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder and a console wide enough that messages are not wrapped."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAMPYRIS_OUTPUT", raising=False)
    monkeypatch.setattr(cli_files, "console", Console(stderr=True, width=500, no_color=True))
    return tmp_path


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_a_rough_mask_and_a_rough_cutout_are_refined(workdir: Path):
    photo, alpha = wavy_subject()
    rough = rough_mask(alpha)
    Image.fromarray(photo).save(workdir / "photo.png")
    Image.fromarray(rough).save(workdir / "rough.png")
    Image.fromarray(np.dstack([photo, rough])).save(workdir / "cutout.png")

    result = invoke("refine-mask", "photo.png", "--mask", "rough.png", "-o", "out")
    assert result.exit_code == 0, result.output
    refined = Image.open(workdir / "out" / "photo.png")
    assert refined.mode == "L" and refined.size == (480, 360)
    assert edge_error(np.asarray(refined), alpha) < edge_error(rough, alpha) / 4

    result = invoke("refine-mask", "cutout.png", "--decontaminate", "-o", "subjects")
    assert result.exit_code == 0, result.output
    layer = np.asarray(Image.open(workdir / "subjects" / "cutout.png"))
    assert layer.shape == (360, 480, 4)
    assert np.array_equal(layer[..., 3], np.asarray(refined))


def test_what_it_refuses(workdir: Path):
    photo, _ = wavy_subject()
    Image.fromarray(photo).save(workdir / "photo.png")
    result = invoke("refine-mask", "photo.png", "--decontaminate", "-f", "jpeg", "-o", "out")
    assert result.exit_code == 2 and "JPEG has no transparency" in result.output
    (workdir / "broken.png").write_bytes(b"not an image")
    result = invoke("refine-mask", "photo.png", "--mask", "broken.png", "-o", "out")
    assert result.exit_code == 2 and "--mask broken.png" in result.output
    result = invoke("refine-mask", "photo.png", "-o", "out")  # opaque, and no mask
    assert result.exit_code == 1
    assert "refine-mask needs a mask" in " ".join(result.output.split())
