"""Auto straighten: Lightroom's Upright, as a rotation found from the lines in the picture.

A tilted horizon or leaning door frame is the commonest geometric fault in a photo, and the
straight lines in the scene say by how much it is tilted: man-made scenes and horizons are full
of edges that should be level or plumb. So the estimate is the tilt those edges agree on:

* line segments are found with OpenCV's LSD detector (sub-pixel, no thresholds to tune, few
  false segments on noise) on a grey copy of at most ``DETECT_SIDE`` pixels, which is both fast
  and precise enough: a 300 px segment located to a tenth of a pixel fixes its angle to ~0.02°;
* segments within ``FAMILY_RANGE`` degrees of horizontal form the *level* family, those within
  it of vertical the *vertical* family; each gives one tilt reading, weighted by its length;
* the tilt is the peak of the smoothed, length-weighted histogram of readings (robust against
  the lines that are tilted for real: roofs, perspective, diagonals), refined by the
  length²-weighted mean of the readings near the peak (a segment's angle error falls with its
  length, so that is the inverse-variance weighting).

The modes choose the families as Lightroom's do: ``level`` the horizontal one, ``vertical`` the
vertical one, ``full`` both; ``auto`` uses both too but rotates only on clear evidence (enough
line length, most of it agreeing, from several lines or one across the frame, at most
``AUTO_MAX_ANGLE``), because a wrong rotation is worse than none. Every mode leaves an image
without usable lines alone.

Only rotation is corrected, never a keystone (converging verticals from a camera tilted up):
that needs a homography that also changes the subject's proportions, and guessing it wrong is
far more visible than a missed one. But a keystone is *allowed for* when reading the roll: its
verticals each lean by their own amount and only the one through the centre shows the roll,
so when they clearly fan out towards a vanishing point (``unconverge``), each is read as the
roll it implies. Without that, ``vertical`` would turn a keystoned facade by the lean of
whichever edge happens to be longest.

The rotation is one ``cv2.warpAffine`` (bicubic) about the centre. ``constrain_crop`` keeps the
largest centred rectangle of the original aspect ratio that the rotated picture covers (so the
output is slightly smaller than the input); without it the canvas grows to hold the whole
rotated picture, and its empty corners are transparent for RGBA and white for RGB, as in
Lightroom's export of an unconstrained transform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from lampyris.errors import InvalidParameterError

MODES = ("auto", "level", "vertical", "full")

DETECT_SIDE = 1000  # long side of the grey copy the lines are found on
FAMILY_RANGE = 25.0  # degrees from horizontal / vertical a segment may be to count
MIN_SEGMENT = 0.04  # shortest segment that counts, as a fraction of the long side
BIN = 0.05  # histogram bin, degrees
SMOOTH = 0.3  # histogram smoothing (Gaussian sigma), degrees
INLIER = 1.0  # readings within this many degrees of the peak support it
REFINE = 0.5  # ... and within this of the first refined estimate make the final one
MIN_ANGLE = 0.05  # smaller corrections are not worth resampling the image for
SAME_LINE = 0.02  # segments this close across their direction (of the long side) are one line
CROP_MARGIN = 1.5  # pixels the constrained crop keeps clear of the picture's edge

# Keystones: only believed when they clearly explain the verticals better than a rotation.
KEYSTONE_CANDIDATES = 40  # longest vertical segments whose pairs propose a keystone
KEYSTONE_GAIN = 1.5  # line length a keystone must explain, relative to a plain rotation
KEYSTONE_MIN_BEND = 1.0  # degrees the verticals must fan out by across the frame
KEYSTONE_MAX_U = 2.0  # vanishing point at least half the long side from the centre

# Evidence needed before rotating. Support is agreeing line length in long sides; confidence
# is the (length²-weighted) share of near-axis edges that agree, times min(1, support).
MIN_SUPPORT = 0.25  # level / vertical / full: a quarter of the frame of agreeing lines
FULL_SUPPORT = 1.0  # this much agreeing line length (a horizon across the frame) is plenty
AUTO_MIN_SUPPORT = 0.4
AUTO_MIN_CONFIDENCE = 0.3
AUTO_MIN_LINES = 3  # separate agreeing lines, ...
AUTO_MIN_SPAN = 0.8  # ... or one across most of the frame (a horizon), ...
AUTO_SINGLE_CONFIDENCE = 0.6  # ... which must then outweigh the disagreeing edges clearly
AUTO_MAX_ANGLE = 20.0

WHITE = 255


@dataclass(frozen=True)
class Segments:
    """Line segments as tilt readings (degrees, counter-clockwise positive).

    ``lean`` is each segment's own angle from its axis, ``tilt`` the roll it says the camera
    had: the same, unless a keystone is taken out (``unconverge``). ``length`` is in detection
    pixels, ``mid`` the midpoints (N x 2, x right and y up from the image centre) and
    ``vertical`` which family each belongs to.
    """

    tilt: np.ndarray
    length: np.ndarray
    mid: np.ndarray
    vertical: np.ndarray
    lean: np.ndarray

    def select(self, keep: np.ndarray) -> Segments:
        return Segments(
            self.tilt[keep], self.length[keep], self.mid[keep], self.vertical[keep],
            self.lean[keep],
        )


@dataclass(frozen=True)
class Estimate:
    """The scene's tilt as read from one set of segments, and how far to trust it."""

    tilt: float
    lines: int
    support: float  # agreeing line length / long side of the detection image
    confidence: float
    span: float = 0.0  # extent of the longest agreeing line / the frame's width or height


