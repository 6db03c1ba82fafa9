"""The refine-mask op: a client's rough mask made to follow the photo's own edges (Photoshop's
``/v1/refine-mask``).

A rough mask (a brush stroke, a blocky selection, another tool's matte) is trusted only away
from its edge: a band ``radius`` pixels either side of it is undecided. First a graph cut
(OpenCV's GrabCut: colour models of the sure sides, a cut that follows the photo's edges and
is otherwise short) decides each band pixel's side; that keeps background of the subject's
own colour (wood grain beside a brown saucer) out, where colour alone let it in as streaks.
Then, in a narrow band around the cut, each pixel's opacity is read off the photo: the local
colours of the subject (F) and the background (B) are averaged from the band's sides, and a
pixel ``I`` lies ``α = (I−B)·(F−B) / |F−B|²`` of the way from B to F (the colour-line model
the decontamination also assumes). That estimate is carried to full resolution by the
cutout's own edge-aware upsampling (``imaging.matte.refine_matte``), which smooths it along
the photo's edges. With ``decontaminate`` the result is the RGBA subject, its edge colours
cleared of the old background's spill (``imaging.decontaminate``), as Adobe's
``colorDecontamination`` asks.

Measured on 480x360 synthetic photos (``tests/support/mask_scenes.py``; mean error near the
true edge, 16 px radius): a wavy subject on a noisy gradient, its rough mask grown 4 px and cut
into 16 px blocks, goes from 0.137 to 0.003 (0.004 with colour alone); the same subject on
wood grain whose light stripes have its colour goes from 0.137 to 0.019 (0.134 with colour
alone: every stripe in the band came in).
The work is at the matting working resolution (≤ 1024 px, ``imaging.matte.WORK_SIDE``), so a
4000 px photo costs what a 1024 px one does, plus the upsampling.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lampyris.errors import InvalidParameterError
from lampyris.imaging.composite import cutout_rgba
from lampyris.imaging.confidence import REVIEW_THRESHOLD, review_matte
from lampyris.imaging.decode import DecodedImage
from lampyris.imaging.decontaminate import decontaminate
from lampyris.imaging.fill.mask import mask_plane, transparency
from lampyris.imaging.layout import subject_box
from lampyris.imaging.matte import refine_matte, working_copy
from lampyris.ops.base import Op, OpResult, Timings, uint8_pixels

_ASPECT_TOLERANCE = 0.02
"""A mask of another size is resized to the image's when its aspect ratio is within 2 %."""
_COLOUR_EPS = np.float32(1e-3)
"""Keeps α finite where subject and background have the same local colour (α stays near
the rough mask's 0.5 there, and the guided filter settles it)."""


class RefineMaskParams(BaseModel):
    """``decontaminate``: the RGBA subject instead of the mask. ``radius``: how far (in the
    image's pixels) the rough mask's edge may be from the true one; by default 2 % of the
    image's long side, at least 4 px."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decontaminate: bool = False
    radius: int | None = Field(default=None, ge=1, le=1024)
    invert_mask: bool = False
    review_threshold: float = Field(default=REVIEW_THRESHOLD, ge=0.0, le=1.0)


REVIEW_SIDE = 320
"""The colour-line estimate is reviewed at the cutout network's resolution (u2netp's 320), the
scale the score's weights were fitted at."""


def _review(estimate: np.ndarray, alpha: np.ndarray, work: np.ndarray,
            threshold: float) -> dict[str, Any]:
    """The review of a refined mask: its colour-line estimate stands in for the network's
    pass (there is no mirror pass to compare with)."""
    h, w = estimate.shape
    scale = min(1.0, REVIEW_SIDE / max(h, w))
    small = cv2.resize(estimate, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA)
    return review_matte(small, None, alpha, work, threshold).as_dict()


def default_radius(width: int, height: int) -> int:
    return max(4, round(max(width, height) * 0.02))


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def rough_plane(pixels: np.ndarray, mask: DecodedImage | np.ndarray | None,
                 invert: bool) -> np.ndarray:
    """The rough mask at the image's size (HxW uint8): the mask given, else the image's own
    transparency (a rough cutout)."""
    h, w = pixels.shape[:2]
    if mask is None:
        holes = transparency(pixels)
        if holes is None:
            raise InvalidParameterError(
                "refine-mask needs a mask (white = subject), or an image with transparency "
                "(a rough cutout)")
        plane = 255 - holes
    else:
        plane = mask_plane(mask.pixels if isinstance(mask, DecodedImage) else mask)
        mh, mw = plane.shape
        if (mh, mw) != (h, w):
            if abs(mw / mh - w / h) > _ASPECT_TOLERANCE * (w / h):
                raise InvalidParameterError(
                    f"the mask is {mw}x{mh} but the image is {w}x{h}: give a mask of the "
                    "image's size (or at least its shape)")
            plane = cv2.resize(plane, (w, h), interpolation=cv2.INTER_LINEAR)
    plane = 255 - plane if invert else plane
    if not (plane > 127).any():
        raise InvalidParameterError(
            "the mask is empty: it marks no subject to refine (white = subject)")
    return np.ascontiguousarray(plane)


