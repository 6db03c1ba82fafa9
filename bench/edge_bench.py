"""Benchmark the cutout's edges: colour decontamination and hole opening (issue 14).

A catalog run showed edges keeping the old background: an olive fringe on chicks shot on grass,
grass left around a lying dog, the dark background showing through a wicker ball's gaps that
the matte filled as subject. Three measurements, each printed as a Markdown table (for
docs/benchmarks.md):

* ``decontaminate`` - what ``imaging.decontaminate`` buys when a cutout is composited onto a
                      new background. The sets hold no true foreground colours, so the scenes
                      are built: generated furry/soft subjects and the alphamatting set's
                      images with their true alpha, composited over grass, a dark ground and
                      a saturated blue. Each is cut out with the true alpha and with the real
                      pipeline matte (``predict_matte``, u2netp), with decontamination at
                      several amounts, composited onto white and onto a coral colour, and
                      scored against the true composite in the edge band: ΔE00, PSNR and the
                      "old background leak" (the error's component toward the old ground's
                      colour). Also times the step on a 12 MP image.
* ``holes``         - ``imaging.holes.open_holes`` after the real matte, by default and with
                      ``neutral=True``: MAE and max F on the reference sets with and without
                      it (it must not make any set worse), α MAE inside the gaps of generated
                      see-through subjects (ring, wicker lattice, mug handle, chair) before and
                      after, the share of solid look-alike subjects (ground-coloured labels,
                      prints, dots) it wrongly clears, and its cost on 12 MP.
* ``look``          - PNG crops under /tmp/edge_look for the eye: the bundled samples and the
                      generated scenes, composited onto white and coral, decontamination and
                      hole opening off/on.

Run with lampyris's environment: ``.venv/bin/python bench/edge_bench.py all``. Needs the
``bench`` extra (scikit-image for ΔE00). The reference sets are read in place from
../shared/bench/seg and never copied.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

from _common import ROOT, fmt, import_lampyris, machine_info, markdown_table, write_results

import_lampyris()

from lampyris.imaging.decontaminate import decontaminate  # noqa: E402
from lampyris.imaging.holes import open_holes  # noqa: E402

Opener = Callable[[np.ndarray, np.ndarray], np.ndarray]
from lampyris.ops.cutout import predict_matte  # noqa: E402

DEFAULT_SEG_DIR = ROOT.parent / "shared" / "bench" / "seg"
SAMPLES_DIR = ROOT / "samples"
LOOK_DIR = Path("/tmp/edge_look")
SETS = ("ecssd", "duts_te", "carvana", "alphamatting_train_lowres")

WHITE = (255, 255, 255)
CORAL = (232, 96, 76)
"""The "different colour" new background: far from grass, dark and blue alike."""

EDGE_DILATE = 3
"""The edge band is the true 0<α<1 region dilated by this many pixels, so a matte whose edge
sits a pixel or two off is scored where it errs."""


# --------------------------------------------------------------------------------------------
# Generated scenes
# --------------------------------------------------------------------------------------------


def fractal_noise(h: int, w: int, rng: np.random.Generator, octaves: int = 5) -> np.ndarray:
    """Smooth noise in about [-1, 1], float32 HxW: random grids upsampled and summed."""
    out = np.zeros((h, w), np.float32)
    total = 0.0
    for o in range(octaves):
        cell = max(2, 2 ** (o + 2))
        grid = rng.standard_normal((h // cell + 2, w // cell + 2)).astype(np.float32)
        weight = 0.6**(octaves - o - 1)
        out += weight * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += weight
    return out / total


def background(kind: str, h: int, w: int, seed: int) -> np.ndarray:
    """An old ground, uint8 HxWx3 RGB: ``grass``, ``dark``, ``blue`` or a ``white`` sweep."""
    rng = np.random.default_rng(seed)
    n = fractal_noise(h, w, rng)[..., None]
    grain = rng.normal(0, 1, (h, w, 1)).astype(np.float32)
    if kind == "grass":  # blades: noise smeared vertically, light and dark greens
        blades = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0),
                                  sigmaX=0.8, sigmaY=6)[..., None] * 3
        base = np.array([78, 122, 38], np.float32)
        img = base + n * np.array([30, 40, 18]) + blades * np.array([20, 28, 10]) + grain * 4
    elif kind == "dark":
        ramp = np.linspace(0, 14, w, dtype=np.float32)[None, :, None]
        img = np.array([22, 21, 24], np.float32) + ramp + n * 6 + grain * 2
    elif kind == "white":  # a studio sweep: light, graded top to bottom, a little noise
        ramp = np.linspace(6, -8, h, dtype=np.float32)[:, None, None]
        img = np.array([238, 238, 236], np.float32) + ramp + n * 2 + grain * 2
    elif kind == "blue":
        ramp = np.linspace(-20, 20, h, dtype=np.float32)[:, None, None]
        img = np.array([24, 70, 205], np.float32) + ramp * np.array([0.3, 0.6, 1]) + n * 10
        img = img + grain * 2
    else:
        raise ValueError(kind)
    return np.clip(img, 0, 255).astype(np.uint8)


def _aa(mask_hi: np.ndarray, factor: int) -> np.ndarray:
    """A mask drawn at ``factor``× reduced by area: anti-aliased float32 alpha in [0, 1]."""
    h, w = mask_hi.shape
    small = cv2.resize(mask_hi.astype(np.float32) / 255.0, (w // factor, h // factor),
                       interpolation=cv2.INTER_AREA)
    return np.clip(small, 0.0, 1.0)


FURS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "chick": ((246, 214, 92), (255, 240, 170)),  # fluffy yellow: where the olive fringe shows
    "dog": ((150, 98, 54), (212, 170, 120)),  # brown coat, lighter guard hairs
    "cat": ((90, 86, 80), (230, 226, 215)),  # dark tabby, white whiskers and fringe
    "product": ((205, 205, 210), (235, 235, 240)),  # a pale soft-edged object (defocused rim)
}


def furry_subject(kind: str, h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A subject with soft, hairy edges: (foreground RGB float32 HxWx3 in 0-255, alpha float32).

    The body is a wobbly ellipse; fur subjects grow a few thousand thin strands outward from
    its edge (drawn at 4×, area-reduced, so strands are partly transparent) and a blurred
    rim; ``product`` has only a defocused rim. The foreground colour exists everywhere
    (textured body colour shading into the hair colour), so only α says what is visible.
    """
    rng = np.random.default_rng(seed)
    f = 4
    hi = np.zeros((h * f, w * f), np.uint8)
    cy, cx = h * f // 2, w * f // 2
    ry, rx = int(h * f * 0.3), int(w * f * 0.28)
    theta = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    phase = rng.uniform(0, 6)
    wobble = 1 + 0.06 * np.sin(3 * theta + phase) + 0.04 * np.sin(7 * theta)
    pts = np.stack([cx + rx * wobble * np.cos(theta), cy + ry * wobble * np.sin(theta)], 1)
    cv2.fillPoly(hi, [pts.astype(np.int32)], 255)
    body, hair = (np.array(c, np.float32) for c in FURS[kind])
    if kind != "product":
        strands = 2500 if kind != "cat" else 1800
        for _ in range(strands):
            t = rng.uniform(0, 2 * np.pi)
            wob = 1 + 0.06 * np.sin(3 * t + phase) + 0.04 * np.sin(7 * t)
            x, y = cx + rx * wob * np.cos(t) * 0.97, cy + ry * wob * np.sin(t) * 0.97
            length = rng.uniform(0.02, 0.09) * min(h, w) * f
            angle = t + rng.normal(0, 0.35)
            path = [(x, y)]
            for _ in range(6):
                angle += rng.normal(0, 0.12)
                x += np.cos(angle) * length / 6
                y += np.sin(angle) * length / 6
                path.append((x, y))
            cv2.polylines(hi, [np.array(path, np.int32)], False, 255,
                          int(rng.integers(1, 4)), cv2.LINE_AA)
    alpha = _aa(hi, f)
    soft = cv2.GaussianBlur(alpha, (0, 0), 2.5 if kind == "product" else 1.2)
    alpha = np.maximum(alpha * 0.85, soft) if kind != "product" else soft
    alpha[alpha < 1 / 255] = 0
    n = fractal_noise(h, w, rng)[..., None]
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = np.hypot((yy - h / 2) / (ry / f), (xx - w / 2) / (rx / f))[..., None]
    towards_hair = np.clip((r - 0.8) / 0.4, 0, 1)
    fg = body * (1 - towards_hair) + hair * towards_hair + n * 28
    stripes = (np.sin(xx / 9 + 3 * n[..., 0]) > 0.6)[..., None] if kind == "cat" else None
    if stripes is not None:
        fg = np.where(stripes, fg * 0.45, fg)
    return np.clip(fg, 0, 255).astype(np.float32), alpha.astype(np.float32)


