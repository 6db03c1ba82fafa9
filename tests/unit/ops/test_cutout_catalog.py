"""The cutout op as a catalog layout: a subject the photo cuts off keeps the cut on the output's
edge (and its shadow adds no rows under it), a small subject is not blown up without a notice,
decontamination is on by default only when the subject goes onto a new background, and a
see-through subject's gaps are opened where they show a coloured ground.

The matte comes from the real bundled u2netp."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lampyris.imaging.layout import subject_box
from lampyris.models import MattingSession
from lampyris.ops.cutout import CutoutParams, cutout

GREY, RED = (215, 215, 210), (200, 30, 30)


def _photo(box: tuple[int, int, int, int], size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """A red block at (x0, y0, x1, y1) on light grey: cut by any frame edge it reaches."""
    w, h = size
    rgb = np.full((h, w, 3), GREY, np.uint8)
    x0, y0, x1, y1 = box
    rgb[y0:y1, x0:x1] = RED
    return rgb


@pytest.fixture(scope="module")
def cut_bottom(u2netp: MattingSession) -> np.ndarray:
    return _photo((110, 70, 210, 240))


def test_a_subject_cut_by_the_bottom_edge_sits_on_the_canvas_bottom(
        u2netp: MattingSession, cut_bottom: np.ndarray) -> None:
    result = cutout(cut_bottom, CutoutParams(canvas=(400, 400), padding="10%", shadow=True,
                                             max_upscale=4), session=u2netp)
    alpha = result.pixels[..., 3]
    x0, y0, x1, y1 = subject_box(alpha, 127)
    assert result.metadata["frame_edges"] == ["bottom"]
    assert y1 == 400  # on the canvas's bottom edge, no padding under the cut
    assert min(x0, 400 - x1, y0) >= 40  # padding on the free sides
    assert abs(x0 - (400 - x1)) <= 2  # centred across


def test_a_cut_subjects_shadow_adds_no_rows_under_it(
        u2netp: MattingSession, cut_bottom: np.ndarray) -> None:
    plain = cutout(cut_bottom, CutoutParams(trim=True), session=u2netp).pixels
    shadowed = cutout(cut_bottom, CutoutParams(trim=True, shadow=True), session=u2netp).pixels
    assert shadowed.shape == plain.shape
    standing = _photo((110, 70, 210, 200))  # the same block with floor under it does grow
    grown = cutout(standing, CutoutParams(trim=True, shadow=True), session=u2netp).pixels
    trimmed = cutout(standing, CutoutParams(trim=True), session=u2netp).pixels
    assert grown.shape[0] > trimmed.shape[0]


def test_a_small_subject_is_kept_at_its_size_with_a_notice(u2netp: MattingSession) -> None:
    small = _photo((140, 90, 180, 150))  # 40x60 px, far from every edge
    result = cutout(small, CutoutParams(canvas=(600, 600), padding="6%"), session=u2netp)
    x0, y0, x1, y1 = subject_box(result.pixels[..., 3], 127)
    assert abs((x1 - x0) - 40) <= 3 and abs((y1 - y0) - 60) <= 3  # not enlarged
    assert result.metadata["scale"] == 1.0 and result.metadata["upscale_wanted"] > 8
    (notice,) = result.metadata["notices"]
    assert "enlarge it" in notice and "--max-upscale" in notice
    allowed = cutout(small, CutoutParams(canvas=(600, 600), padding="6%", max_upscale=64),
                     session=u2netp)
    assert "notices" not in allowed.metadata


def test_decontamination_is_on_when_composited_and_off_for_a_plain_cutout(
        u2netp: MattingSession) -> None:
    photo = _photo((110, 60, 210, 180))
    plain = cutout(photo, CutoutParams(), session=u2netp)
    on_white = cutout(photo, CutoutParams(background="white"), session=u2netp)
    asked = cutout(photo, CutoutParams(background="white", decontaminate=0), session=u2netp)
    assert (plain.metadata["decontaminate"], on_white.metadata["decontaminate"],
            asked.metadata["decontaminate"]) == (0.0, 1.0, 0.0)
    # edge pixels on white: the decontaminated edge carries less of the old grey (less green
    # relative to red than the undecontaminated one, whose edge mixes grey into the red)
    soft = (plain.pixels[..., 3] > 20) & (plain.pixels[..., 3] < 235)
    assert soft.sum() > 50
    edge_clean = on_white.pixels[soft].astype(float)
    edge_raw = asked.pixels[soft].astype(float)
    assert (edge_clean[:, 1] - edge_raw[:, 1]).mean() < -1.0


def _lattice(ground: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A wicker-like lattice disc on ``ground`` (with grass-like texture) and its gaps."""
    h = w = 400
    rng = np.random.default_rng(1)
    rgb = np.clip(np.array(ground, np.float32) + rng.normal(0, 9, (h, w, 3)), 0, 255)
    yy, xx = np.mgrid[:h, :w]
    disc = (yy - 200) ** 2 + (xx - 200) ** 2 < 150**2
    bars = ((xx + yy) // 18) % 2 == 0
    bars |= ((xx - yy + 1000) // 18) % 2 == 0
    rim = disc & ((yy - 200) ** 2 + (xx - 200) ** 2 > 135**2)
    solid = disc & (bars | rim)
    rgb[solid] = (196, 146, 84)
    gaps = disc & ~solid
    return rgb.astype(np.uint8), gaps


def test_the_gaps_of_a_see_through_subject_open_on_a_coloured_ground(
        u2netp: MattingSession) -> None:
    rgb, gaps = _lattice((70, 130, 60))
    core = cv_erode(gaps)
    opened = cutout(rgb, CutoutParams(mode="mask"), session=u2netp).pixels
    filled = cutout(rgb, CutoutParams(mode="mask", holes="off"), session=u2netp).pixels
    assert np.mean(filled[core] > 128) > 0.5  # the network fills most of the weave…
    assert np.mean(opened[core] < 32) > 0.9  # …and the step opens it again
    bars = ~gaps & (opened > 0)
    assert np.mean(opened[cv_erode(bars)] > 200) > 0.95  # the wicker stays



def cv_erode(mask: np.ndarray) -> np.ndarray:
    """``mask`` without its outer 2 px: the cores the checks look at."""
    return cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
