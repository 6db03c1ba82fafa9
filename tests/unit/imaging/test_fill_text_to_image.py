"""The text-to-image engine and the generate ops, through the real loading code on tiny random
pipelines saved to disk: why it cannot run (named without importing torch), sizes, seeds, the
content class, variations of a reference, and an inpainting model refused by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

pytest.importorskip("diffusers")  # CI installs lampyris[diffusion]; this only guards a bare venv

from lampyris.errors import ModelError
from lampyris.imaging.fill import text_to_image
from lampyris.imaging.fill.text_to_image import (
    SETTING,
    TextToImageConfig,
    generate_image,
    unavailable,
)
from lampyris.ops import run
from support.tiny_diffusion import (
    build_tiny_inpaint_pipeline,
    build_tiny_text_to_image_pipeline,
)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_text_to_image_pipeline(tmp_path_factory.mktemp("t2i") / "tiny-t2i")


@pytest.fixture(scope="module")
def config(model: Path) -> TextToImageConfig:
    return TextToImageConfig(text_to_image_model=str(model), steps=2)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, model: Path) -> None:
    """The ops read the environment, as a worker does."""
    monkeypatch.setenv(SETTING, str(model))
    monkeypatch.setenv("LAMPYRIS_DIFFUSION_STEPS", "2")


def test_unavailable_names_what_to_set(model: Path, tmp_path: Path) -> None:
    unset = unavailable(TextToImageConfig(text_to_image_model=None))
    assert unset is not None and SETTING in unset
    missing = unavailable(TextToImageConfig(text_to_image_model=str(tmp_path / "gone")))
    assert missing is not None and str(tmp_path / "gone") in missing
    assert unavailable(TextToImageConfig(text_to_image_model=str(model))) is None
    with pytest.raises(ModelError, match=SETTING):
        generate_image("a cat", (32, 32), config=TextToImageConfig(text_to_image_model=None))


def test_size_seed_and_what_ran(config: TextToImageConfig) -> None:
    rgb, info = generate_image("a lighthouse", (90, 50), seed=4, config=config)
    assert rgb.shape == (50, 90, 3) and rgb.dtype == np.uint8
    assert info["engine"] == "diffusion" and info["pipeline"] == "StableDiffusionPipeline"
    assert info["seed"] == 4 and info["steps"] == 2 and info["device"] == "cpu"
    same, _ = generate_image("a lighthouse", (90, 50), seed=4, config=config)
    other, _ = generate_image("a lighthouse", (90, 50), seed=5, config=config)
    assert np.array_equal(rgb, same)
    assert not np.array_equal(rgb, other)


def test_an_inpainting_model_is_refused_by_name(tmp_path: Path) -> None:
    inpaint = build_tiny_inpaint_pipeline(tmp_path / "tiny-inpaint")
    with pytest.raises(ModelError, match="inpainting pipeline") as refused:
        generate_image("a cat", (32, 32),
                       config=TextToImageConfig(text_to_image_model=str(inpaint), steps=1))
    assert SETTING in str(refused.value)


def test_the_generate_op_paints_the_canvas_size_with_the_content_class(
    configured: None
) -> None:
    canvas = np.zeros((40, 60, 3), np.uint8)
    photo = run("generate", canvas, {"prompt": "a harbour", "content_class": "photo"})
    assert photo.pixels.shape == (40, 60, 3)
    assert photo.metadata["content_class"] == "photo"
    assert "generate" in photo.metadata["timings"]
    art = run("generate", canvas, {"prompt": "a harbour", "content_class": "art"})
    assert not np.array_equal(photo.pixels, art.pixels), "the class is part of the prompt"
    sized = run("generate", canvas, {"prompt": "a harbour", "size": [32, 24]})
    assert sized.pixels.shape == (24, 32, 3)
    with pytest.raises(ValidationError):
        run("generate", canvas, {"prompt": ""})


def test_generate_similar_varies_a_transparent_reference(configured: None) -> None:
    reference = np.zeros((30, 40, 4), np.uint8)
    reference[5:25, 10:30] = (200, 30, 30, 255)  # a red square on transparency (seen on white)
    first = run("generate_similar", reference, {"seed": 1})
    again = run("generate_similar", reference, {"seed": 1})
    assert first.pixels.shape == (30, 40, 3)
    assert np.array_equal(first.pixels, again.pixels)
    assert first.metadata["similarity"] == text_to_image.SIMILARITY
