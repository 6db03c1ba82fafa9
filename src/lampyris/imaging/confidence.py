"""How far to trust a cutout, from what the pipeline already has: a score in [0, 1] (1 = surely
fine) and the reasons behind it, so a catalog team checks the 50 doubtful cutouts of 10,000
instead of all of them.

The features are measured on the network's matte at its own resolution (320x320 for u2netp)
plus one cheap edge term on a reduced copy of the photo; together they cost a few
milliseconds. The score is a logistic model over them, with the weights fitted on the
reference sets by ``bench/review_bench.py`` (docs/benchmarks.md, "Review score").

Usage::

    review = review_matte(passes.first, passes.mirrored, alpha, rgb)
    if review.flag: ...   # review.reasons[0] says why first
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

REVIEW_THRESHOLD = 0.5
"""Below this score a result is flagged for a human. Measured on the reference sets' 313
images (bench/review_bench.py): it flags most cutouts whose MAE is above 0.08 while flagging
few of all; see docs/benchmarks.md for the numbers."""

EDGE_SIDE = 512
"""Long side at which the matte's edge is compared with the photo's gradients."""

UNSURE = (0.1, 0.9)
"""Matte values between these are undecided (the same band as the mirror pass's trigger)."""


@dataclass(frozen=True)
class Review:
    """One result's review verdict, as every report shows it (the ``review`` object)."""

    score: float
    threshold: float
    reasons: list[str] = field(default_factory=list)
    features: dict[str, Any] = field(default_factory=dict)

    @property
    def flag(self) -> bool:
        return self.score < self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {"score": round(self.score, 4), "flag": self.flag,
                "threshold": self.threshold, "reasons": list(self.reasons),
                "features": dict(self.features)}


def _components(mask: np.ndarray) -> np.ndarray:
    """Areas of the 8-connected components of a boolean mask, largest first."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    areas = stats[1:count, cv2.CC_STAT_AREA].astype(np.int64)
    return np.sort(areas)[::-1]


def _holes(subject: np.ndarray) -> float:
    """Share of the subject's outline area that is enclosed background (a ring's middle)."""
    background = (~subject).astype(np.uint8)
    padded = cv2.copyMakeBorder(background, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1)
    count, labels = cv2.connectedComponents(padded, connectivity=4)
    if count <= 2:
        return 0.0
    outside = labels[0, 0]
    enclosed = int(np.count_nonzero((labels > 0) & (labels != outside)))
    return enclosed / max(int(np.count_nonzero(subject)) + enclosed, 1)


def _border(subject: np.ndarray) -> tuple[float, list[str]]:
    """Share of the frame's pixels that are subject, and the sides the subject touches (over
    5 % of that side's length)."""
    sides = {"top": subject[0], "bottom": subject[-1], "left": subject[:, 0],
             "right": subject[:, -1]}
    touching = [name for name, line in sides.items() if float(line.mean()) > 0.05]
    share = float(np.concatenate(list(sides.values())).mean())
    return share, touching