def composite(fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray | tuple[int, int, int]
              ) -> np.ndarray:
    """``α·F + (1−α)·B`` rounded to uint8; ``bg`` an image or a colour."""
    a = alpha[..., None].astype(np.float32)
    b = np.asarray(bg, np.float32)
    return np.clip(a * fg.astype(np.float32) + (1 - a) * b + 0.5, 0, 255).astype(np.uint8)


SEE_THROUGH = ("ring", "lattice", "mug", "chair")
"""Generated see-through subjects: gaps the network tends to fill as subject."""

MATERIALS: dict[str, tuple[int, int, int]] = {
    "ring": (200, 160, 80),  # a gold/wood ring
    "lattice": (196, 152, 96),  # a wicker ball
    "mug": (190, 40, 44),  # a red mug
    "chair": (150, 104, 62),  # a wooden chair
}


def _lattice(hi: np.ndarray, cx: int, cy: int, r: int, f: int) -> None:
    """A wicker ball: a disc of two families of diagonal bars with square-ish gaps."""
    disc = np.zeros_like(hi)
    cv2.circle(disc, (cx, cy), r, 255, -1)
    bars = np.zeros_like(hi)
    pitch, width = 34 * f, 13 * f
    for off in range(-2 * r, 2 * r, pitch):
        for sign in (1, -1):
            p0 = (cx + off - sign * 2 * r, cy - 2 * r)
            p1 = (cx + off + sign * 2 * r, cy + 2 * r)
            cv2.line(bars, p0, p1, 255, width)
    cv2.circle(bars, (cx, cy), r, 255, 9 * f)  # the rim
    hi[:] = np.minimum(disc, bars)


