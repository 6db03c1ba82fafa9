"""Content-aware fill: copy patches from the image into the hole, no model weights.

Multi-scale PatchMatch (Barnes et al., 2009) with Wexler et al.'s (2007) weighted voting:
the coarsest level starts from an OpenCV Telea inpaint; at each level a nearest-neighbour
field maps every patch touching the hole to a patch outside it (parallel propagation plus
random search), and each hole pixel becomes the weighted mean of the matches covering it.
The field is upsampled to seed the next level.

Patches are compared through a PCA projection (16 of the 7×7×3 dimensions, learned per level
from the source patches): descriptors are 48 ``cv2.filter2D`` passes, so one candidate costs
a 16-float gather per hole pixel instead of 147. Only the box around the hole (with a margin
of half its size) is processed. Levels up to ``WORK_SIDE`` px get the full ``iterations``;
larger levels (up to the image's own resolution) get one pass, which copies full-resolution
texture through the upsampled field rather than blurring an upscaled fill.

Usage::

    filled = patch_fill(rgb, mask, seed=7)
"""

from __future__ import annotations

import cv2
import numpy as np

from lampyris.errors import InvalidParameterError

WORK_SIDE = 512  # levels up to this long side get every iteration
_DIMS = 16  # PCA dimensions of a patch descriptor
_SAMPLES = 4000  # source patches the PCA basis is learned from
_JUMPS = (1, 2, 4)  # propagation distances, tried in all four directions


