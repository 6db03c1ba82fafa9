"""Hole opening: clear the gaps of see-through subjects that the matte filled as subject.

u2net sees the image at 320 px, so a wicker ball's weave, the inside of a ring or the space
between a chair's slats often come back solid, and the old ground shows through them on the
new background. A gap shows the same ground as the one around the subject, so this step
learns the colours of the confident background near the subject (α = 0) and clears the
regions inside the matte that match them and differ from the subject around them.

It is conservative by construction, because eating a product is worse than leaving a gap.
A region is opened only when all of these hold (each constant below says what it guards
against, measured on the reference sets and generated look-alikes, ``bench/edge_bench.py``):

* the ground is simple (a few tight colour clusters explain it: a backdrop, a sweep, a lawn)
  and, by default, coloured — on white, grey and black grounds white labels, chrome, tyres,
  black prints and a Dalmatian's spots match the ground exactly as a gap does, so neutral
  grounds are used only with ``neutral=True``;
* the region matches the ground closely (Mahalanobis in Lab), its colour is typical of the
  ground all around, it carries the ground's texture where the ground has one, and it has
  few subject-coloured islands inside (lettering);
* it is enclosed by the matte, thicker than a strip of trim, and the subject a few pixels
  around it is clearly unlike the ground;
* it is large (a ring's or a handle's opening), or one of a family of many small regions
  spread over the subject (a weave, a mesh).

Work is done at ≤ 1024 px; only the holes' boxes are touched at full resolution, where each
rim pixel is unmixed between the hole's colour and the surrounding subject's, so hole
borders are as soft as the photo's.
"""

from __future__ import annotations

import cv2
import numpy as np

WORK_SIDE = 1024
"""Long side of the working resolution (as the matte's guided filter uses)."""

CANDIDATE_ALPHA = 32
"""Working-resolution α from which a pixel counts as (possibly wrongly) held by the matte."""

RING = 0.05
"""Width of the background ring the colour model is learned from, as a share of the long
side: near enough to be the ground seen through the gaps, wide enough for its texture."""

CLUSTERS = 3
SAMPLES = 4000
MIN_RING = 200
"""The ground model: k-means clusters in Lab over up to ``SAMPLES`` evenly strided ring
pixels, and at least ``MIN_RING`` of them (fewer say nothing about a ground)."""

MIN_SIGMA = 2.0
"""Floor on a background cluster's spread per Lab axis (ΔE units): a flat studio ground
would otherwise accept only its exact colour, and JPEG noise differs from gap to ring."""

MAX_SIGMA = 10.0
"""Clusters spread wider than this along any Lab axis say little about any one colour — a
busy natural scene, a shadow fading into the floor — and are not used: there the test would
match half the subject (a carvana car's dark wheel openings match the σ_L = 14 cluster of
the shadow beneath it)."""

SIMPLE_GROUND = 0.9
"""Share of the ring the tight clusters must explain: a backdrop, a sweep or a lawn. Busy
grounds (a street, a shop, a studio floor with a fading shadow: carvana 0.68-0.87, half of
ecssd and a third of DUTS-TE below 0.8) are left alone."""

MATCH = 9.0
"""Squared Mahalanobis distance under which a pixel looks like the ground (≈ 97 % of a 3-D
normal)."""

TYPICAL = 0.25
"""Share of the ring in the clusters within 6 σ of a hole's mean colour: the ground seen
through a gap is the ground all around the subject, not a patch of it in one place. (A
graded or textured ground is split across clusters, hence the wider radius.)"""

BORDER_MATCH = 36.0
"""The subject 2-3 working px around a hole (past a soft border's mixed pixels) must be
unlike the ground: its median squared distance from the ground model at least this (6 σ)."""

ENCLOSED = 0.85
"""Share of a region's outline that must be held by the matte (α ≥ ``CANDIDATE_ALPHA``): a
region bordered by the soft fringe at the subject's edge (dark hair against a dark wall) is
the edge, not a hole."""

SINGLE_SHARE = 0.03
SINGLE_AREA = 1e-3
"""A lone region must cover this share of the subject and of the working image (≈ 28×28 px
at 1024×768): a ring's or a handle's opening, not a button."""

