"""The refine-mask op: a rough mask comes back following the photo's own edge (measured against
the synthetic photo's true matte), as a mask or a decontaminated RGBA subject, through the
pipeline and as a batch step."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from lampyris.errors import InvalidParameterError
from lampyris.ops import run
from lampyris.ops.pipeline import Call, OutputSpec, render
from lampyris.workflows.steps import execution, make_steps
from support.mask_scenes import (
    brushed_mask,
    edge_band,
    edge_error,
    grain_subject,
    rough_mask,
    wavy_subject,
)


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, np.ndarray]:
    return wavy_subject()


@pytest.mark.parametrize(("block", "grow"), [(16, 4), (8, 0), (24, 0), (4, 3)])
def test_the_refined_edge_follows_the_photo(scene: tuple[np.ndarray, np.ndarray], block: int,
                                            grow: int):
    photo, alpha = scene
    rough = rough_mask(alpha, block, grow)
    refined = run("refine_mask", photo, {}, mask=rough)
    assert refined.pixels.shape == alpha.shape and refined.pixels.dtype == np.uint8
    before, after = edge_error(rough, alpha), edge_error(refined.pixels, alpha)
    assert before > 0.05, "the rough mask is rough"
    assert after < 0.025 and after < before / 4, (before, after)
    # away from the edge, exactly the true (sure) matte
    far = ~edge_band(alpha)
    assert np.array_equal(refined.pixels[far], np.rint(alpha[far] * 255).astype(np.uint8))


@pytest.mark.parametrize("rough_of", [rough_mask, brushed_mask])
def test_background_of_the_subjects_colour_stays_out(rough_of: object):
    """Wood grain whose light stripes are the subject's yellow: colour alone took every stripe
    in the band (0.13 off); the graph cut keeps them out."""
    photo, alpha = grain_subject()
    rough = rough_of(alpha)  # type: ignore[operator]
    refined = run("refine_mask", photo, {"radius": 16}, mask=rough).pixels
    before, after = edge_error(rough, alpha), edge_error(refined, alpha)
    assert before > 0.13
    assert after < 0.03, (before, after)
    # no streak: outside the true shape grown by 3 px, nothing above a trace
    outside = cv2.dilate((alpha > 0.02).astype(np.uint8), np.ones((7, 7), np.uint8)) == 0
    assert np.count_nonzero(refined[outside] > 64) < 0.002 * outside.sum()


def test_the_same_mask_every_run(scene: tuple[np.ndarray, np.ndarray]):
    photo, alpha = scene
    first = run("refine_mask", photo, {}, mask=rough_mask(alpha)).pixels
    assert np.array_equal(first, run("refine_mask", photo, {}, mask=rough_mask(alpha)).pixels)


def test_the_report_has_the_box_and_the_radius(scene: tuple[np.ndarray, np.ndarray]):
    photo, alpha = scene
    refined = run("refine_mask", photo, {"radius": 12}, mask=rough_mask(alpha))
    ys, xs = np.nonzero(alpha > 0.5)
    box = refined.metadata["bounding_box"]
    assert refined.metadata["radius"] == 12
    assert abs(box["x"] - xs.min()) <= 4 and abs(box["y"] - ys.min()) <= 4
    assert abs(box["x"] + box["width"] - 1 - xs.max()) <= 4
    assert abs(box["y"] + box["height"] - 1 - ys.max()) <= 4


def test_colour_decontamination_gives_the_subject_with_clean_edges(
        scene: tuple[np.ndarray, np.ndarray]):
    photo, alpha = scene
    rough = rough_mask(alpha)
    mask = run("refine_mask", photo, {}, mask=rough).pixels
    layer = run("refine_mask", photo, {"decontaminate": True}, mask=rough).pixels
    assert layer.shape == (*alpha.shape, 4)
    assert np.array_equal(layer[..., 3], mask), "the alpha is the refined mask"
    assert not layer[mask == 0].any(), "fully transparent pixels are (0, 0, 0, 0)"
    edge = (mask > 60) & (mask < 195)
    subject = np.array([230.0, 180.0, 60.0])
    spill_before = np.abs(photo[edge].astype(float) - subject).mean()
    spill_after = np.abs(layer[edge][:, :3].astype(float) - subject).mean()
    assert spill_after < spill_before / 2, (spill_before, spill_after)


def test_a_rough_cutout_is_refined_by_its_own_transparency(
        scene: tuple[np.ndarray, np.ndarray]):
    photo, alpha = scene
    rough = rough_mask(alpha)
    given = run("refine_mask", photo, {}, mask=rough).pixels
    own = run("refine_mask", np.dstack([photo, rough]), {}).pixels
    assert np.array_equal(own, given)


def test_an_inverted_mask_and_a_smaller_mask(scene: tuple[np.ndarray, np.ndarray]):
    photo, alpha = scene
    rough = rough_mask(alpha)
    expected = run("refine_mask", photo, {}, mask=rough).pixels
    inverted = run("refine_mask", photo, {"invert_mask": True}, mask=255 - rough).pixels
    assert np.array_equal(inverted, expected)
    half = cv2.resize(rough, (240, 180), interpolation=cv2.INTER_AREA)
    resized = run("refine_mask", photo, {}, mask=half).pixels
    assert edge_error(resized, alpha) < 0.025


@pytest.mark.parametrize(("mask", "words"), [
    (np.zeros((360, 480), np.uint8), "the mask is empty"),
    (np.full((100, 300), 255, np.uint8), "the mask is 300x100 but the image is 480x360"),
    (None, "refine-mask needs a mask"),
])
def test_masks_it_refuses(scene: tuple[np.ndarray, np.ndarray], mask: np.ndarray | None,
                          words: str):
    with pytest.raises(InvalidParameterError, match=words):
        run("refine_mask", scene[0], {}, mask=mask)


def test_through_the_pipeline_and_as_a_batch_step(scene: tuple[np.ndarray, np.ndarray]):
    photo, alpha = scene
    rough = rough_mask(alpha)
    rendered = render(photo, [Call("refine_mask", "refine_mask")], OutputSpec("png"),
                      images={"mask": rough})
    png = Image.open(io.BytesIO(rendered.data))
    assert png.mode == "L" and png.size == (480, 360)
    assert edge_error(np.asarray(png), alpha) < 0.025
    assert rendered.reports["refine_mask"]["radius"] == 10  # 2 % of 480
    steps = make_steps([("refine-mask", {"decontaminate": True})])
    [call] = execution(steps)
    layer = render(np.dstack([photo, rough]), [call], OutputSpec("png")).pixels
    assert layer.shape == (360, 480, 4)
    band = edge_band(alpha)
    assert np.abs(layer[..., 3] / 255 - alpha)[band].mean() < 0.025