CUT_SIDE = 512
"""Long side at which the graph cut runs: its cost grows with the pixel count (about 130 ms
here at 480x360), and the colour-line step after it restores the detail."""
CUT_ITERATIONS = 3


def graph_cut(rgb: np.ndarray, rough: np.ndarray, radius: int) -> np.ndarray:
    """``rough`` (uint8, white = subject) with every pixel within ``radius`` of its edge given
    to the side GrabCut finds for it, as a uint8 mask of ``rgb``'s size (0/255, with a soft
    step where it was cut at a reduced size); ``rough`` made 0/255 when one side has no sure
    pixel to model. Seeds OpenCV's random generator of the calling thread."""
    h, w = rough.shape
    inside = (rough > 127).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    fore, back = cv2.erode(inside, kernel), cv2.erode(1 - inside, kernel)
    if not fore.any() or not back.any():
        return inside * np.uint8(255)
    labels = np.where(inside > 0, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    labels[fore > 0], labels[back > 0] = cv2.GC_FGD, cv2.GC_BGD
    scale = min(1.0, CUT_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
    if not ((small == cv2.GC_FGD).any() and (small == cv2.GC_BGD).any()):
        return inside * np.uint8(255)
    bgr = np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)[..., ::-1])
    cv2.setRNGSeed(0)  # GrabCut seeds its colour models with k-means: the same mask every run
    cv2.grabCut(bgr, small, (0, 0, 0, 0), np.zeros((1, 65)), np.zeros((1, 65)),
                CUT_ITERATIONS, cv2.GC_INIT_WITH_MASK)  # the rectangle is unused with a mask
    cut = np.where((small == cv2.GC_FGD) | (small == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    return cut if scale == 1.0 else cv2.resize(cut, (w, h), interpolation=cv2.INTER_LINEAR)


def colour_line_alpha(rgb: np.ndarray, rough: np.ndarray, radius: int) -> np.ndarray:
    """α (float32 [0,1], ``rgb``'s size) where ``rough`` (uint8, white = subject) is sure
    more than ``radius`` pixels from its edge, and read off the colours in between."""
    inside = (rough > 127).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    fore = cv2.erode(inside, kernel).astype(np.float32)
    back = cv2.erode(1 - inside, kernel).astype(np.float32)
    image = rgb.astype(np.float32) * np.float32(1 / 255)
    reach = 3 * radius  # far enough for every band pixel to see both sides

    def local_mean(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        share = _box(weight, reach)
        mean = _box(image * weight[..., None], reach) / np.maximum(share, 1e-4)[..., None]
        return mean, share

    f, f_share = local_mean(fore)
    b, b_share = local_mean(back)
    d = f - b
    alpha = np.einsum("ijk,ijk->ij", image - b, d) / (np.einsum("ijk,ijk->ij", d, d)
                                                      + _COLOUR_EPS)
    np.clip(alpha, 0.0, 1.0, out=alpha)
    unseen = (f_share < 1e-3) | (b_share < 1e-3)  # one side has no sample: keep the rough mask
    alpha[unseen] = inside[unseen]
    alpha[fore > 0] = 1.0
    alpha[back > 0] = 0.0
    return alpha.astype(np.float32)


def refine_mask(
    image: DecodedImage | np.ndarray,
    params: RefineMaskParams | None = None,
    *,
    mask: DecodedImage | np.ndarray | None = None,
) -> OpResult:
    """The refined soft mask of ``mask`` over ``image`` (HxW uint8), or with ``decontaminate``
    the image's RGBA subject under it."""
    params = params or RefineMaskParams()
    pixels = uint8_pixels(image, "refine-mask")
    h, w = pixels.shape[:2]
    rgb = np.ascontiguousarray(pixels[..., :3])
    timings = Timings()
    rough = rough_plane(pixels, mask, params.invert_mask)
    radius = params.radius or default_radius(w, h)
    with timings.step("matte"):
        work = working_copy(rgb)
        scale = work.shape[1] / w
        small = rough if work is rgb else cv2.resize(rough, (work.shape[1], work.shape[0]),
                                                     interpolation=cv2.INTER_AREA)
        band = max(2, round(radius * scale))
        cut = graph_cut(work, small, band)
        estimate = colour_line_alpha(work, cut, max(2, band // 4))
        alpha = refine_matte(estimate, rgb, work=work)
    x0, y0, x1, y1 = subject_box(alpha)  # faint haze (alpha ≤ 8) left out, as a trim does
    meta: dict[str, Any] = {
        "radius": radius,
        "bounding_box": {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0},
        "decontaminate": params.decontaminate,
    }
    meta["review"] = _review(estimate, alpha, work, params.review_threshold)
    if not params.decontaminate:
        meta["timings"] = timings.steps
        return OpResult(alpha, meta)
    with timings.step("decontaminate"):
        layer = cutout_rgba(decontaminate(rgb, alpha, 1.0), alpha)
    meta["timings"] = timings.steps
    return OpResult(layer, meta)


OP = Op("refine_mask", RefineMaskParams, refine_mask, images=("mask",))