NO_ESTIMATE = Estimate(0.0, 0, 0.0, 0.0)


def straighten(
    pixels: np.ndarray, mode: str = "auto", *, constrain_crop: bool = True
) -> tuple[np.ndarray, dict[str, Any]]:
    """Level ``pixels`` (HxWx3 or HxWx4 uint8) by rotating out the tilt its lines show.

    Returns the image and ``{"angle", "mode", "confidence", "lines", "crop", "size"}``:
    ``angle`` is the rotation applied in degrees (counter-clockwise positive, 0.01 steps),
    ``confidence`` how clear the evidence was (0..1, given even when nothing was done),
    ``lines`` the number of separate lines that agree on the tilt, ``crop`` the
    ``[x, y, w, h]`` kept of the rotated canvas (None without ``constrain_crop`` or rotation)
    and ``size`` the output's ``[w, h]``. Without evidence (or a correction under
    ``MIN_ANGLE``) ``pixels`` itself comes back, with angle 0.
    """
    if mode not in MODES:
        raise InvalidParameterError(
            f"unknown upright mode {mode!r}: expected one of {', '.join(MODES)}"
        )
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype != np.uint8:
        raise InvalidParameterError("straighten takes an HxWx3 or HxWx4 uint8 image")
    estimate = estimate_tilt(pixels, mode)
    angle = round(-estimate.tilt, 2)
    h, w = pixels.shape[:2]
    meta: dict[str, Any] = {
        "angle": 0.0,
        "mode": mode,
        "confidence": round(estimate.confidence, 3),
        "lines": estimate.lines,
        "crop": None,
        "size": [w, h],
    }
    if abs(angle) < MIN_ANGLE:
        return pixels, meta
    out, crop = rotate(pixels, angle, constrain_crop=constrain_crop)
    meta.update(angle=angle, crop=crop, size=[out.shape[1], out.shape[0]])
    return out, meta


# --------------------------------------------------------------------------------------------
# Estimation
# --------------------------------------------------------------------------------------------


def estimate_tilt(pixels: np.ndarray, mode: str) -> Estimate:
    """How far the scene in ``pixels`` is tilted (counter-clockwise positive), per ``mode``."""
    grey = detection_grey(pixels)
    segments = unconverge(line_segments(grey), max(grey.shape))
    if mode == "level":
        segments = segments.select(~segments.vertical)
    elif mode == "vertical":
        segments = segments.select(segments.vertical)
    est = peak_tilt(segments, (grey.shape[1], grey.shape[0]))
    trusted = auto_trusts(est) if mode == "auto" else est.support >= MIN_SUPPORT
    return est if trusted else Estimate(0.0, est.lines, est.support, est.confidence, est.span)


def auto_trusts(est: Estimate) -> bool:
    """Whether ``auto`` may rotate on ``est``: enough agreeing line length, from several
    separate lines, or from one across the frame (a horizon) that few other edges contradict,
    and a tilt a photographer could plausibly have made by accident."""
    if est.support < AUTO_MIN_SUPPORT or abs(est.tilt) > AUTO_MAX_ANGLE:
        return False
    if est.lines >= AUTO_MIN_LINES:
        return est.confidence >= AUTO_MIN_CONFIDENCE
    return est.span >= AUTO_MIN_SPAN and est.confidence >= AUTO_SINGLE_CONFIDENCE


