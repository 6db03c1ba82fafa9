"""One input through a chain of steps: cutout → develop keeps the cutout's alpha, tones the
subject, and finishes (shadow, background) after the tone."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from PIL import Image

from lampyris.storage.locations import Location
from lampyris.workflows.item import WorkItem, process
from lampyris.workflows.steps import OutputSpec, make_steps
from support.photos import luminance

Image_ = Callable[..., bytes]


def through(chain: list[tuple[str, dict[str, Any]]], memfs: MemoryFileSystem,
            output: OutputSpec | None = None) -> np.ndarray:
    """The pixels ``chain`` makes of ``memory://in/a.png``."""
    item = WorkItem(Location("memory://in"), "/in/a.png", Location("memory://out"),
                    "/out/a.out", tuple(make_steps(chain)), output or OutputSpec())
    outcome = process(item)
    assert outcome.ok, outcome.error
    return np.asarray(Image.open(io.BytesIO(memfs.cat_file("/out/a.out"))))


@pytest.fixture
def dim(memfs: MemoryFileSystem, image: Image_) -> None:
    """The red disc on grey, two thirds as bright: a subject auto tone brightens."""
    rgb = np.asarray(Image.open(io.BytesIO(image(0))).convert("RGB"))
    out = io.BytesIO()
    Image.fromarray((rgb * (2 / 3)).astype(np.uint8)).save(out, "PNG")
    memfs.pipe_file("/in/a.png", out.getvalue())


def test_auto_tone_after_a_cutout_keeps_its_alpha_and_brightens_the_subject(
        dim: None, memfs: MemoryFileSystem) -> None:
    cut = through([("cutout", {})], memfs)
    toned = through([("cutout", {}), ("auto_tone", {})], memfs)
    assert cut.shape == toned.shape == (120, 160, 4)
    assert np.array_equal(cut[..., 3], toned[..., 3])
    subject = cut[..., 3] == 255
    # brightened, but only nudged: a cutout is a product alone, its lightness its own
    assert luminance(toned[subject]).mean() > 1.05 * luminance(cut[subject]).mean()


def test_the_background_and_shadow_come_after_the_tone(dim: None,
                                                       memfs: MemoryFileSystem) -> None:
    finish = {"background": "white", "shadow": True, "trim": True, "padding": "20%"}
    plain = through([("cutout", finish)], memfs).astype(int)
    toned = through([("cutout", finish), ("auto_tone", {})], memfs).astype(int)
    assert plain.shape == toned.shape and toned.shape[2] == 3  # opaque: JPEG-ready
    assert (toned[[2, 2, -3, -3], [2, -3, 2, -3]] == 255).all()  # the tone never saw the white
    centre = (slice(toned.shape[0] // 2 - 5, toned.shape[0] // 2 + 5),
              slice(toned.shape[1] // 2 - 5, toned.shape[1] // 2 + 5))
    assert luminance(toned[centre]).mean() > 1.05 * luminance(plain[centre]).mean()
    column = toned[:, toned.shape[1] // 2]
    bottom = np.flatnonzero(column[:, 0] - column[:, 1] > 80)[-1]  # the red subject's last row
    under = slice(bottom + 3, None)
    assert column[under].min() < 235  # the shadow, as dark as without the tone
    assert np.abs(column[under] - plain[:, plain.shape[1] // 2][under]).max() <= 2
