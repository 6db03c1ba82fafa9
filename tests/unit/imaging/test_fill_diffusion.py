"""diffusion_fill through its real loading code, on a tiny random pipeline saved to disk.

The weights are random, so the tests check the engine's promises rather than what it paints:
the guard holds, the hole changes, seeds reproduce, odd sizes work, failures are ModelErrors.
Only the CPU path runs here; CUDA/MPS device and float16 selection are not tested (no GPU).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")  # CI installs lampyris[diffusion]; this only guards a bare venv

from lampyris.errors import InvalidParameterError, ModelError
from lampyris.imaging.fill.diffusion import (
    DiffusionConfig,
    diffusion_config,
    diffusion_fill,
)
from lampyris.imaging.fill.guard import check
from support.tiny_diffusion import build_tiny_inpaint_pipeline

HEIGHT, WIDTH = 80, 96
HOLE = (slice(24, 56), slice(30, 70))


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> DiffusionConfig:
    folder = build_tiny_inpaint_pipeline(tmp_path_factory.mktemp("tiny") / "tiny-inpaint")
    return DiffusionConfig(model=str(folder), device="auto", steps=2)


def _scene(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([xx * 2, yy * 3, (xx + yy) % 256], axis=-1).astype(np.uint8)


def _mask(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    mask[HOLE] = 255
    return mask


def test_outside_exact_inside_painted(config: DiffusionConfig) -> None:
    pixels, mask = _scene(), _mask()
    out, info = diffusion_fill(pixels, mask, "a red brick wall", seed=3, config=config)
    assert out.shape == pixels.shape and out.dtype == np.uint8
    assert check(pixels, out, mask)["held"]
    inside = np.abs(out[HOLE].astype(int) - pixels[HOLE].astype(int))
    assert inside.mean() > 5, "the hole should be repainted"
    assert info["engine"] == "diffusion"
    assert info["model"] == config.model
    assert info["device"] == "cpu"
    assert info["steps"] == 2 and info["seed"] == 3
    assert info["pipeline"] == "StableDiffusionInpaintPipeline"
    assert isinstance(info["seconds"], float) and info["seconds"] >= 0


def test_same_seed_reproduces(config: DiffusionConfig) -> None:
    pixels, mask = _scene(), _mask()
    first, _ = diffusion_fill(pixels, mask, "grass", seed=11, config=config)
    second, _ = diffusion_fill(pixels, mask, "grass", seed=11, config=config)
    np.testing.assert_array_equal(first, second)


def test_seeds_differ(config: DiffusionConfig) -> None:
    pixels, mask = _scene(), _mask()
    one, _ = diffusion_fill(pixels, mask, "grass", seed=1, config=config)
    two, _ = diffusion_fill(pixels, mask, "grass", seed=2, config=config)
    assert np.abs(one[HOLE].astype(int) - two[HOLE].astype(int)).mean() > 1


def test_negative_prompt_and_odd_sizes(config: DiffusionConfig) -> None:
    height, width = 77, 101  # neither divides by 8; the crop is resized, the output is not
    pixels = _scene(height, width)
    mask = np.zeros((height, width), np.uint8)
    mask[5:40, 60:99] = 1  # near a corner: the crop box is shifted to stay inside the image
    out, _ = diffusion_fill(
        pixels,
        mask,
        "sky",
        negative_prompt="clouds",
        seed=5,
        config=config.model_copy(update={"resolution": 72}),
    )
    assert out.shape == pixels.shape
    assert check(pixels, out, mask)["held"]
    assert not np.array_equal(out[5:40, 60:99], pixels[5:40, 60:99])


def test_empty_mask_returns_input(config: DiffusionConfig) -> None:
    pixels = _scene()
    out, info = diffusion_fill(pixels, np.zeros(pixels.shape[:2], np.uint8), "x", config=config)
    np.testing.assert_array_equal(out, pixels)
    assert info["pipeline"] == "StableDiffusionInpaintPipeline"


def test_unset_model_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMPYRIS_DIFFUSION_MODEL", raising=False)
    with pytest.raises(ModelError, match="LAMPYRIS_DIFFUSION_MODEL"):
        diffusion_fill(_scene(), _mask(), "x")


def test_missing_directory_is_a_model_error(tmp_path: Path) -> None:
    config = DiffusionConfig(model=str(tmp_path / "nowhere"))
    with pytest.raises(ModelError, match="does not exist"):
        diffusion_fill(_scene(), _mask(), "x", config=config)


def test_unloadable_directory_is_a_model_error(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not a pipeline")
    with pytest.raises(ModelError, match="cannot load"):
        diffusion_fill(_scene(), _mask(), "x", config=DiffusionConfig(model=str(tmp_path)))


def test_unknown_hub_id_offline_is_a_model_error() -> None:
    config = DiffusionConfig(model="lampyris-tests/no-such-inpainting-model")
    with pytest.raises(ModelError, match="offline"):
        diffusion_fill(_scene(), _mask(), "x", config=config)


def test_environment_configures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMPYRIS_DIFFUSION_MODEL", "/models/sd-inpaint")
    monkeypatch.setenv("LAMPYRIS_DIFFUSION_STEPS", "12")
    monkeypatch.setenv("LAMPYRIS_DIFFUSION_ALLOW_DOWNLOAD", "true")
    config = diffusion_config()
    assert config.model == "/models/sd-inpaint" and config.steps == 12 and config.allow_download
    assert config.device == "auto" and config.dtype == "auto" and config.resolution is None


def test_bad_pixels_are_refused(config: DiffusionConfig) -> None:
    with pytest.raises(InvalidParameterError):
        diffusion_fill(_scene()[..., :2], _mask(), "x", config=config)


def test_unavailable_device_is_a_model_error(config: DiffusionConfig) -> None:
    # CPU-only torch here: asking for CUDA must fail cleanly (the CUDA path itself is untested).
    if pytest.importorskip("torch").cuda.is_available():
        pytest.skip("a GPU is present: CUDA would load")
    cuda = config.model_copy(update={"device": "cuda"})
    with pytest.raises(ModelError, match="cuda"):
        diffusion_fill(_scene(), _mask(), "x", config=cuda)