def patch_fill(
    pixels: np.ndarray,
    mask: np.ndarray,
    *,
    seed: int = 0,
    patch_size: int = 7,
    iterations: int = 4,
) -> np.ndarray:
    """``pixels`` (HxWx3 or HxWx4 uint8) with the non-zero area of ``mask`` (HxW) filled from
    the rest of the image; deterministic for a given ``seed``. Alpha passes through untouched,
    and pixels outside the mask are returned as they were."""
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype != np.uint8:
        raise InvalidParameterError("pixels must be an HxWx3 or HxWx4 uint8 array")
    if mask.shape != pixels.shape[:2]:
        raise InvalidParameterError(
            f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
            f"{pixels.shape[1]}x{pixels.shape[0]}"
        )
    if patch_size < 3 or patch_size % 2 == 0:
        raise InvalidParameterError(f"patch_size must be odd and at least 3, not {patch_size}")
    if iterations < 1:
        raise InvalidParameterError(f"iterations must be at least 1, not {iterations}")
    hole = mask.astype(bool)
    if not hole.any():
        return pixels.copy()
    if hole.all():
        raise InvalidParameterError("the mask covers the whole image: nothing to copy from")

    rows, cols = np.nonzero(hole.any(axis=1))[0], np.nonzero(hole.any(axis=0))[0]
    margin = max(rows[-1] - rows[0], cols[-1] - cols[0]) // 2 + 4 * patch_size
    y0, y1 = max(0, rows[0] - margin), min(hole.shape[0], rows[-1] + margin + 1)
    x0, x1 = max(0, cols[0] - margin), min(hole.shape[1], cols[-1] + margin + 1)
    rgb = pixels[y0:y1, x0:x1, :3].astype(np.float32)
    roi_hole = hole[y0:y1, x0:x1]
    if not _sources(roi_hole, patch_size // 2).any():
        raise InvalidParameterError(
            f"no {patch_size}x{patch_size} patch lies wholly outside the mask: nothing to copy from"
        )
    filled = _fill(rgb, roi_hole, np.random.default_rng(seed), patch_size, iterations)

    out = pixels.copy()
    region = out[y0:y1, x0:x1, :3]
    region[roi_hole] = np.clip(np.rint(filled[roi_hole]), 0, 255).astype(np.uint8)
    return out


def _sources(hole: np.ndarray, r: int) -> np.ndarray:
    """Centres of patches that lie wholly inside the image and wholly outside the hole."""
    kernel = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
    touched = cv2.dilate(hole.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT)
    valid = touched == 0
    valid[:r], valid[valid.shape[0] - r :] = False, False
    valid[:, :r], valid[:, valid.shape[1] - r :] = False, False
    return valid


def _pyramid(rgb: np.ndarray, hole: np.ndarray, patch: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Levels, finest first, halving until the hole is about two patches across."""
    levels = [(rgb, hole)]
    while True:
        image, mask = levels[-1]
        ys, xs = np.nonzero(mask)
        extent = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
        h, w = (image.shape[0] + 1) // 2, (image.shape[1] + 1) // 2
        if extent <= 2 * patch or min(h, w) < 4 * patch:
            return levels
        small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        small_mask = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 0
        if _sources(small_mask, patch // 2).sum() < 4 * patch * patch:
            return levels
        levels.append((small, small_mask))


def _fill(
    rgb: np.ndarray, hole: np.ndarray, rng: np.random.Generator, patch: int, iterations: int
) -> np.ndarray:
    levels = _pyramid(rgb, hole, patch)
    image, mask = levels[-1]
    seed_u8 = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    image = cv2.inpaint(seed_u8, mask.astype(np.uint8), 3, cv2.INPAINT_TELEA).astype(np.float32)
    level = _Level(image, mask, patch, rng)
    level.nnf = level.random_sources(level.targets.size)
    for _ in range(2 * iterations):
        level.iterate()
    for image, mask in reversed(levels[:-1]):
        coarse = level
        upsampled = cv2.resize(coarse.image, (image.shape[1], image.shape[0]))
        start = np.where(mask[..., None], upsampled, image)
        level = _Level(start, mask, patch, rng)
        level.nnf = level.upsample(coarse)
        level.vote(level.distance(level.nnf))
        rounds = iterations if max(image.shape[:2]) <= WORK_SIDE else 1
        for _ in range(rounds):
            level.iterate()
    return level.image


class _Level:
    """One pyramid level: the image being filled, its targets, sources and the NN field.

    Positions are flat indices into the HxW level; ``nnf[i]`` is the source matched to
    target ``targets[i]`` (every patch centre within ``r`` of the hole)."""

    def __init__(self, image: np.ndarray, hole: np.ndarray, patch: int, rng: np.random.Generator):
        self.image, self.hole, self.rng = image, hole, rng
        self.r = patch // 2
        self.h, self.w = hole.shape
        kernel = np.ones((patch, patch), np.uint8)
        near = cv2.dilate(hole.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT) > 0
        self.targets = np.flatnonzero(near)
        self.valid = _sources(hole, self.r).ravel()
        self.source_list = np.flatnonzero(self.valid)
        ys, xs = np.nonzero(near)
        pad = 2 * self.r
        self.box = (
            max(0, ys.min() - pad), min(self.h, ys.max() + pad + 1),
            max(0, xs.min() - pad), min(self.w, xs.max() + pad + 1),
        )  # fmt: skip
        dy, dx = np.mgrid[-self.r : self.r + 1, -self.r : self.r + 1]
        self.offsets = (dy.ravel() * self.w + dx.ravel()).astype(np.int64)
        self.kernels = self._basis()
        self.desc = self._describe(self.image)
        self.nnf = np.empty(0, np.int64)

    def random_sources(self, n: int) -> np.ndarray:
        return self.source_list[self.rng.integers(0, self.source_list.size, n)]

    def _basis(self) -> list[list[np.ndarray]]:
        """PCA of source patches, as one filter per (dimension, channel)."""
        picks = self.random_sources(min(_SAMPLES, self.source_list.size))
        flat = self.image.reshape(-1, 3)
        patches = flat[picks[:, None] + self.offsets[None, :]].reshape(picks.size, -1)
        patches = patches - patches.mean(axis=0)
        _, vectors = np.linalg.eigh(patches.T @ patches)
        top = vectors[:, ::-1][:, :_DIMS].T.reshape(-1, 2 * self.r + 1, 2 * self.r + 1, 3)
        return [[np.ascontiguousarray(k[..., c]) for c in range(3)] for k in top]

    def _describe(self, image: np.ndarray) -> np.ndarray:
        desc = np.empty((*image.shape[:2], len(self.kernels)), np.float32)
        channels = [np.ascontiguousarray(image[..., c]) for c in range(3)]
        for d, kernel in enumerate(self.kernels):
            for c in range(3):
                part = cv2.filter2D(channels[c], -1, kernel[c], borderType=cv2.BORDER_REFLECT_101)
                desc[..., d] = part if c == 0 else desc[..., d] + part
        return desc

    def distance(self, candidates: np.ndarray) -> np.ndarray:
        flat = self.desc.reshape(-1, self.desc.shape[2])
        diff = flat[candidates] - flat[self.targets]
        return np.einsum("ij,ij->i", diff, diff)

    def upsample(self, coarse: _Level) -> np.ndarray:
        """The coarse field scaled to this level; matches that land badly are re-drawn."""
        ty, tx = np.divmod(self.targets, self.w)
        sy, sx = coarse.h / self.h, coarse.w / self.w
        cy = np.minimum((ty * sy).astype(np.int64), coarse.h - 1)
        cx = np.minimum((tx * sx).astype(np.int64), coarse.w - 1)
        field = np.full(coarse.h * coarse.w, -1, np.int64)
        field[coarse.targets] = coarse.nnf
        matched = field[cy * coarse.w + cx]
        my, mx = np.divmod(np.maximum(matched, 0), coarse.w)
        ny = np.rint(my / sy).astype(np.int64) + ty - np.rint(cy / sy).astype(np.int64)
        nx = np.rint(mx / sx).astype(np.int64) + tx - np.rint(cx / sx).astype(np.int64)
        inside = (ny >= 0) & (ny < self.h) & (nx >= 0) & (nx < self.w) & (matched >= 0)
        nnf = np.where(inside, np.clip(ny, 0, self.h - 1) * self.w + np.clip(nx, 0, self.w - 1), 0)
        bad = ~(inside & self.valid[nnf])
        nnf[bad] = self.random_sources(int(bad.sum()))
        return nnf

    def _try(self, candidates: np.ndarray, usable: np.ndarray, best: np.ndarray) -> None:
        candidates = np.where(usable, candidates, self.nnf)
        usable &= self.valid[np.clip(candidates, 0, self.valid.size - 1)]
        dist = self.distance(np.where(usable, candidates, self.nnf))
        better = usable & (dist < best)
        self.nnf[better], best[better] = candidates[better], dist[better]

    def iterate(self) -> None:
        """Refresh the hole's descriptors, search the field, vote the hole anew."""
        y0, y1, x0, x1 = self.box
        self.desc[y0:y1, x0:x1] = self._describe(self.image[y0:y1, x0:x1])
        best = self.distance(self.nnf)
        field = np.full(self.h * self.w, -1, np.int64)
        ty, tx = np.divmod(self.targets, self.w)
        for jump in _JUMPS:
            for dy, dx in ((jump, 0), (-jump, 0), (0, jump), (0, -jump)):
                field[self.targets] = self.nnf
                ny, nx = ty + dy, tx + dx
                inside = (ny >= 0) & (ny < self.h) & (nx >= 0) & (nx < self.w)
                neighbour = field[np.where(inside, ny * self.w + nx, 0)]
                sy, sx = np.divmod(neighbour, self.w)
                candidate = (sy - dy) * self.w + (sx - dx)
                usable = inside & (neighbour >= 0) & (sx - dx >= 0) & (sx - dx < self.w)
                self._try(candidate, usable, best)
        radius = max(self.h, self.w)
        while radius >= 1:
            sy, sx = np.divmod(self.nnf, self.w)
            ry = sy + self.rng.integers(-radius, radius + 1, sy.size)
            rx = sx + self.rng.integers(-radius, radius + 1, sx.size)
            usable = (ry >= 0) & (ry < self.h) & (rx >= 0) & (rx < self.w)
            self._try(ry * self.w + rx, usable, best)
            radius //= 2
        self._try(self.random_sources(self.targets.size), np.ones_like(best, bool), best)
        self.vote(best)

    def _vote_offsets(self) -> np.ndarray:
        """Every patch offset on small levels; on large ones the corners, edge centres and
        centre only (9 of 49 for 7x7 patches): the same smooth mean at a fifth of the cost."""
        if max(self.h, self.w) <= WORK_SIDE:
            return self.offsets
        side = 2 * self.r + 1
        grid = self.offsets.reshape(side, side)
        return grid[:: self.r, :: self.r].ravel()

    def vote(self, dist: np.ndarray) -> None:
        """Each hole pixel becomes the mean of the matches covering it, weighted by
        exp(-d / 2σ²) with σ² the 75th percentile of the distances (Wexler et al.)."""
        sigma2 = max(float(np.percentile(dist, 75)), 1e-3)
        weight = np.exp(-dist / (2.0 * sigma2)).astype(np.float32)
        r, wp = self.r, self.w + 2 * self.r
        acc = np.zeros(((self.h + 2 * r) * wp, 3), np.float32)
        total = np.zeros((self.h + 2 * r) * wp, np.float32)
        ty, tx = np.divmod(self.targets, self.w)
        padded = (ty + r) * wp + (tx + r)
        flat = self.image.reshape(-1, 3)
        weighted = weight[:, None]
        for offset in self._vote_offsets():
            dy, dx = divmod(int(offset) + r * self.w + r, self.w)
            at = padded + (dy - r) * wp + (dx - r)
            acc[at] += weighted * flat[self.nnf + offset]
            total[at] += weight
        acc = acc.reshape(self.h + 2 * r, wp, 3)[r : r + self.h, r : r + self.w]
        total = total.reshape(self.h + 2 * r, wp)[r : r + self.h, r : r + self.w]
        voted = acc / np.maximum(total, 1e-12)[..., None]
        self.image = np.where(self.hole[..., None] & (total[..., None] > 0), voted, self.image)