FAMILY_AREA = 1e-4
FAMILY_SIZE = 12
FAMILY_SPREAD = 0.25
FAMILY_DENSITY = 0.08
"""Smaller regions (down to ``FAMILY_AREA`` of the working image) are opened only as a
family: at least ``FAMILY_SIZE`` of them, spread over a hull of ``FAMILY_SPREAD`` of the
subject and covering ``FAMILY_DENSITY`` of that hull — the gaps of a weave or a mesh. On
carvana the families that matched the floor were chrome strips, a grille's 5 slats and two
wheels' spokes (4-10 members, hull density under 5 %); a wicker ball has hundreds."""

MIN_THICKNESS = 2.5
"""A hole must fit a disc of this radius in working pixels: chrome trim and window rubbers
reflect the floor in strips 1-2 px thick; a gap the matte filled is wider than that."""

GRAIN_MIN = 3.0
GRAIN_RATIO = 0.5
"""On a textured ground (mean fine texture ``GRAIN_MIN`` 8-bit L levels or more: grass,
gravel, most natural scenes at 5) a hole must carry at least ``GRAIN_RATIO`` of the
ground's texture: a flat panel in the grass's mean colour is paint, not grass (0.23 of it;
generated gaps 0.6-1.0). Studio grounds (carvana's floor 0.7-1.5) carry only sensor noise,
which a print shares, so the test is not used there."""

NEUTRAL_CHROMA = 12.0
"""Ground clusters with less chroma (C*ab) than this are neutral: white, grey or black
sweeps, where white labels, chrome, tyres and black prints match the ground as well as a
gap does. They are used only with ``neutral=True``."""

MAX_ISLANDS = 0.08
"""Share of a region's filled area allowed to be enclosed non-ground pixels (texture)."""