def _solidity(subject: np.ndarray) -> float:
    """The subject's area over its convex hull's: a plain convex blob scores near 1. Confident
    wrong cutouts in the reference sets are often such blobs (a region the network filled
    rather than an object's outline)."""
    contours, _ = cv2.findContours(subject.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return 0.0
    hull = cv2.contourArea(cv2.convexHull(np.vstack(contours)))
    return min(float(np.count_nonzero(subject)) / max(hull, 1.0), 1.0)


INTERIOR_GAP = 0.01
"""How far from the matte's outline (a share of its long side: 3 px of u2netp's 320) an
undecided value counts as inside a region rather than on an edge."""


def _interior_undecided(matte: np.ndarray, softness: np.ndarray) -> float:
    """The undecided mass lying away from the outline: hair and fur are soft along the edge
    only, while a network unsure of what the subject is leaves whole regions half-on."""
    hard = (matte >= 0.5).astype(np.uint8)
    outline = cv2.morphologyEx(hard, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    distance = cv2.distanceTransform(1 - outline, cv2.DIST_L2, 3)
    lo, hi = UNSURE
    far = (matte > lo) & (matte < hi) & (distance > INTERIOR_GAP * max(matte.shape))
    return float(softness[far].sum()) / matte.size


def edge_alignment(alpha: np.ndarray, rgb: np.ndarray) -> float:
    """How strongly the photo changes where the matte's edge is, against the photo's typical
    gradient (a log ratio; 0 when there is no edge): a cutout whose outline runs through flat
    areas has followed no real boundary."""
    h, w = alpha.shape[:2]
    scale = min(1.0, EDGE_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small_a = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    grey = cv2.GaussianBlur(grey, (3, 3), 0).astype(np.float32)
    grad = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    hard = (small_a >= 128).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    edge = (cv2.dilate(hard, kernel) != cv2.erode(hard, kernel))
    edge[[0, -1], :] = False  # the frame is no edge of the subject's
    edge[:, [0, -1]] = False
    if not edge.any():
        return 0.0
    near = cv2.dilate(grad, kernel)  # the photo's edge within a pixel of the matte's
    typical = float(np.mean(grad)) + 1.0
    return math.log((float(np.mean(near[edge])) + 1.0) / typical)


def matte_features(
    first: np.ndarray, mirrored: np.ndarray | None, alpha: np.ndarray, rgb: np.ndarray
) -> dict[str, float]:
    """The measurements behind the score and its reasons: ``first``/``mirrored`` are the
    network's passes at its resolution (float [0, 1]; ``mirrored`` None when it did not run),
    ``alpha`` the final 8-bit matte and ``rgb`` the photo (any size: both are reduced)."""
    matte = first if mirrored is None else (first + mirrored) * np.float32(0.5)
    lo, hi = UNSURE
    undecided = float(np.count_nonzero((matte > lo) & (matte < hi))) / matte.size
    subject = matte >= 0.5
    area = float(subject.mean())
    pieces = _components(subject)
    total = max(int(pieces.sum()), 1)
    border, sides = _border(subject)
    soft = np.minimum(matte, 1.0 - matte) * np.float32(2.0)
    softness = float(np.mean(soft))
    return {
        "undecided": round(undecided, 4),
        # The matte's expected error if its values were probabilities (2·min(m, 1-m) per
        # pixel), times the share it concerns (the subject's area, or the undecided band when
        # that is larger: a matte soft everywhere and below 0.5 has no area but is no good
        # cutout): the best single predictor of a bad cutout.
        "undecided_mass": round(softness * max(area, undecided), 5),
        "interior_undecided": round(_interior_undecided(matte, soft), 5),
        "solidity": round(_solidity(subject), 4),
        "area": round(area, 4),
        "pieces": int(np.count_nonzero(pieces >= 0.05 * total)) if pieces.size else 0,
        "holes": round(_holes(subject), 4),
        "border": round(border, 4),
        "border_sides": len(sides),
        "mirror_gap": round(float(np.abs(first - mirrored).mean()), 4)
        if mirrored is not None else 0.0,
        "edge_alignment": round(edge_alignment(alpha, rgb), 3),
    }


# The score's logistic model: z = WEIGHTS·features + INTERCEPT, score = 1 / (1 + e^(SPREAD·z)).
# Fitted by bench/review_bench.py (``fit``) on the 313 reference images (4 sets), with "needs
# review" = cutout MAE > 0.08 (36 images), class-balanced, features standardised then folded
# back to raw units. Forward selection by leave-one-set-out AUC and recall kept these four out
# of about 40 measured (docs/benchmarks.md lists them). None of the rest raised the recall; a
# second model's opinion (u2net, 176 MB and 0.5 s more per image) raised only the AUC. The
# intercept is shifted so that REVIEW_THRESHOLD (0.5) flags
# 20 % of the reference images.
WEIGHTS = {"undecided_mass": 18.57, "border_sides": 1.166, "solidity": 2.589,
           "interior_undecided": 37.30}
INTERCEPT = -3.546
SPREAD = 3.0
"""Stretches the fitted model's scores over [0, 1] (a clean, compact studio cutout, z about
-1.2, scores 0.97 rather than the fit's 0.77); the order and the flags at 0.5 are the fit's."""


EMPTY_AREA = 0.0005
"""A matte with less subject than this (0.05 % of the frame, 51 pixels of u2netp's 320x320)
found nothing. The smallest subject of a correct cutout in the reference sets covers 0.07 %
(duts_te); a catalog photo whose cutout comes back empty is always one to look at."""
EMPTY_SCORE = 0.05


def score(features: dict[str, float]) -> float:
    """The review score of a cutout's ``matte_features``: 1 = surely fine, 0 = surely not.
    An empty cutout scores ``EMPTY_SCORE`` whatever the model says."""
    if float(features["area"]) < EMPTY_AREA:
        return EMPTY_SCORE
    z = INTERCEPT + sum(w * float(features[name]) for name, w in WEIGHTS.items())
    return 1.0 / (1.0 + math.exp(min(max(SPREAD * z, -50.0), 50.0)))


def reasons(features: dict[str, Any], flagged: bool) -> list[str]:
    """Short words for what lowered the score, worst first: the score's own terms ranked by
    what they add to it, and an empty cutout. Only a flagged result also gets the other
    observations (mirror disagreement, pieces, size, outline), as hints for the person who
    looks; an unflagged one lists nothing it was not scored on."""
    found: list[tuple[float, str]] = []
    area = float(features["area"])
    if area < EMPTY_AREA:
        found.append((100.0, "no subject found"))
    if (u := float(features["undecided"])) > 0.05:
        weight = WEIGHTS["undecided_mass"] * float(features["undecided_mass"])
        found.append((weight, f"undecided edge {u:.0%}".replace("%", " %")))
    if (inner := float(features.get("interior_undecided", 0.0))) > 0.002:
        found.append((WEIGHTS["interior_undecided"] * inner, "unsure regions inside the subject"))
    if (n := int(features["border_sides"])) > 0:
        found.append((WEIGHTS["border_sides"] * n,
                      f"subject touches {n} border" + ("s" if n > 1 else "")))
    if flagged:
        if (g := float(features["mirror_gap"])) > 0.03:
            found.append((g * 10, f"mirror pass disagrees {g:.2f}"))
        if (p := int(features["pieces"])) > 1:
            found.append((0.3 * (p - 1), f"{p} large pieces"))
        if EMPTY_AREA <= area < 0.01:
            found.append((1.0, "subject very small"))
        elif area > 0.9:
            found.append((1.0, "subject fills nearly all the frame"))
        if float(features.get("solidity", 0.0)) > 0.9:
            found.append((0.2, "outline is a plain blob"))
        if float(features["edge_alignment"]) < 0.3 and area >= EMPTY_AREA:
            found.append((0.3, "outline follows no photo edge"))
    return [text for _, text in sorted(found, key=lambda item: -item[0])]


def review_matte(
    first: np.ndarray,
    mirrored: np.ndarray | None,
    alpha: np.ndarray,
    rgb: np.ndarray,
    threshold: float = REVIEW_THRESHOLD,
) -> Review:
    """The review of a cutout or mask from its passes, final matte and photo."""
    features = matte_features(first, mirrored, alpha, rgb)
    value = score(features)
    return Review(value, threshold, reasons(features, value < threshold), features)


GENERATED_WEIGHT = 0.6
"""How much a fill's score drops per share of the image generated: a fill that drew over
5/6 of the picture (nothing of the photo left but a small subject) falls below 0.5. Not
measured against a ground truth (there is none for a generated background); a documented
rule of thumb."""


def review_fill(guard_held: bool, generated_share: float,
                threshold: float = REVIEW_THRESHOLD) -> Review:
    """The review of a fill: 0 when the fidelity guard did not hold, else lower the more of
    the image was generated."""
    share = min(max(float(generated_share), 0.0), 1.0)
    value = 1.0 - GENERATED_WEIGHT * share if guard_held else 0.0
    found = [] if guard_held else ["fidelity guard did not hold"]
    if share > 0.5:
        found.append(f"generated {share:.0%} of the image".replace("%", " %"))
    return Review(value, threshold, found,
                  {"guard_held": bool(guard_held), "generated_share": round(share, 4)})
