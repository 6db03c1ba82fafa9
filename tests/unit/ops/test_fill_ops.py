"""The generative ops (fill, expand, object composite) over every engine: the fidelity guard
holds on the pixels they return, seeds reproduce and variations differ. The diffusion engine
runs a tiny randomly initialised pipeline built on disk (no weights can be downloaded here),
through the same loading code as real weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lampyris.errors import InvalidParameterError
from lampyris.ops import run

H, W = 96, 128


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:H, :W]
    img = np.stack([xx * 2, yy * 2, (xx + yy) % 256], axis=-1).astype(np.uint8)
    return np.clip(img + rng.integers(0, 9, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def hole() -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    mask[30:60, 40:90] = 255
    return mask


@pytest.fixture(scope="module")
def cutout(photo: np.ndarray) -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    alpha = np.where((yy - 48) ** 2 + (xx - 64) ** 2 < 30**2, 255, 0).astype(np.uint8)
    return np.dstack([photo, alpha])


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("diffusers")
    from support.tiny_diffusion import build_tiny_inpaint_pipeline

    return build_tiny_inpaint_pipeline(tmp_path_factory.mktemp("tiny") / "inpaint")


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch, tiny_model: Path) -> tuple[str, ...]:
    monkeypatch.setenv("LAMPYRIS_DIFFUSION_MODEL", str(tiny_model))
    monkeypatch.setenv("LAMPYRIS_DIFFUSION_STEPS", "2")
    return ("studio", "patch", "diffusion")


def test_fill_guard_holds_for_every_engine(engines: tuple[str, ...], photo: np.ndarray,
                                           hole: np.ndarray):
    for engine in engines:
        result = run("fill", photo, {"engine": engine, "prompt": "grey linen", "seed": 5},
                     mask=hole)
        out = result.pixels
        assert out.shape == photo.shape, engine
        assert np.array_equal(out[hole == 0], photo[hole == 0]), engine
        assert not np.array_equal(out[hole > 0], photo[hole > 0]), engine
        assert result.metadata["engine"] == engine
        assert result.metadata["fidelity"] == {
            "held": True, "changed_outside": 0, "max_difference_outside": 0}


def test_seeds_reproduce_and_variations_differ(engines: tuple[str, ...], photo: np.ndarray,
                                               hole: np.ndarray):
    for engine in engines:
        def fill(seed: int, engine: str = engine) -> np.ndarray:
            return run("fill", photo, {"engine": engine, "prompt": "oak", "seed": seed},
                       mask=hole).pixels

        assert np.array_equal(fill(1), fill(1)), engine
        assert not np.array_equal(fill(1), fill(2)), engine


def test_expand_and_composite_guard_for_every_engine(
    engines: tuple[str, ...], photo: np.ndarray, cutout: np.ndarray
):
    for engine in engines:
        wide = run("expand", photo, {"engine": engine, "size": "160x120", "left": 8})
        assert wide.pixels.shape == (120, 160, 3)
        y = (120 - H) // 2
        assert np.array_equal(wide.pixels[y:y + H, 8:8 + W], photo), engine
        assert wide.metadata["fidelity"]["held"] is True
        if engine == "patch":
            continue  # a composite has no picture of its own to continue
        scene = run("object_composite", cutout, {"engine": engine, "prompt": "marble",
                                                 "size": "128x128", "seed": 2})
        assert scene.pixels.shape == (128, 128, 3)
        assert scene.metadata["fidelity"]["held"] is True
        assert scene.metadata["outline"] == "alpha"


def test_fill_of_a_cutout_needs_no_mask(cutout: np.ndarray):
    result = run("fill", cutout, {"prompt": "white marble, soft light"})
    assert result.metadata["engine"] == "studio"  # the hole surrounds the product
    product = cutout[..., 3] == 255
    assert np.array_equal(result.pixels[product], cutout[..., :3][product])
    assert result.pixels.shape == (H, W, 3)


def test_masks_are_checked(photo: np.ndarray, hole: np.ndarray):
    with pytest.raises(InvalidParameterError, match="same size"):
        run("fill", photo, {}, mask=hole[:50])
    with pytest.raises(InvalidParameterError, match="empty"):
        run("fill", photo, {}, mask=np.zeros_like(hole))
    with pytest.raises(InvalidParameterError, match="needs a mask"):
        run("fill", photo, {})
    inverted = run("fill", photo, {"invert_mask": True, "engine": "patch"}, mask=255 - hole)
    assert np.array_equal(inverted.pixels[hole == 0], photo[hole == 0])
    with pytest.raises(InvalidParameterError, match="no room"):
        run("expand", photo, {"size": "100x100", "left": 60, "right": 60})
