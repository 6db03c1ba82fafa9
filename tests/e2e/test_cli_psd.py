"""``lampyris cutout --format psd`` end to end (the real command in its own process, the real
model): Photoshop's Remove Background document, the photo as a layer with the cutout as its
editable layer mask, read back with psd-tools and compared with a PNG run of the same input."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from psd_tools import PSDImage
from psd_tools.api.layers import Layer

from lampyris.imaging.decode import decode
from lampyris.imaging.layout import subject_box
from lampyris.workflows.naming import hint
from support.images import product_photo

pytestmark = pytest.mark.slow
RED = (200, 30, 30)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A red disc on a light grey studio background, 640x480 JPEG."""
    path = tmp_path / "in" / "shot.jpg"
    path.parent.mkdir()
    path.write_bytes(product_photo())
    return path


def lampyris(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "lampyris.cli.app", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)


def document(path: Path) -> PSDImage:
    return PSDImage.open(io.BytesIO(path.read_bytes()))


def rgb(layer: Layer) -> np.ndarray:
    return np.rint(layer.numpy()[..., :3] * 255).astype(np.uint8)


def mask(layer: Layer) -> np.ndarray:
    return np.asarray(layer.mask.topil())


def merged(path: Path) -> np.ndarray:
    """The merged image every PSD carries: what Pillow, Finder and browsers show."""
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def alpha(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)[..., 3]


def run(*args: str | Path) -> None:
    done = lampyris("cutout", *args, "--jobs", "1")
    assert done.returncode == 0, done.stderr


def test_the_layer_is_the_photo_and_its_mask_the_cutouts_alpha(photo: Path, tmp_path: Path):
    run(photo, "-o", tmp_path / "png")
    run(photo, "-o", tmp_path / "psd", "--format", "psd")
    assert [p.name for p in (tmp_path / "psd").iterdir()] == ["shot.psd"]
    doc = document(tmp_path / "psd" / "shot.psd")
    (layer,) = doc
    assert layer.name == "Subject" and doc.size == (640, 480)
    assert np.array_equal(rgb(layer), decode(photo.read_bytes()).pixels)  # nothing deleted
    cut = alpha(tmp_path / "png" / "shot.png")
    assert np.abs(mask(layer).astype(int) - cut).max() <= 1  # the PNG run's matte
    assert cut[240, 320] == 255 and cut[5, 5] == 0
    flat = merged(tmp_path / "psd" / "shot.psd")
    assert np.abs(flat[240, 320] - RED).max() < 12  # the subject…
    assert (flat[[0, 0, -1, -1], [0, -1, 0, -1]] == 255).all()  # …over white


def test_a_background_colour_is_a_layer_beneath_and_trim_crops_both(photo: Path,
                                                                    tmp_path: Path):
    run(photo, "-o", tmp_path / "png", "--trim", "--binary")
    run(photo, "-o", tmp_path / "mask", "--mask-only", "--binary")
    run(photo, "-o", tmp_path / "psd", "--format", "psd", "--trim", "--background",
        "#20c02080", "--binary")
    doc = document(tmp_path / "psd" / "shot.psd")
    background, subject = doc
    assert (background.name, subject.name) == ("Background", "Subject")
    assert (rgb(background) == (32, 192, 32)).all() and background.opacity == 128
    cut = alpha(tmp_path / "png" / "shot.png")
    assert doc.size == (cut.shape[1], cut.shape[0])  # the PNG run's trim
    assert set(np.unique(mask(subject))) <= {0, 255}
    assert np.abs(mask(subject).astype(int) - cut).max() <= 1  # its hard matte
    with Image.open(tmp_path / "mask" / "shot.png") as image:
        x0, y0, x1, y1 = subject_box(np.asarray(image))
    assert (x1 - x0, y1 - y0) == doc.size
    # the layer is the photo's own pixels in the subject's box
    assert np.array_equal(rgb(subject), decode(photo.read_bytes()).pixels[y0:y1, x0:x1])
    flat = merged(tmp_path / "psd" / "shot.psd")
    backdrop = np.array((32, 192, 32)) * 128 / 255 + 255 * (1 - 128 / 255)
    assert np.abs(flat[0, 0] - backdrop).max() <= 1  # the colour at its opacity, over white
    assert np.abs(flat[doc.height // 2, doc.width // 2] - RED).max() < 12


def test_names_end_in_psd_and_naming_tells_one_stem_apart(tmp_path: Path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "0020.jpg").write_bytes(product_photo(320, 240))
    (tmp_path / "in" / "0020.png").write_bytes(product_photo(240, 240, "PNG"))
    out = tmp_path / "out"
    refused = lampyris("cutout", tmp_path / "in", "-o", out, "-f", "psd")
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1
    assert refused.stderr.strip().endswith(f"{out.resolve() / '0020.psd'}: {hint('.psd')}")
    assert not out.exists()
    run(tmp_path / "in", "-o", out, "-f", "psd", "--naming", "keep-extension")
    assert sorted(p.name for p in out.iterdir()) == ["0020.jpg.psd", "0020.png.psd"]
    assert document(out / "0020.png.psd").size == (240, 240)
    run(tmp_path / "in", "-o", tmp_path / "numbered", "-f", "psd", "--naming", "number")
    assert sorted(p.name for p in (tmp_path / "numbered").iterdir()) == [
        "0020-2.psd", "0020.psd"]
    assert document(tmp_path / "numbered" / "0020-2.psd").size == (240, 240)


def test_a_refused_combination_exits_2_in_one_line_before_any_work(photo: Path,
                                                                   tmp_path: Path):
    refused = lampyris("cutout", photo, "-o", tmp_path / "out", "-f", "psd", "--canvas",
                       "800x800")
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "error: --format psd keeps the photo's frame under its layer mask, so --canvas cannot "
        "apply: leave out --canvas (--trim works), or use --format png for it"]
    assert not (tmp_path / "out").exists()


def test_batch_writes_the_same_document_for_a_lone_cutout(photo: Path, tmp_path: Path):
    run(photo, "-o", tmp_path / "psd", "--format", "psd")
    done = lampyris("batch", photo.parent, tmp_path / "batch", "--format", "psd",
                     "--steps", "cutout", "--settle", "0", "--jobs", "1")
    assert done.returncode == 0, done.stderr
    (layer,) = document(tmp_path / "batch" / "shot.psd")
    (cli,) = document(tmp_path / "psd" / "shot.psd")
    assert np.array_equal(mask(layer), mask(cli)) and np.array_equal(rgb(layer), rgb(cli))
    toned = lampyris("batch", photo.parent, tmp_path / "toned", "--format", "psd",
                     "--steps", "cutout,auto_tone", "--settle", "0", "--jobs", "1")
    assert toned.returncode == 0, toned.stderr
    (flat,) = document(tmp_path / "toned" / "shot.psd")  # any other chain: one flat layer
    pixels = np.rint(flat.numpy() * 255).astype(np.uint8)
    assert flat.mask is None and pixels.shape[2] == 4 and pixels[5, 5, 3] == 0
