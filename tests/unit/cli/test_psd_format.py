"""``--format psd`` through the real command line (in this process, ``--jobs 1``): the file
commands write a flat one-layer document, read back with psd-tools; what a PSD cannot hold is
refused in one line (exit 2) before anything is written. ``cutout``'s layered document runs the
model: tests/e2e/test_cli_psd.py."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from psd_tools import PSDImage
from rich.console import Console
from typer.testing import CliRunner, Result

import lampyris.cli.file_commands as cli_files
from lampyris.cli.app import app
from support.images import product_photo


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with one product photo, and a console that does not wrap."""
    monkeypatch.chdir(tmp_path)
    for name in ("LAMPYRIS_OUTPUT", "LAMPYRIS_JOBS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli_files, "console", Console(stderr=True, width=500, no_color=True))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "p.png").write_bytes(product_photo(160, 120, "PNG"))
    return tmp_path


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args] + ["--jobs", "1"])


def layers(path: Path) -> list[np.ndarray]:
    """Every layer's pixels (RGB or RGBA, 0..255)."""
    return [np.rint(layer.numpy() * 255).astype(np.uint8)
            for layer in PSDImage.open(io.BytesIO(path.read_bytes()))]


def merged(path: Path) -> np.ndarray:
    """The merged image other apps show (Pillow reads only that)."""
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        return np.asarray(image.convert("RGB"))


def png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_edit_writes_the_same_pixels_as_one_layer(workdir: Path) -> None:
    assert invoke("edit", "in", "-o", "png", "--exposure", "0.5").exit_code == 0
    done = invoke("edit", "in", "-o", "psd", "--exposure", "0.5", "-f", "psd", "--xmp")
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (workdir / "psd").iterdir()) == ["p.psd", "p.xmp"]
    (layer,) = layers(workdir / "psd" / "p.psd")
    expected = png(workdir / "png" / "p.png")
    assert np.array_equal(layer[..., :3], expected)
    assert np.array_equal(merged(workdir / "psd" / "p.psd"), expected)  # opaque: the layer


def test_rendition_names_each_width_psd(workdir: Path) -> None:
    done = invoke("rendition", "in", "-o", "web", "-w", "40", "-w", "0", "-f", "psd",
                  "-f", "png")
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (workdir / "web").iterdir()) == [
        "p-40.png", "p-40.psd", "p-full.png", "p-full.psd"]
    (small,) = layers(workdir / "web" / "p-40.psd")
    assert small.shape[:2] == (30, 40)
    assert np.abs(small[..., :3].astype(int) - png(workdir / "web" / "p-40.png")).max() <= 1


def test_a_transparent_result_keeps_its_alpha_in_the_layer(workdir: Path) -> None:
    """``crop`` padding past the photo's edge is transparent: in the layer, not flattened."""
    done = invoke("crop", "in", "-o", "crop", "--width", "400", "-f", "psd",
                  "--model", "u2netp")
    assert done.exit_code == 0, done.output
    (layer,) = layers(workdir / "crop" / "p.psd")
    assert layer.shape[2] == 4 and layer[0, 0, 3] == 0 and layer[60, layer.shape[1] // 2, 3] == 255
    assert (merged(workdir / "crop" / "p.psd")[0, 0] == 255).all()  # merged over white


@pytest.mark.parametrize("args", [
    ("edit", "in", "-o", "out", "-f", "psd", "--keep-metadata"),
    ("rendition", "in", "-o", "out", "-f", "jpeg", "-f", "psd", "--keep-metadata"),
    ("cutout", "in", "-o", "out", "-f", "psd", "--keep-metadata"),
])
def test_keep_metadata_is_refused_before_any_output(workdir: Path, args: tuple[str, ...]) -> None:
    refused = invoke(*args)
    assert refused.exit_code == 2
    assert refused.output.strip().splitlines() == [
        "error: --format psd does not carry EXIF or XMP: leave out --keep-metadata, or use "
        "--format png, jpeg or webp to keep them"]
    assert not (workdir / "out").exists()  # not even the JPEG rendition


@pytest.mark.parametrize(("option", "named"), [
    (["--padding", "5%"], "--padding"),
    (["--canvas", "300x300"], "--canvas"),
    (["--shadow"], "--shadow"),
    (["--max-upscale", "2"], "--max-upscale"),
    (["--decontaminate", "1"], "--decontaminate"),
    (["--mask-only"], "--mask-only"),
])
def test_cutout_refuses_what_its_layer_mask_cannot_carry(workdir: Path, option: list[str],
                                                         named: str) -> None:
    refused = invoke("cutout", "in", "-o", "out", "-f", "psd", *option)
    assert refused.exit_code == 2
    (line,) = refused.output.strip().splitlines()
    assert line.startswith("error: --format psd ") and f"leave out {named}" in line
    assert "--format png" in line
    assert not (workdir / "out").exists()


def test_batch_refuses_them_the_same_way_in_its_own_options(workdir: Path) -> None:
    refused = invoke("batch", "in", "out", "--format", "psd", "--shadow")
    assert refused.exit_code == 2
    (line,) = refused.output.strip().splitlines()
    assert "--format psd keeps the photo's frame" in line and "leave out --shadow" in line
    assert "--format png" in line
    assert not (workdir / "out").exists()
    remote = invoke("batch", "in", "out", "--format", "psd", "--backend", "remote",
                    "--server", "http://127.0.0.1:9", "--client-id", "a", "--client-secret", "b")
    assert remote.exit_code == 2
    assert "use --backend local, or --format png with --backend remote" in remote.output


def test_help_says_what_psd_is() -> None:
    cutout = " ".join(CliRunner().invoke(app, ["cutout", "--help"]).output.split())
    assert "png|webp|jpeg|psd" in cutout and "editable layer mask" in cutout
    fill = " ".join(CliRunner().invoke(app, ["fill", "--help"]).output.split())
    assert "psd: a Photoshop document of one layer" in fill