def detection_grey(pixels: np.ndarray) -> np.ndarray:
    """A grey copy of the colour channels, long side at most ``DETECT_SIDE``."""
    h, w = pixels.shape[:2]
    scale = DETECT_SIDE / max(h, w)
    rgb = pixels[..., :3]
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def line_segments(grey: np.ndarray) -> Segments:
    """The long near-horizontal and near-vertical segments of ``grey``, as tilt readings."""
    detector = cv2.createLineSegmentDetector(cv2.LSD_REFINE_STD)
    found = detector.detect(grey)[0]
    if found is None:
        return Segments(
            np.zeros(0), np.zeros(0), np.zeros((0, 2)), np.zeros(0, bool), np.zeros(0)
        )
    x1, y1, x2, y2 = found.reshape(-1, 4).astype(np.float64).T
    dx, dy = x2 - x1, y1 - y2  # y up, so angles are counter-clockwise positive
    length = np.hypot(dx, dy)
    # Direction angle folded into [-90, 90): a segment has no head or tail.
    angle = (np.degrees(np.arctan2(dy, dx)) + 90.0) % 180.0 - 90.0
    vertical_tilt = np.where(angle >= 0.0, angle - 90.0, angle + 90.0)
    vertical = np.abs(vertical_tilt) <= FAMILY_RANGE
    keep = (length >= MIN_SEGMENT * max(grey.shape)) & (vertical | (np.abs(angle) <= FAMILY_RANGE))
    h, w = grey.shape
    mid = np.stack([(x1 + x2 - w) / 2, (h - y1 - y2) / 2], axis=1)
    tilt = np.where(vertical, vertical_tilt, angle)
    return Segments(tilt, length, mid, vertical, tilt).select(keep)


def unconverge(segments: Segments, side: int) -> Segments:
    """``segments`` with the vertical family's readings freed of a keystone, when there is one.

    A camera tilted up makes verticals converge on a vanishing point above the picture; each
    one then leans by its own amount and only the one through the centre shows the roll. With
    the vanishing point at (x, y) = (-tan(roll) / u, 1 / u) (centre origin, y up, long side 1),
    a vertical through (xᵢ, yᵢ) leaning by tᵢ obeys, exactly, the linear relation
    tan tᵢ = tan(roll) + u · (xᵢ + yᵢ · tan tᵢ).
    Every pair of long segments fixes (tan roll, u); the pair most of the line length agrees
    with (within ``INLIER`` / 2) wins and is refined by least squares on its supporters. The
    keystone is believed only when it explains clearly more line length (``KEYSTONE_GAIN``)
    than a plain rotation does, from several lines, and bends them by at least
    ``KEYSTONE_MIN_BEND`` across the frame: otherwise the readings are left as they are. When
    it is believed, each reading becomes the roll it implies, ``atan(tan tᵢ - u·zᵢ)``.
    """
    vertical = np.flatnonzero(segments.vertical)
    if vertical.size < 3:
        return segments
    tan = np.tan(np.radians(segments.tilt[vertical]))
    x, y = (segments.mid[vertical] / side).T
    z = x + y * tan
    u = keystone_fit(tan, z, segments.length[vertical])
    if u is None:
        return segments
    tilt = segments.tilt.copy()
    tilt[vertical] = np.degrees(np.arctan(tan - u * z))
    return Segments(tilt, segments.length, segments.mid, segments.vertical, segments.lean)