def open_holes(rgb: np.ndarray, alpha: np.ndarray, *, neutral: bool = False) -> np.ndarray:
    """``alpha`` with the see-through gaps the matte filled opened again.

    Contract:

    * ``rgb``: the HxWx3 uint8 image (a view such as ``pixels[..., :3]`` is fine); ``alpha``:
      its HxW uint8 matte, as ``predict_matte`` returns it. Call it right after the matte:
      before an input's own alpha is multiplied in (the RGB under transparent pixels is not
      the ground the gaps show), before ``binarise`` and before decontamination, so that
      decontamination and the layout see the opened edges.
    * Returns a new HxW uint8 array where holes were found: their cores set to 0, their rims
      partly cleared (unmixed between subject and ground), every other pixel equal to
      ``alpha``. Returns ``alpha`` itself — the same object, so ``out is alpha`` tells that
      nothing was found — when there is no confident background (no α = 0), no subject, a
      busy ground or no region that passes the tests. Never writes its inputs.
    * ``neutral=False`` (the default) looks only for gaps showing a coloured ground (grass,
      a coloured backdrop); ``neutral=True`` also trusts white, grey and black grounds, where
      a print or a label the ground's colour is opened too (the caller's opt-in).
    * Cost on a 12 MP photo, one OpenCV thread (``bench/edge_bench.py holes``, loaded
      machine): 50-75 ms when nothing is opened, ~0.25 s for a weave of hundreds of holes;
      memory: a few working-resolution planes, the output copy and float planes the size of
      one hole's box (no full-resolution float image).

    Usage::

        alpha = predict_matte(pixels)
        alpha = open_holes(pixels[..., :3], alpha)
    """
    if alpha.ndim != 2 or rgb.shape[:2] != alpha.shape:
        raise ValueError(f"open_holes takes an HxWx3 image and its HxW matte, not {rgb.shape} "
                         f"and {alpha.shape}")
    h, w = alpha.shape
    factor = -(-max(h, w) // WORK_SIDE)
    small_a = _reduce(alpha, factor)
    zero = small_a == 0
    held = small_a >= CANDIDATE_ALPHA
    min_area = FAMILY_AREA * small_a.size
    if np.count_nonzero(zero) < 50 * min_area or np.count_nonzero(held) < 4 * min_area:
        return alpha
    # The confident background within RING of the matte: the ground the gaps would show.
    distance = cv2.distanceTransform(zero.view(np.uint8), cv2.DIST_L2, 3)
    ring = zero & (distance <= RING * max(small_a.shape))
    if np.count_nonzero(ring) < max(20 * min_area, MIN_RING):
        return alpha
    lab = cv2.cvtColor(_reduce(rgb, factor), cv2.COLOR_RGB2Lab)
    samples = _to_lab(lab[ring][:: max(1, np.count_nonzero(ring) // SAMPLES)])
    model = _ground_model(samples)
    if sum(share for _, _, share in model) < SIMPLE_GROUND:
        return alpha  # a busy ground: its colours say little about any one region
    model = [c for c in model if neutral or _chroma(c[0]) >= NEUTRAL_CHROMA]
    if not model:
        return alpha
    d2 = _ground_distance(lab, model)
    grain = _grain(lab)
    ground_grain = float(grain[ring].mean())
    outside = _outside(zero)
    candidate = ((d2 < MATCH) & ~zero) | (zero & ~outside)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(
        candidate.view(np.uint8), connectivity=8
    )
    found = _holes(labels, stats, d2, lab, model, held, min_area, grain, ground_grain)
    if not found:
        return alpha
    return _clear(alpha, rgb, labels, stats, found, factor)


def _reduce(x: np.ndarray, factor: int) -> np.ndarray:
    """Area-reduce by an integer factor (OpenCV's fast path: 12 ms for 12 MP RGB, twice that
    for a fractional one); the last ``factor − 1`` rows and columns at most are dropped."""
    if factor == 1:
        return x
    h, w = x.shape[:2]
    hh, ww = h // factor, w // factor
    return cv2.resize(x[: hh * factor, : ww * factor], (ww, hh), interpolation=cv2.INTER_AREA)


_LAB_SCALE = np.array([100 / 255, 1, 1], np.float32)
_LAB_OFFSET = np.array([0, -128, -128], np.float32)


def _to_lab(lab8: np.ndarray) -> np.ndarray:
    """OpenCV's 8-bit Lab to L* 0-100, a*, b* (ΔE units)."""
    return lab8.astype(np.float32) * _LAB_SCALE + _LAB_OFFSET


Cluster = tuple[np.ndarray, np.ndarray, float]
"""A ground colour cluster: Lab mean, whitening matrix ``W`` (``WᵀW = Σ⁻¹``), share of the
ring."""


def _ground_model(samples: np.ndarray) -> list[Cluster]:
    """(mean, whitening matrix, share) of up to ``CLUSTERS`` tight colour clusters of the ground.

    A small k-means in Lab, seeded deterministically at lightness quantiles; clusters with
    under 5 % of the samples or wider than ``MAX_SIGMA`` are dropped. The whitening matrix
    turns the squared Mahalanobis distance into a sum of squares.
    """
    x = samples
    order = np.argsort(x[:, 0], kind="stable")
    centres = x[order[((np.arange(CLUSTERS) + 0.5) / CLUSTERS * len(x)).astype(int)]]
    for _ in range(8):
        assign = np.argmin(((x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        for k in range(CLUSTERS):
            if np.any(assign == k):
                centres[k] = x[assign == k].mean(0)
    model = []
    for k in range(CLUSTERS):
        members = x[assign == k]
        if len(members) < 0.05 * len(x):
            continue
        cov = np.cov(members, rowvar=False) + np.eye(3) * MIN_SIGMA**2
        if np.sqrt(np.diag(cov).max()) > MAX_SIGMA:
            continue
        whiten = np.linalg.cholesky(np.linalg.inv(cov)).T
        model.append((centres[k].copy(), whiten.astype(np.float32), len(members) / len(x)))
    return model


def _grain(lab8: np.ndarray) -> np.ndarray:
    """Fine texture: |L − its 3×3 mean| per working pixel, in 8-bit L units (float32)."""
    lightness = lab8[..., 0].astype(np.float32)
    return cv2.absdiff(lightness, cv2.blur(lightness, (3, 3)))


def _chroma(lab: np.ndarray) -> float:
    return float(np.hypot(lab[1], lab[2]))


def _ground_distance(lab8: np.ndarray, model: list[Cluster]) -> np.ndarray:
    """Squared Mahalanobis distance of every working pixel to its nearest ground cluster
    (float32 HxW): one 3×4 affine transform per cluster on the 8-bit Lab image."""
    lab = lab8.astype(np.float32)
    best: np.ndarray | None = None
    for mean, whiten, _ in model:
        m = whiten * _LAB_SCALE  # 8-bit Lab straight to whitened coordinates
        offset = whiten @ (_LAB_OFFSET - mean)
        z = cv2.transform(lab, np.hstack([m, offset[:, None]]).astype(np.float32))
        d2 = cv2.transform(cv2.multiply(z, z), np.ones((1, 3), np.float32))
        best = d2 if best is None else np.minimum(best, d2, out=best)
    assert best is not None
    return best


def _outside(zero: np.ndarray) -> np.ndarray:
    """The α = 0 pixels connected to the image's border: the ground around the subject, as
    opposed to clear pixels the subject encloses."""
    count, labels = cv2.connectedComponents(zero.view(np.uint8), connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    keep = np.zeros(count, bool)
    keep[edge] = True
    keep[0] = False  # label 0 is α > 0
    return keep[labels]


def _holes(
    labels: np.ndarray, stats: np.ndarray, d2: np.ndarray, lab8: np.ndarray,
    model: list[Cluster], held: np.ndarray, min_area: float, grain: np.ndarray,
    ground_grain: float,
) -> list[int]:
    """Labels of the candidate regions that pass the area, island, thickness, texture,
    enclosure, contrast and typicality tests, then the single-or-family rule."""
    h, w = labels.shape
    subject_area = int(np.count_nonzero(held))
    single = max(SINGLE_AREA * labels.size, SINGLE_SHARE * subject_area)
    singles: list[int] = []
    family: list[int] = []
    kernel, wide = np.ones((3, 3), np.uint8), np.ones((7, 7), np.uint8)
    for i in np.nonzero(stats[1:, cv2.CC_STAT_AREA] >= min_area)[0] + 1:
        x, y, bw, bh, area = stats[i]
        x0, y0, x1, y1 = max(0, x - 4), max(0, y - 4), min(w, x + bw + 4), min(h, y + bh + 4)
        region = (labels[y0:y1, x0:x1] == i).view(np.uint8)
        inside = region > 0
        wrong = int(np.count_nonzero(held[y0:y1, x0:x1] & inside))
        if wrong < min_area or area > 0.5 * subject_area:
            continue
        filled = _fill(region)
        if np.count_nonzero(filled) - area > MAX_ISLANDS * area:
            continue  # subject-coloured islands inside: texture, lettering
        depth = cv2.distanceTransform(filled, cv2.DIST_L2, 3)
        if depth.max() < MIN_THICKNESS:
            continue  # a strip: trim or a rim reflecting the ground
        if ground_grain >= GRAIN_MIN and (
            grain[y0:y1, x0:x1][inside & (depth > 1.5)].mean() < GRAIN_RATIO * ground_grain
        ):
            continue  # a flat patch of the ground's colour on a textured ground: paint
        near = cv2.dilate(filled, kernel)
        outline = (near > 0) & (filled == 0)
        if np.count_nonzero(held[y0:y1, x0:x1][outline]) < ENCLOSED * np.count_nonzero(outline):
            continue  # open to the ground, or bordered by the matte's soft fringe
        # The subject 2-3 px out, past the mixed pixels of a soft (defocused) border.
        ring = (cv2.dilate(filled, wide) > 0) & (cv2.dilate(near, kernel) == 0)
        border = d2[y0:y1, x0:x1][ring & held[y0:y1, x0:x1] & (labels[y0:y1, x0:x1] == 0)]
        if border.size == 0 or np.median(border) < BORDER_MATCH:
            continue
        colour = _to_lab(lab8[y0:y1, x0:x1][inside].mean(0))
        d = [float(np.sum((wh @ (colour - mu)) ** 2)) for mu, wh, _ in model]
        if sum(share for (_, _, share), dk in zip(model, d, strict=True) if dk < 4 * MATCH) < (
            TYPICAL
        ):
            continue  # a colour found in one corner of the ground, not all around
        (singles if wrong >= single else family).append(int(i))
    return singles + family if _is_family(stats, family, subject_area) else singles


def _is_family(stats: np.ndarray, members: list[int], subject_area: int) -> bool:
    """Whether small regions are many, spread over the subject and dense enough there to be
    the gaps of one weave (see ``FAMILY_SIZE``)."""
    if len(members) < FAMILY_SIZE:
        return False
    x, y, bw, bh, area = (stats[members, k] for k in range(5))
    corners = np.concatenate([np.stack([x, y], 1), np.stack([x + bw, y + bh], 1),
                              np.stack([x + bw, y], 1), np.stack([x, y + bh], 1)])
    hull = cv2.contourArea(cv2.convexHull(corners.astype(np.float32)))
    return hull >= FAMILY_SPREAD * subject_area and area.sum() >= FAMILY_DENSITY * hull


def _fill(region: np.ndarray) -> np.ndarray:
    """``region`` (uint8 0/1) with its enclosed holes filled."""
    padded = np.pad(region, 1)
    mask = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)
    cv2.floodFill(padded, mask, (0, 0), 2)
    return (padded[1:-1, 1:-1] != 2).view(np.uint8)


def _clear(
    alpha: np.ndarray, rgb: np.ndarray, labels: np.ndarray, stats: np.ndarray,
    found: list[int], factor: int,
) -> np.ndarray:
    """Clear the found holes at full resolution, each in its own box.

    The hole's core (eroded a working pixel) is cleared outright; on its rim (a working pixel
    either side of the edge) the share cleared is the pixel's position between the
    surrounding subject's colour and the hole's, so mixed pixels stay partly opaque.
    """
    out = alpha.copy()
    h, w = alpha.shape
    wh, ww = labels.shape
    kernel = np.ones((3, 3), np.uint8)
    for i in found:
        x, y, bw, bh, _ = stats[i]
        x0, y0, x1, y1 = max(0, x - 3), max(0, y - 3), min(ww, x + bw + 3), min(wh, y + bh + 3)
        region = (labels[y0:y1, x0:x1] == i).view(np.uint8)
        core = cv2.erode(region, kernel).astype(np.float32)
        reach = cv2.dilate(region, kernel)
        rim = (cv2.dilate(reach, kernel) > 0) & (reach == 0)
        fx0, fy0 = x0 * factor, y0 * factor
        fx1, fy1 = min(w, x1 * factor), min(h, y1 * factor)
        box = rgb[fy0:fy1, fx0:fx1]
        small = _reduce(box, factor)
        hole = small[region[: small.shape[0], : small.shape[1]] > 0].mean(0)
        near = small[rim[: small.shape[0], : small.shape[1]]]
        subject = near.mean(0) if near.size else hole
        span = hole - subject
        weight = (span / max(float(span @ span), 1.0)).astype(np.float32)
        t = np.full(box.shape[:2], -float(weight @ subject), np.float32)
        for c in range(3):  # t = weight·(rgb − subject), a channel at a time
            t += box[..., c] * weight[c]
        size = (fx1 - fx0, fy1 - fy0)
        m = np.array([[1 / factor, 0, 0.5 / factor - 0.5], [0, 1 / factor, 0.5 / factor - 0.5]],
                     np.float32)
        flags = cv2.WARP_INVERSE_MAP
        core_up = cv2.warpAffine(core, m, size, flags=flags | cv2.INTER_LINEAR)
        reach_up = cv2.warpAffine(reach, m, size, flags=flags | cv2.INTER_NEAREST)
        np.clip(t, 0.0, 1.0, out=t)
        clear = np.where(reach_up > 0, np.maximum(core_up, t), np.float32(0))
        kept = out[fy0:fy1, fx0:fx1] * (1 - clear)
        out[fy0:fy1, fx0:fx1] = (kept + 0.5).astype(np.uint8)
    return out