def see_through(kind: str, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(foreground RGB float32 0-255, true alpha float32) of a see-through subject.

    Drawn at 4× and area-reduced, so edges are anti-aliased; shading and fractal texture make
    the material look like a photo rather than a flat fill.
    """
    f = 4
    hi = np.zeros((h * f, w * f), np.uint8)
    s = min(h, w) * f
    cx, cy = w * f // 2, h * f // 2
    if kind == "ring":
        cv2.circle(hi, (cx, cy), int(0.36 * s), 255, -1)
        cv2.circle(hi, (cx, cy), int(0.2 * s), 0, -1)
    elif kind == "lattice":
        _lattice(hi, cx, cy, int(0.4 * s), f)
    elif kind == "mug":
        bw, bh = int(0.22 * s), int(0.3 * s)
        x0 = cx - bw - int(0.06 * s)
        cv2.ellipse(hi, (x0 + 2 * bw + int(0.02 * s), cy), (int(0.15 * s), int(0.17 * s)), 0,
                    0, 360, 255, int(0.06 * s))  # handle, half hidden by the body
        cv2.rectangle(hi, (x0, cy - bh), (x0 + 2 * bw, cy + bh), 255, -1)
        cv2.ellipse(hi, (x0 + bw, cy + bh), (bw, int(0.04 * s)), 0, 0, 180, 255, -1)
    elif kind == "chair":
        t = int(0.035 * s)  # timber width
        left, right = cx - int(0.22 * s), cx + int(0.22 * s)
        top, seat, floor = cy - int(0.45 * s), cy + int(0.02 * s), cy + int(0.45 * s)
        for x in (left, right):  # back posts running into the back legs
            cv2.rectangle(hi, (x - t, top), (x + t, floor), 255, -1)
        cv2.rectangle(hi, (left, top), (right, top + 2 * t), 255, -1)  # top rail
        for x in np.linspace(left, right, 6)[1:-1].astype(int):  # back slats
            cv2.rectangle(hi, (x - t // 2, top), (x + t // 2, seat), 255, -1)
        cv2.rectangle(hi, (left - 2 * t, seat), (right + 2 * t, seat + 2 * t), 255, -1)
        for x in (left - t, right + t):  # front legs, a little outside the back ones
            cv2.rectangle(hi, (x - t, seat), (x + t, floor + t), 255, -1)
        cv2.rectangle(hi, (left, floor - 4 * t), (right, floor - 3 * t), 255, -1)  # stretcher
    else:
        raise ValueError(kind)
    alpha = _aa(hi, f)
    rng = np.random.default_rng(len(kind))
    n = fractal_noise(h, w, rng)[..., None]
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    light = 1.0 + 0.25 * ((w / 2 - xx) / w + (h / 2 - yy) / h)[..., None]  # lit from top left
    grain = (np.sin((xx + yy) / 2.5 + 4 * n[..., 0]) * 0.5)[..., None] if kind != "mug" else 0
    fg = np.array(MATERIALS[kind], np.float32) * light * (1 + 0.12 * n + 0.08 * grain)
    return np.clip(fg, 0, 255).astype(np.float32), alpha


def gap_mask(alpha: np.ndarray) -> np.ndarray:
    """Bool mask of the gaps: fully transparent pixels inside the subject's convex hull, a
    pixel in from the edges (so gap MAE measures the gaps, not their anti-aliased rims)."""
    solid = (alpha > 0.5).astype(np.uint8)
    points = cv2.findNonZero(solid)
    hull = np.zeros_like(solid)
    cv2.fillConvexPoly(hull, cv2.convexHull(points), 1)
    clear = cv2.erode((alpha == 0).astype(np.uint8), np.ones((3, 3), np.uint8))
    return (hull > 0) & (clear > 0)


# --------------------------------------------------------------------------------------------
# Decontamination
# --------------------------------------------------------------------------------------------

OLD_GROUNDS = ("grass", "dark", "blue")
AMOUNTS = (0.0, 0.5, 0.75, 1.0)
NEW_GROUNDS = {"white": WHITE, "coral": CORAL}


@dataclass
class Scene:
    """A composite with known parts: what the camera saw, and the truth behind it."""

    name: str
    group: str  # "generated" or "alphamatting"
    ground: str  # the old ground's kind
    image: np.ndarray  # uint8 RGB: α·F + (1−α)·B
    fg: np.ndarray  # float32 RGB 0-255: the true foreground colours F
    alpha: np.ndarray  # float32 [0, 1]: the true matte
    old: np.ndarray  # uint8 RGB: the old ground B


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise RuntimeError(f"cannot read {path}")
    return np.ascontiguousarray(bgr[..., ::-1])


def read_gray(path: Path) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise RuntimeError(f"cannot read {path}")
    return mask


def seg_pairs(set_dir: Path, limit: int | None = None) -> list[tuple[Path, Path]]:
    """(image, ground-truth mask) pairs of one set, matched by file stem."""
    masks = {p.stem: p for p in (set_dir / "masks").glob("*.png")}
    images = sorted(p for p in (set_dir / "images").iterdir() if p.stem in masks)
    pairs = [(p, masks[p.stem]) for p in images]
    return pairs[:limit] if limit else pairs


def decontamination_scenes(seg_dir: Path, limit: int | None) -> Iterator[Scene]:
    """Generated furry subjects, then the alphamatting images (their own pixels as F, their
    true alpha), each over every old ground."""
    for i, kind in enumerate(FURS):
        fg, alpha = furry_subject(kind, 600, 800, seed=10 + i)
        for j, ground in enumerate(OLD_GROUNDS):
            old = background(ground, 600, 800, seed=20 + j)
            yield Scene(kind, "generated", ground, composite(fg, alpha, old), fg, alpha, old)
    for img_path, mask_path in seg_pairs(seg_dir / "alphamatting_train_lowres", limit):
        fg = read_rgb(img_path).astype(np.float32)
        alpha = read_gray(mask_path).astype(np.float32) / 255.0
        h, w = alpha.shape
        for j, ground in enumerate(OLD_GROUNDS):
            old = background(ground, h, w, seed=20 + j)
            yield Scene(img_path.stem, "alphamatting", ground, composite(fg, alpha, old), fg,
                        alpha, old)


def edge_band(alpha: np.ndarray) -> np.ndarray:
    """Bool mask: where the true 8-bit alpha is soft, dilated by ``EDGE_DILATE`` px."""
    u8 = np.round(alpha * 255).astype(np.uint8)
    soft = cv2.inRange(u8, 1, 254)
    k = 2 * EDGE_DILATE + 1
    return cv2.dilate(soft, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0


def edge_scores(out: np.ndarray, truth: np.ndarray, old: np.ndarray, band: np.ndarray
                ) -> tuple[float, float, float]:
    """(mean ΔE00, PSNR dB, mean old-ground leak in 8-bit levels) over ``band``.

    The leak is the error's component along the direction from the true colour to the old
    ground's colour at that pixel (clipped at 0): how far the result is pulled toward what
    was behind the subject. Pixels whose true colour is within 10 levels of the old ground
    carry no direction and are left out of it.
    """
    o = out[band].astype(np.float32)
    t = truth[band].astype(np.float32)
    b = old[band].astype(np.float32)
    de = deltaE_ciede2000(rgb2lab(o[None] / 255.0), rgb2lab(t[None] / 255.0))
    mse = float(np.mean((o - t) ** 2))
    psnr = 10 * np.log10(255.0**2 / max(mse, 1e-6))
    towards = b - t
    norm = np.linalg.norm(towards, axis=1)
    keep = norm > 10
    leak = np.maximum(0, np.einsum("ij,ij->i", (o - t)[keep], towards[keep]) / norm[keep])
    return float(de.mean()), float(psnr), float(leak.mean()) if leak.size else 0.0


def cmd_decontaminate(args: argparse.Namespace) -> dict[str, Any]:
    """Score cutouts composited onto new grounds, decontamination off and on."""
    rows: list[dict[str, Any]] = []
    for scene in decontamination_scenes(args.seg_dir, args.limit):
        band = edge_band(scene.alpha)
        mattes = {
            "true": np.round(scene.alpha * 255).astype(np.uint8),
            "u2netp": predict_matte(scene.image, model="u2netp"),
        }
        for matte_name, matte in mattes.items():
            a = matte.astype(np.float32) / 255.0
            for amount in AMOUNTS:
                rgb = decontaminate(scene.image, matte, amount)
                for ground_name, colour in NEW_GROUNDS.items():
                    truth = composite(scene.fg, scene.alpha, colour)
                    out = composite(rgb, a, colour)
                    de, psnr, leak = edge_scores(out, truth, scene.old, band)
                    rows.append({
                        "scene": scene.name, "group": scene.group, "old": scene.ground,
                        "matte": matte_name, "amount": amount, "new": ground_name,
                        "de00": de, "psnr": psnr, "leak": leak,
                    })
        print(f"  {scene.group} {scene.name} over {scene.ground}", flush=True)
    print_decontamination(rows)
    return {"rows": rows, "speed": decontamination_speed(args.seg_dir)}


def _mean(rows: list[dict[str, Any]], key: str, **match: Any) -> float:
    return statistics.fmean(r[key] for r in rows if all(r[k] == v for k, v in match.items()))


def print_decontamination(rows: list[dict[str, Any]]) -> None:
    for group in ("generated", "alphamatting"):
        table = []
        for matte in ("true", "u2netp"):
            for amount in AMOUNTS:
                m = {"group": group, "matte": matte, "amount": amount}
                table.append([
                    matte, amount,
                    fmt(_mean(rows, "de00", new="white", **m), 2),
                    fmt(_mean(rows, "de00", new="coral", **m), 2),
                    fmt(_mean(rows, "psnr", **m), 2),
                    fmt(_mean(rows, "leak", **m), 2),
                    *(fmt(_mean(rows, "de00", old=g, **m), 2) for g in OLD_GROUNDS),
                ])
        print(f"\n### Decontamination, {group} scenes (edge band, mean over scenes)\n")
        print(markdown_table(
            ["matte", "amount", "ΔE00 on white", "ΔE00 on coral", "PSNR dB", "leak",
             *(f"ΔE00 from {g}" for g in OLD_GROUNDS)],
            table,
        ))


def photo_like(h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A 12 MP-class test image and a matte with a long soft edge: a furry subject made at
    1/4 size and upscaled (the cost depends on the edge's extent, not its content)."""
    fg, alpha = furry_subject("dog", h // 4, w // 4, seed)
    img = composite(fg, alpha, background("grass", h // 4, w // 4, seed + 1))
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    alpha_u8 = cv2.resize(np.round(alpha * 255).astype(np.uint8), (w, h),
                          interpolation=cv2.INTER_LINEAR)
    return img, alpha_u8


def decontamination_speed(seg_dir: Path, repeat: int = 3) -> list[list[object]]:
    """Median seconds of ``decontaminate(amount=1)`` at 12 MP with one OpenCV thread (as a
    batch worker runs it): a generated furry subject and a carvana car upscaled to
    4243×2828 with its u2netp matte. The cost follows the edge's bounding box."""
    cases = [("furry subject, 4000×3000", *photo_like(3000, 4000, 5))]
    cars = seg_pairs(seg_dir / "carvana", 1)
    if cars:
        car = cv2.resize(read_rgb(cars[0][0]), (4243, 2828), interpolation=cv2.INTER_CUBIC)
        cases.append(("carvana car, 4243×2828", car, predict_matte(car, model="u2netp")))
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    table = []
    try:
        for name, image, alpha in cases:
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                decontaminate(image, alpha, 1.0)
                times.append(time.perf_counter() - start)
            table.append([name, f"{_edge_box_fraction(alpha):.0%}",
                          fmt(statistics.median(times), 2)])
    finally:
        cv2.setNumThreads(threads)
    print("\n### decontaminate(amount=1) at 12 MP, one OpenCV thread (median of 3)\n")
    print(markdown_table(["image", "edge box", "seconds"], table))
    return table


def _edge_box_fraction(alpha: np.ndarray) -> float:
    rows = np.nonzero(((alpha > 0) & (alpha < 255)).any(axis=1))[0]
    cols = np.nonzero(((alpha > 0) & (alpha < 255)).any(axis=0))[0]
    if rows.size == 0:
        return 0.0
    return float((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1) / alpha.size)



# --------------------------------------------------------------------------------------------
# Holes
# --------------------------------------------------------------------------------------------


class Scorer:
    """MAE and max F-measure over a set, computed as pysodmetrics does (its ``MAE`` and v1
    ``Fmeasure``: per-image min-max normalisation, ground truth > 128, β² = 0.3, the F curve
    over 256 thresholds averaged over images, then its maximum). Written out here because
    the package is not in the lockfile; on the unchanged mattes it reproduces the MAE of the
    quality table in docs/benchmarks.md."""

    def __init__(self) -> None:
        self.maes: list[float] = []
        self.curves: list[np.ndarray] = []

    def add(self, pred: np.ndarray, gt: np.ndarray) -> None:
        truth = gt > 128
        p = pred.astype(np.float64) / 255
        if p.max() != p.min():
            p = (p - p.min()) / (p.max() - p.min())
        self.maes.append(float(np.abs(p - truth).mean()))
        q = (p * 255).astype(np.uint8)
        bins = np.arange(257)
        fg = np.cumsum(np.histogram(q[truth], bins)[0][::-1])  # predicted positive at ≥ t
        bg = np.cumsum(np.histogram(q[~truth], bins)[0][::-1])
        precision = fg / np.maximum(fg + bg, 1)
        recall = fg / max(int(truth.sum()), 1)
        f = 1.3 * precision * recall / np.maximum(0.3 * precision + recall, 1e-8)
        self.curves.append(f)

    def results(self) -> tuple[float, float]:
        """(MAE, max F)."""
        return statistics.fmean(self.maes), float(np.mean(self.curves, axis=0).max())


def holes_on_sets(
    seg_dir: Path, limit: int | None, openers: dict[str, Opener]
) -> list[list[object]]:
    """Per set: MAE and max F of the u2netp matte without and with each opener, and how many
    images it changed (the matte is predicted once per image)."""
    table = []
    for name in SETS:
        plain = Scorer()
        scored = {mode: Scorer() for mode in openers}
        changed = dict.fromkeys(openers, 0)
        pairs = seg_pairs(seg_dir / name, limit)
        for img_path, mask_path in pairs:
            rgb = read_rgb(img_path)
            gt = read_gray(mask_path)
            matte = predict_matte(rgb, model="u2netp")
            plain.add(matte, gt)
            for mode, opener in openers.items():
                out = opener(rgb, matte)
                scored[mode].add(out, gt)
                if out is not matte:
                    changed[mode] += 1
                    delta = np.abs(out.astype(np.int16) - matte).mean() / 255
                    print(f"  {mode}: {name}/{img_path.stem} opened, mean |Δα| {delta:.4f}")
        mae0, f0 = plain.results()
        for mode in openers:
            mae1, f1 = scored[mode].results()
            table.append([name, mode, len(pairs), fmt(mae0, 4), fmt(mae1, 4), fmt(f0, 4),
                          fmt(f1, 4), changed[mode]])
        print(f"  {name}: done", flush=True)
    return table


def holes_on_see_through(openers: dict[str, Opener]) -> list[list[object]]:
    """Generated see-through subjects over three grounds: α error (MAE) inside the gaps, on
    the solid parts and overall, before and after each opener."""
    table = []
    for kind in SEE_THROUGH:
        fg, alpha = see_through(kind, 720, 960)
        gaps, solid = gap_mask(alpha), alpha > 0.99
        for j, ground in enumerate(OLD_GROUNDS):
            image = composite(fg, alpha, background(ground, 720, 960, seed=30 + j))
            matte = predict_matte(image, model="u2netp")
            for mode, opener in openers.items():
                out = opener(image, matte)
                row: list[object] = [kind, ground, mode]
                for where in (gaps, solid, np.ones_like(solid)):
                    row += [fmt(float(np.abs(m[where] / 255 - alpha[where]).mean()), 4)
                            for m in (matte, out)]
                table.append(row)
    return table


LOOK_ALIKES: dict[str, str] = {
    "white-bottle": "white",  # a white product on a white sweep: the whole subject matches
    "small-patch": "dark",  # a product with a small ground-coloured patch (a button)
    "white-label": "white",  # a blue box with a large white label, enclosed by the box
    "black-print": "dark",  # a white T-shirt with a large black print, on black
    "polka-dots": "white",  # a navy dress with white dots: a family of matching regions
    "lettering": "dark",  # a light box with a black panel carrying light lettering
    "green-panel": "grass",  # a box with a flat panel of the grass's own mean colour
}
"""Solid subjects with parts coloured like the ground: what ``open_holes`` must not eat (the
first two), and where colour alone cannot tell a print from a gap (the rest)."""


def look_alike(kind: str, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(image uint8, true alpha float32) of a solid subject over its ground."""
    ground = background(LOOK_ALIKES[kind], h, w, seed=40)
    f = 4
    hi = np.zeros((h * f, w * f), np.uint8)
    paint = np.zeros((h * f, w * f, 3), np.uint8)
    s = min(h, w) * f
    cx, cy = w * f // 2, h * f // 2
    box = (cx - int(0.3 * s), cy - int(0.38 * s)), (cx + int(0.3 * s), cy + int(0.38 * s))
    if kind == "white-bottle":
        cv2.rectangle(hi, (cx - int(0.16 * s), cy - int(0.2 * s)),
                      (cx + int(0.16 * s), cy + int(0.42 * s)), 255, -1)
        cv2.ellipse(hi, (cx, cy - int(0.2 * s)), (int(0.16 * s), int(0.1 * s)), 0, 180, 360,
                    255, -1)
        cv2.rectangle(hi, (cx - int(0.05 * s), cy - int(0.42 * s)),
                      (cx + int(0.05 * s), cy - int(0.25 * s)), 255, -1)
        paint[:] = (244, 244, 242)
    elif kind == "small-patch":
        cv2.rectangle(hi, *box, 255, -1)
        paint[:] = (60, 110, 170)
        cv2.circle(paint, (cx, cy), int(0.035 * s), (26, 25, 28), -1)  # < 0.25 % of the image
    elif kind == "white-label":
        cv2.rectangle(hi, *box, 255, -1)
        paint[:] = (40, 80, 170)
        cv2.rectangle(paint, (cx - int(0.22 * s), cy - int(0.15 * s)),
                      (cx + int(0.22 * s), cy + int(0.15 * s)), (238, 238, 236), -1)
    elif kind == "black-print":
        pts = np.array([[-0.3, -0.3], [-0.12, -0.38], [0.12, -0.38], [0.3, -0.3], [0.42, -0.1],
                        [0.25, -0.02], [0.25, 0.42], [-0.25, 0.42], [-0.25, -0.02],
                        [-0.42, -0.1]]) * s + (cx, cy)
        cv2.fillPoly(hi, [pts.astype(np.int32)], 255)
        paint[:] = (236, 234, 230)
        cv2.circle(paint, (cx, cy + int(0.08 * s)), int(0.14 * s), (24, 23, 26), -1)
    elif kind == "polka-dots":
        cv2.ellipse(hi, (cx, cy), (int(0.3 * s), int(0.44 * s)), 0, 0, 360, 255, -1)
        paint[:] = (30, 36, 80)
        for yy in range(cy - int(0.5 * s), cy + int(0.5 * s), int(0.09 * s)):
            for xx in range(cx - int(0.4 * s), cx + int(0.4 * s), int(0.09 * s)):
                cv2.circle(paint, (xx, yy), int(0.025 * s), (238, 238, 236), -1)
    elif kind == "lettering":
        cv2.rectangle(hi, *box, 255, -1)
        paint[:] = (220, 200, 150)
        cv2.rectangle(paint, (cx - int(0.24 * s), cy - int(0.14 * s)),
                      (cx + int(0.24 * s), cy + int(0.14 * s)), (26, 25, 28), -1)
        cv2.putText(paint, "LAMPYRIS", (cx - int(0.21 * s), cy + int(0.04 * s)),
                    cv2.FONT_HERSHEY_SIMPLEX, s / 520, (240, 220, 160), s // 90, cv2.LINE_AA)
    elif kind == "green-panel":
        cv2.rectangle(hi, *box, 255, -1)
        paint[:] = (200, 196, 188)
        cv2.rectangle(paint, (cx - int(0.2 * s), cy - int(0.2 * s)),
                      (cx + int(0.2 * s), cy + int(0.2 * s)), (78, 122, 38), -1)
    else:
        raise ValueError(kind)
    alpha = _aa(hi, f)
    fg = cv2.resize(paint, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    rng = np.random.default_rng(7)
    fg = fg * (1 + 0.04 * fractal_noise(h, w, rng)[..., None]) + rng.normal(0, 1.5, fg.shape)
    return composite(np.clip(fg, 0, 255), alpha, ground), alpha


def holes_on_look_alikes(openers: dict[str, Opener]) -> list[list[object]]:
    """Share of the subject each opener clears on solid subjects with ground-coloured parts,
    given the true (solid) matte and the u2netp matte."""
    table = []
    for kind, ground in LOOK_ALIKES.items():
        image, alpha = look_alike(kind, 720, 960)
        subject = alpha > 0.5
        mattes = (np.round(alpha * 255).astype(np.uint8), predict_matte(image))
        for mode, opener in openers.items():
            row: list[object] = [kind, ground, mode]
            for matte in mattes:
                lost = (matte[subject].astype(np.float32) - opener(image, matte)[subject]).clip(0)
                row.append(f"{lost.sum() / 255 / np.count_nonzero(subject):.1%}")
            table.append(row)
    return table

def holes_speed(repeat: int = 5) -> list[list[object]]:
    """Median ms (one OpenCV thread) and whether anything was opened, for ``open_holes`` on
    4000×3000 images: a
    product on a dark ground (nothing to open; coloured grounds only, then neutral too), a
    solid subject on grass (nothing to open) and a filled wicker ball on grass (hundreds of
    holes). Scenes are made at 1000×750 and upscaled, so the working image is the scene."""
    h, w = 3000, 4000

    def up(x: np.ndarray) -> np.ndarray:
        return cv2.resize(x, (w, h), interpolation=cv2.INTER_CUBIC)

    product, product_alpha = look_alike("small-patch", h // 4, w // 4)
    fg, lattice = see_through("lattice", h // 4, w // 4)
    grass = background("grass", h // 4, w // 4, seed=3)
    filled = cv2.morphologyEx((lattice > 0.5).astype(np.uint8), cv2.MORPH_CLOSE,
                              np.ones((25, 25), np.uint8)) * 255
    block = np.zeros((h // 4, w // 4), np.uint8)
    block[100:-100, 150:-150] = 255
    cases = [
        ("product on dark, nothing to open", up(product),
         up(np.round(product_alpha * 255).astype(np.uint8)), False),
        ("same, neutral=True", up(product), up(np.round(product_alpha * 255).astype(np.uint8)),
         True),
        ("solid block on grass, nothing to open", up(grass), up(block), False),
        ("filled wicker ball on grass", up(composite(fg, lattice, grass)), up(filled), False),
    ]
    table = []
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        for name, image, alpha, neutral in cases:
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                out = open_holes(image, alpha, neutral=neutral)
                times.append(time.perf_counter() - start)
            table.append([name, fmt(statistics.median(times) * 1000, 0), out is not alpha])
    finally:
        cv2.setNumThreads(threads)
    return table


def cmd_holes(args: argparse.Namespace) -> dict[str, Any]:
    """Reference sets, generated see-through subjects, look-alikes and speed, for the
    default (coloured grounds) and ``neutral=True``."""
    openers: dict[str, Opener] = {
        "default": open_holes,
        "neutral": functools.partial(open_holes, neutral=True),
    }
    sets = holes_on_sets(args.seg_dir, args.limit, openers)
    print("\n### Reference sets, u2netp matte without / with open_holes\n")
    print(markdown_table(["set", "mode", "images", "MAE", "MAE opened", "max F",
                          "max F opened", "images changed"], sets))
    gaps = holes_on_see_through(openers)
    print("\n### Generated see-through subjects, α MAE before → after\n")
    print(markdown_table(["subject", "ground", "mode", "gaps", "gaps opened", "solid",
                          "solid opened", "all", "all opened"], gaps))
    looks = holes_on_look_alikes(openers)
    print("\n### Look-alikes: share of the subject cleared\n")
    print(markdown_table(["subject", "ground", "mode", "true matte", "u2netp matte"], looks))
    speed = holes_speed()
    print("\n### open_holes on 4000×3000, one OpenCV thread (median of 5)\n")
    print(markdown_table(["case", "ms", "opened"], speed))
    return {"sets": sets, "see_through": gaps, "look_alikes": looks, "speed": speed}

# --------------------------------------------------------------------------------------------
# Look
# --------------------------------------------------------------------------------------------


def edge_window(alpha: np.ndarray, side: int) -> tuple[slice, slice]:
    """The ``side``-px square holding the most soft-edge pixels (a coarse search)."""
    soft = ((alpha > 0) & (alpha < 255)).astype(np.float32)
    h, w = alpha.shape
    side = min(side, h, w)
    score = cv2.boxFilter(soft, -1, (side, side), normalize=False, borderType=cv2.BORDER_CONSTANT)
    y, x = np.unravel_index(np.argmax(score), score.shape)
    y0 = int(np.clip(y - side // 2, 0, h - side))
    x0 = int(np.clip(x - side // 2, 0, w - side))
    return slice(y0, y0 + side), slice(x0, x0 + side)


def save_panel(path: Path, tiles: list[np.ndarray], zoom: int) -> None:
    """Tiles side by side, enlarged ``zoom``× (nearest) so edge pixels can be seen."""
    strip = np.hstack([np.pad(t, ((4, 4), (4, 4), (0, 0)), constant_values=128) for t in tiles])
    strip = cv2.resize(strip, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(path), strip[..., ::-1])


def cmd_look(args: argparse.Namespace) -> dict[str, Any]:
    """Crops for the eye under /tmp/edge_look: per image, the most edge-rich square on white
    and on coral, decontamination 0 then 1; and the see-through scenes before/after."""
    LOOK_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    inputs = [(p.stem, read_rgb(p)) for p in sorted(SAMPLES_DIR.glob("*.jpg"))]
    for i, kind in enumerate(("chick", "dog")):
        fg, alpha = furry_subject(kind, 600, 800, seed=10 + i)
        inputs.append((f"{kind}-on-grass", composite(fg, alpha, background("grass", 600, 800, 20))))
    for name, rgb in inputs:
        matte = predict_matte(rgb, model="u2netp")
        window = edge_window(matte, 120)
        a = matte.astype(np.float32) / 255
        tiles = [composite(decontaminate(rgb, matte, amount), a, colour)[window]
                 for colour in (WHITE, CORAL) for amount in (0.0, 1.0)]
        path = LOOK_DIR / f"decontaminate-{name}.png"
        save_panel(path, [rgb[window], *tiles], 3)
        written.append(str(path))
    for kind in SEE_THROUGH:
        fg, alpha = see_through(kind, 720, 960)
        for j, ground in enumerate(OLD_GROUNDS):
            image = composite(fg, alpha, background(ground, 720, 960, seed=30 + j))
            matte = predict_matte(image, model="u2netp")
            tiles = [image]
            for m in (matte, open_holes(image, matte, neutral=True)):
                rgb = decontaminate(image, m, 1.0)
                tiles.append(composite(rgb, m.astype(np.float32) / 255, WHITE))
            path = LOOK_DIR / f"holes-{kind}-{ground}.png"
            save_panel(path, [cv2.resize(t, (480, 360), interpolation=cv2.INTER_AREA)
                              for t in tiles], 1)
            written.append(str(path))
    print("\n".join(written))
    return {"written": written}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["decontaminate", "holes", "look", "all"])
    parser.add_argument("--seg-dir", type=Path, default=DEFAULT_SEG_DIR)
    parser.add_argument("--limit", type=int, help="first N images per set (quick checks)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
        "decontaminate": cmd_decontaminate,
        "holes": cmd_holes,
        "look": cmd_look,
    }
    names = list(commands) if args.command == "all" else [args.command]
    results = {
        "benchmark": args.command,
        "machine": machine_info(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "results": {name: commands[name](args) for name in names},
    }
    write_results(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