def agreeing(tan: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Which readings (as tangents) are within ``INLIER`` / 2 degrees of the predicted ones."""
    return np.abs(np.degrees(np.arctan(tan) - np.arctan(predicted))) <= INLIER / 2


def keystone_fit(tan: np.ndarray, z: np.ndarray, length: np.ndarray) -> float | None:
    """``u`` of the best converging model of ``unconverge``, or None unless it is believed.

    Candidates come from pairs among the ``KEYSTONE_CANDIDATES`` longest segments.
    """
    top = np.argsort(length)[::-1][:KEYSTONE_CANDIDATES]
    i, j = np.triu_indices(top.size, 1)
    i, j = top[i], top[j]
    dz = z[i] - z[j]
    ok = np.abs(dz) > 0.05
    i, j, dz = i[ok], j[ok], dz[ok]
    u = (tan[i] - tan[j]) / dz
    offset = tan[i] - u * z[i]
    plausible = np.abs(u) <= KEYSTONE_MAX_U
    if not plausible.any():
        return None
    u, offset = u[plausible], offset[plausible]
    support = agreeing(tan[None, :], offset[:, None] + u[:, None] * z[None, :]) @ length
    best = int(np.argmax(support))
    # The plain rotation's best, on the same terms: one segment's reading, u = 0.
    rotation = agreeing(tan[None, :], tan[top, None]) @ length
    if support[best] < KEYSTONE_GAIN * float(rotation.max()):
        return None
    inliers = agreeing(tan, offset[best] + u[best] * z)
    if inliers.sum() < AUTO_MIN_LINES:
        return None
    weight = length[inliers]
    design = np.stack([np.ones(int(inliers.sum())), z[inliers]], axis=1) * weight[:, None]
    fitted = float(np.linalg.lstsq(design, tan[inliers] * weight, rcond=None)[0][1])
    # How much the keystone turns the outermost supporting verticals against each other.
    bend = abs(fitted) * float(np.ptp(z[inliers]))
    return fitted if bend >= math.tan(math.radians(KEYSTONE_MIN_BEND)) else None


def peak_tilt(segments: Segments, frame: tuple[int, int]) -> Estimate:
    """The tilt most of the line length agrees on, refined by the readings near it.

    ``confidence`` is the share of the readings that agree, each weighted by its length² as
    in the mean (one long edge says more than many short ones), scaled down when the agreeing
    length is short (under ``FULL_SUPPORT`` long sides).
    """
    if segments.tilt.size == 0:
        return NO_ESTIMATE
    peak = histogram_peak(segments)
    tilt = weighted_mean(segments, peak, INLIER)
    tilt = weighted_mean(segments, tilt, REFINE)
    agree = np.abs(segments.tilt - tilt) <= INLIER
    weight = segments.length**2
    share = float(weight[agree].sum() / weight.sum())
    support = float(segments.length[agree].sum()) / max(frame)
    confidence = share * min(1.0, support / FULL_SUPPORT)
    lines, span = distinct_lines(segments.select(agree), frame)
    return Estimate(tilt, lines, support, confidence, span)


def distinct_lines(segments: Segments, frame: tuple[int, int]) -> tuple[int, float]:
    """How many separate lines ``segments`` lie on, and the longest one's span.

    Segments whose lines pass within ``SAME_LINE`` of the long side of each other (measured
    across their direction, at the centre) count as one: the two edges of a post, or a horizon
    broken into pieces. A line's span is its extent along its direction, as a fraction of the
    frame's width (level lines) or height (vertical ones): 1 for a horizon from edge to edge.
    """
    if segments.tilt.size == 0:
        return 0, 0.0
    w, h = frame
    side = max(w, h)
    c, s = np.cos(np.radians(segments.lean)), np.sin(np.radians(segments.lean))
    x, y = segments.mid[:, 0], segments.mid[:, 1]
    across = np.where(segments.vertical, x * c + y * s, y * c - x * s)
    along = np.where(segments.vertical, y * c - x * s, x * c + y * s)
    across = across + np.where(segments.vertical, 4.0 * side, 0.0)  # keep families apart
    order = np.argsort(across)
    breaks = np.flatnonzero(np.diff(across[order]) > SAME_LINE * side) + 1
    span = 0.0
    for group in np.split(order, breaks):
        half = segments.length[group] / 2
        extent = float(np.max(along[group] + half) - np.min(along[group] - half))
        span = max(span, extent / (h if segments.vertical[group[0]] else w))
    return len(breaks) + 1, span


def histogram_peak(segments: Segments) -> float:
    """Centre of the highest bin of the smoothed, length-weighted histogram of tilts."""
    bins = round(2 * FAMILY_RANGE / BIN)
    hist, edges = np.histogram(
        segments.tilt, bins=bins, range=(-FAMILY_RANGE, FAMILY_RANGE), weights=segments.length
    )
    radius = math.ceil(3 * SMOOTH / BIN)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) * BIN / SMOOTH) ** 2)
    smooth = np.convolve(hist, kernel, mode="same")
    best = int(np.argmax(smooth))
    return float(edges[best] + BIN / 2)


def weighted_mean(segments: Segments, centre: float, radius: float) -> float:
    """Length²-weighted mean of the tilts within ``radius`` of ``centre`` (``centre`` if none)."""
    near = np.abs(segments.tilt - centre) <= radius
    if not near.any():
        return centre
    weight = segments.length[near] ** 2
    return float(np.sum(segments.tilt[near] * weight) / np.sum(weight))


# --------------------------------------------------------------------------------------------
# Rotation
# --------------------------------------------------------------------------------------------


def rotated_size(w: int, h: int, angle: float) -> tuple[float, float]:
    """Width and height of the bounding box of a ``w`` x ``h`` rectangle turned by ``angle``."""
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    return w * c + h * s, w * s + h * c


def crop_scale(w: int, h: int, angle: float) -> float:
    """Largest scale of a centred ``w`` x ``h`` rectangle that fits in it turned by ``angle``.

    A corner (±a, ±b) of the crop, turned back into the source frame, must stay inside it:
    a·cos + b·sin <= w/2 and a·sin + b·cos <= h/2 with (a, b) = scale·(w/2, h/2). The source is
    taken ``CROP_MARGIN`` pixels smaller all round, so that no corner pixel of the crop is
    interpolated from beyond the picture's edge.
    """
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    inner_w, inner_h = w - 2 * CROP_MARGIN, h - 2 * CROP_MARGIN
    return max(0.0, min(inner_w / (w * c + h * s), inner_h / (w * s + h * c)))


def rotate(
    pixels: np.ndarray, angle: float, *, constrain_crop: bool
) -> tuple[np.ndarray, list[int] | None]:
    """``pixels`` turned by ``angle`` degrees (counter-clockwise) about its centre.

    With ``constrain_crop`` the output is the centred crop (``[x, y, w, h]`` on the grown canvas,
    also returned) of the original aspect; it is rendered directly, in the same single pass.
    """
    h, w = pixels.shape[:2]
    canvas_w, canvas_h = (math.ceil(v - 1e-6) for v in rotated_size(w, h, angle))
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    matrix[0, 2] += (canvas_w - w) / 2
    matrix[1, 2] += (canvas_h - h) / 2
    if not constrain_crop:
        return expand(pixels, matrix, (canvas_w, canvas_h)), None
    crop = centred_crop(w, h, canvas_w, canvas_h, crop_scale(w, h, angle))
    x, y, cw, ch = crop
    matrix[0, 2] -= x
    matrix[1, 2] -= y
    # Replicating the border keeps the crop's outermost pixels (whose interpolation footprint
    # may graze the edge) free of any blank tint.
    out = cv2.warpAffine(
        pixels, matrix, (cw, ch), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return out, crop


def centred_crop(w: int, h: int, canvas_w: int, canvas_h: int, scale: float) -> list[int]:
    """``[x, y, w, h]`` of the centred crop of ``w`` x ``h`` scaled by ``scale`` on the canvas.

    The size is rounded down, and the height then follows the width (or the other way round
    for portrait images), so the aspect ratio is kept to within a pixel of the long side.
    """
    if w >= h:
        cw = max(1, math.floor(w * scale))
        ch = max(1, min(math.floor(h * scale), round(cw * h / w)))
    else:
        ch = max(1, math.floor(h * scale))
        cw = max(1, min(math.floor(w * scale), round(ch * w / h)))
    return [(canvas_w - cw) // 2, (canvas_h - ch) // 2, cw, ch]


def expand(pixels: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The whole rotated picture on a grown canvas with blank corners.

    RGB corners are white. RGBA corners are transparent: the colour is warped with a
    replicated border and the alpha with a zero one, so the anti-aliased edge keeps the
    picture's colour instead of fading to black (straight alpha).
    """
    if pixels.shape[2] == 3:
        return cv2.warpAffine(
            pixels, matrix, size, flags=cv2.INTER_CUBIC,
            borderMode=cv2.BORDER_CONSTANT, borderValue=(WHITE, WHITE, WHITE),
        )
    out = cv2.warpAffine(
        pixels, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    out[..., 3] = cv2.warpAffine(
        np.ascontiguousarray(pixels[..., 3]), matrix, size, flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )
    return out
