"""The catalog workflow, looked at: a before/after sheet and the checks a retoucher would make.

Runs the seed catalog chain on the bundled samples and on generated edge cases, with the same
step code a batch runs (``workflows.steps``: one decode, the op calls, one encode):

* ``white``  - ``examples/catalog.yaml``'s chain: cutout (trim, 1200x1200 canvas, 6 % padding,
               shadow, white) → auto tone;
* ``studio`` - cutout (same canvas) → auto tone → fill (a prompt, with words the engine may
               not know), as ``lampyris batch --steps cutout,auto_tone,fill`` does: the tone
               is judged on the product alone, so its colour is corrected before the backdrop
               is drawn (``cutout,fill,auto_tone`` would judge it by the backdrop too).

Generated cases: a subject cut off by each edge of the photo, a ~100 px subject, a see-through
subject (a lattice ball on grass and on a dark ground), a white subject under a warm light and
a saturated orange subject on dark green. Checks (exit 1 when one fails):

* a subject the photo cuts off touches the matching canvas edge;
* the lattice ball's gaps are open on grass (at least 80 % of them; on the dark ground they
  stay filled by default, reported, not checked);
* no subject is enlarged past the limit (``max_upscale``, 1x) without a notice;
* the white subject's mean colour has CIELAB chroma < 4;
* a coloured subject's mean hue moves < 5° and its chroma changes by -20 % .. +5 % (the
  saturated orange, and the tan, blue and wicker products of the other cases);
* every prompt word is either used by the backdrop engine or listed as unused.

Writes every output at full size, a sheet at full tile size (``sheet.png``) and a small copy
for docs (``--docs docs/catalog-sheet.jpg``). Usage:
``.venv/bin/python bench/catalog_bench.py [--out /tmp/lampyris-bench/catalog] [--docs PATH]``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image
from skimage.color import rgb2lab

from _common import ROOT, import_lampyris, machine_info

import_lampyris()

from lampyris.imaging.decode import decode  # noqa: E402
from lampyris.imaging.encode import encode  # noqa: E402
from lampyris.imaging.layout import subject_box  # noqa: E402
from lampyris.ops.pipeline import notices, run_calls  # noqa: E402
from lampyris.workflows.steps import Step, execution, make_steps  # noqa: E402

CANVAS = "1200x1200"
PROMPT = "white marble counter, sandy beach, palm trees, soft window light"
STOP_WORDS = {"a", "an", "the", "with", "and", "on", "in", "of", "for", "at", "by", "to"}
TILE = 600  # a sheet tile's side: full-size detail at half the canvas
SAMPLES = ROOT / "samples"
DEFAULT_OUT = Path(tempfile.gettempdir()) / "lampyris-bench" / "catalog"

Chain = list[tuple[str, dict[str, Any]]]


def chains() -> dict[str, Chain]:
    cutout = {"trim": True, "canvas": CANVAS, "padding": "6%"}
    return {
        "white": [("cutout", {**cutout, "shadow": True, "background": "white"}),
                  ("auto_tone", {"strength": 0.7})],
        "studio": [("cutout", cutout), ("auto_tone", {}), ("fill", {"prompt": PROMPT})],
    }


# --- generated cases ---------------------------------------------------------------------------


@dataclass
class Case:
    """An input photo and, for generated ones, what the checks need to know about it."""

    name: str
    rgb: np.ndarray
    cut: tuple[str, ...] = ()  # the photo edges that cut the subject off
    subject: np.ndarray | None = None  # where the subject is, in the photo (bool HxW)
    colour: str | None = None  # "white" or "product": which colour check applies
    gaps: float | None = None  # a see-through subject: the share of its disc that is gaps
    results: dict[str, Any] = field(default_factory=dict)


def _backdrop(h: int, w: int, top: tuple[int, int, int], bottom: tuple[int, int, int],
              seed: int) -> np.ndarray:
    """A photographed ground: a vertical gradient with a little sensor noise."""
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    rgb = (1 - t) * np.array(top, np.float32) + t * np.array(bottom, np.float32)
    rgb = np.broadcast_to(rgb, (h, w, 3)).copy()
    rgb += np.random.default_rng(seed).normal(0, 2.0, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _paint(rgb: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int],
           shade: float = 0.18) -> None:
    """Fill ``mask`` with ``colour``, lit from the top left (a product, not a flat sticker)."""
    h, w = mask.shape
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    light = 1.0 + shade * (0.5 - (0.6 * yy / h + 0.4 * xx / w))
    painted = np.clip(np.array(colour, np.float32) * light[..., None], 0, 255)
    rgb[mask] = painted[mask].astype(np.uint8)


def _blob(h: int, w: int, centre: tuple[int, int], axes: tuple[int, int]) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1, lineType=cv2.LINE_AA)
    return mask > 127


def _cut_case(edge: str) -> Case:
    """A plush-like subject (body and head) the photo's ``edge`` cuts off."""
    h, w = 800, 800
    rgb = _backdrop(h, w, (226, 228, 232), (206, 208, 212), seed=len(edge))
    body = _blob(h, w, (400, 560), (210, 250)) | _blob(h, w, (400, 270), (150, 140))
    body |= _blob(h, w, (290, 160), (45, 45)) | _blob(h, w, (510, 160), (45, 45))  # ears
    turns = {"bottom": 0, "right": 1, "top": 2, "left": 3}[edge]  # counter-clockwise
    body = np.rot90(body, turns).copy()
    _paint(rgb, body, (176, 132, 92))
    # a 1600 px photo: large enough that the canvas needs no enlarging (no notice)
    rgb = cv2.resize(rgb, (2 * w, 2 * h), interpolation=cv2.INTER_CUBIC)
    body = cv2.resize(body.view(np.uint8), (2 * w, 2 * h), interpolation=cv2.INTER_NEAREST) > 0
    return Case(f"cut-{edge}", rgb, cut=(edge,), subject=body, colour="product")


def _small_case() -> Case:
    """A ~100 px butterfly in a 900x700 photo: the canvas would want it 10x larger."""
    h, w = 700, 900
    rgb = _backdrop(h, w, (236, 236, 230), (222, 222, 214), seed=7)
    wings = (_blob(h, w, (425, 330), (28, 40)) | _blob(h, w, (475, 330), (28, 40))
             | _blob(h, w, (430, 385), (20, 24)) | _blob(h, w, (470, 385), (20, 24)))
    _paint(rgb, wings, (40, 90, 190))
    body = _blob(h, w, (450, 355), (6, 45))
    _paint(rgb, body, (40, 30, 25), shade=0.0)
    return Case("small", rgb, subject=wings, colour="product")


def _holes_case(ground: str) -> Case:
    """A lattice ball on a dark or a grass-green ground: the ground shows through its gaps
    (``holes: auto`` opens them on a coloured ground; a dark one needs ``holes: all``)."""
    h, w = 800, 800
    top, bottom = {"dark": ((38, 40, 44), (22, 24, 26)),
                   "green": ((86, 140, 70), (64, 118, 52))}[ground]
    rgb = _backdrop(h, w, top, bottom, seed=3)
    if ground == "green":  # grass has texture
        rgb = np.clip(rgb + np.random.default_rng(4).normal(0, 9, rgb.shape), 0, 255
                      ).astype(np.uint8)
    ball = _blob(h, w, (400, 420), (260, 260))
    yy, xx = np.mgrid[:h, :w]
    bars = ((((xx + yy) // 34) % 2 == 0) | (((xx - yy + 1000) // 34) % 2 == 0))
    rim = ball & ~_blob(h, w, (400, 420), (236, 236))
    solid = ball & (bars | rim)
    _paint(rgb, solid, (196, 146, 84))
    gaps = float(np.mean(~solid[ball]))
    if ground == "dark":  # left filled by default (neutral grounds are opt-in): not measured
        return Case("holes-dark", rgb, subject=solid, gaps=gaps)
    return Case("holes-green", rgb, subject=solid, colour="product", gaps=gaps)


def _warm(rgb: np.ndarray, stops: float) -> np.ndarray:
    """``rgb`` under a light ``stops`` warmer (log2 R/B), as a camera would record it."""
    lin = (rgb.astype(np.float32) / 255.0) ** 2.2
    lin[..., 0] *= 2 ** (stops / 2)
    lin[..., 2] *= 2 ** (-stops / 2)
    return np.clip(255.0 * np.clip(lin, 0, 1) ** (1 / 2.2) + 0.5, 0, 255).astype(np.uint8)


def _white_case() -> Case:
    """A white box on a grey ground, both under a warm light of a quarter stop."""
    h, w = 800, 800
    rgb = _backdrop(h, w, (150, 150, 150), (128, 128, 128), seed=5)
    box = np.zeros((h, w), bool)
    box[220:640, 230:570] = True
    _paint(rgb, box, (238, 238, 238), shade=0.08)
    return Case("white-warm", _warm(rgb, 0.25), subject=box, colour="white")


def _orange_case() -> Case:
    """A flat, saturated orange ellipse on dark green: a product's colour must survive."""
    h, w = 800, 800
    rgb = _backdrop(h, w, (22, 48, 28), (16, 38, 22), seed=9)
    ellipse = _blob(h, w, (400, 400), (230, 160))
    rgb[ellipse] = (221, 106, 15)
    return Case("orange", rgb, subject=ellipse, colour="product")


def generated() -> list[Case]:
    return [*(_cut_case(e) for e in ("bottom", "top", "left", "right")), _small_case(),
            _holes_case("green"), _holes_case("dark"), _white_case(), _orange_case()]


def samples() -> list[Case]:
    return [Case(p.stem, decode(p.read_bytes()).pixels[..., :3].copy())
            for p in sorted(SAMPLES.glob("*.jpg"))]


# --- running and checking ----------------------------------------------------------------------


def run_chain(steps: list[Step], rgb: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """The chain as a batch worker runs it, on pixels already decoded."""
    pixels, reports, _ = run_calls(rgb, execution(steps))
    return pixels, reports


def _opaque(pixels: np.ndarray) -> np.ndarray:
    """The subject's solid interior in an RGBA output (its edges eroded away)."""
    solid = (pixels[..., 3] == 255).astype(np.uint8)
    return cv2.erode(solid, np.ones((9, 9), np.uint8)).astype(bool)


def _lch(pixels: np.ndarray) -> tuple[float, float, float]:
    """Mean colour of ``pixels`` (N x 3 uint8) as CIELAB L, chroma and hue (degrees)."""
    lab = rgb2lab(pixels.reshape(1, -1, 3).mean(axis=1, keepdims=True) / 255.0)[0, 0]
    return float(lab[0]), float(np.hypot(lab[1], lab[2])), float(np.degrees(
        np.arctan2(lab[2], lab[1])) % 360)


def _hue_gap(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _prompt_words(prompt: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", prompt.lower()) if w not in STOP_WORDS]


def check_case(case: Case, layer: np.ndarray, meta: dict[str, Any]) -> list[str]:
    """What is wrong with ``case``'s transparent catalog output (``layer``, RGBA)."""
    problems: list[str] = []
    cut = meta.get("cutout", {})
    alpha = layer[..., 3]
    for edge in case.cut:
        line = {"bottom": alpha[-1], "top": alpha[0], "left": alpha[:, 0],
                "right": alpha[:, -1]}[edge]
        if np.count_nonzero(line >= 128) < 10:
            problems.append(f"cut by the photo's {edge} edge, but not on the canvas's")
    scale = float(cut.get("scale", 1.0))
    if scale > 1.0 + 1e-6:
        problems.append(f"enlarged {scale:.2f}x past the 1x limit")
    if float(cut.get("upscale_wanted", 1.0)) > 1.0 and not cut.get("notices"):
        problems.append("kept smaller than the canvas wanted, without a notice")
    if case.gaps is not None:
        x0, y0, x1, y1 = subject_box(alpha, 127)
        inside = alpha[y0:y1, x0:x1]
        disc = cv2.ellipse(np.zeros_like(inside), ((x1 - x0) // 2, (y1 - y0) // 2),
                           ((x1 - x0) // 2 - 4, (y1 - y0) // 2 - 4), 0, 0, 360, 1, -1) > 0
        opened = float(np.mean(inside[disc] < 32))
        case.results["gaps"] = (case.gaps, opened)
        if case.colour and opened < 0.8 * case.gaps:
            problems.append(f"gaps {case.gaps:.0%} of the subject, {opened:.0%} opened")
    if case.colour and case.subject is not None:
        before = _lch(case.rgb[cv2.erode(case.subject.astype(np.uint8),
                                         np.ones((9, 9), np.uint8)).astype(bool)])
        after = _lch(layer[..., :3][_opaque(layer)])
        case.results["colour"] = (before, after)
        if case.colour == "white" and after[1] >= 4.0:
            problems.append(f"white subject's chroma {after[1]:.1f} (>= 4)")
        if case.colour == "product":
            change = after[1] / before[1] - 1.0
            if _hue_gap(before[2], after[2]) >= 5.0:
                problems.append(f"hue moved {_hue_gap(before[2], after[2]):.1f}° (>= 5°)")
            if not -0.20 <= change <= 0.05:
                problems.append(f"chroma changed {change:+.0%} (outside -20 % .. +5 %)")
    return problems


def check_words(meta: dict[str, Any]) -> list[str]:
    """Every content word of the prompt is used or listed as unused."""
    fill = meta.get("fill", {})
    used = {w for phrase in fill.get("understood", []) for w in re.findall(r"[a-z]+", phrase)}
    listed = {str(w).lower() for w in fill.get("unused_words", [])}
    missing = [w for w in _prompt_words(PROMPT) if w not in used | listed]
    return [f"prompt words neither used nor listed: {', '.join(missing)}"] if missing else []


# --- the sheet ---------------------------------------------------------------------------------


def _tile(pixels: np.ndarray, label: str) -> np.ndarray:
    """``pixels`` fitted into a TILE square (transparency over a checkerboard), labelled."""
    rgb = pixels
    if pixels.shape[2] == 4:
        yy, xx = np.mgrid[: pixels.shape[0], : pixels.shape[1]]
        board = np.where((((yy // 16) + (xx // 16)) % 2)[..., None] == 1, 205, 240)
        a = pixels[..., 3:4].astype(np.float32) / 255.0
        rgb = (pixels[..., :3] * a + board * (1 - a)).astype(np.uint8)
    h, w = rgb.shape[:2]
    scale = TILE / max(h, w)
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA)
    tile = np.full((TILE + 28, TILE, 3), 255, np.uint8)
    y, x = (TILE - small.shape[0]) // 2 + 28, (TILE - small.shape[1]) // 2
    tile[y : y + small.shape[0], x : x + small.shape[1]] = small
    cv2.putText(tile, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (30, 30, 30), 1,
                cv2.LINE_AA)
    return tile


def sheet(rows: list[list[np.ndarray]]) -> np.ndarray:
    gap = 8
    width = max(len(r) for r in rows) * (TILE + gap) - gap
    lines = []
    for row in rows:
        line = np.full((TILE + 28, width, 3), 255, np.uint8)
        for i, tile in enumerate(row):
            line[:, i * (TILE + gap): i * (TILE + gap) + TILE] = tile
        lines.append(line)
        lines.append(np.full((gap, width, 3), 255, np.uint8))
    return np.concatenate(lines[:-1], axis=0)


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="folder for the full-size outputs and sheet.png")
    parser.add_argument("--docs", type=Path, default=None,
                        help="also write a small JPEG of the sheet here (for docs/)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine_info()}", file=sys.stderr)

    named = {name: make_steps(chain) for name, chain in chains().items()}
    # the same geometry and tone without the finishing: the subject's pixels, to measure
    transparent = make_steps([(n, {k: v for k, v in p.items() if k not in ("shadow",
                                                                          "background")})
                              for n, p in chains()["white"]])
    cases = samples() + generated()
    failures: list[str] = []
    rows: list[list[np.ndarray]] = []
    print("| input | cut by | scale (wanted) | notices | white | studio | checks |")
    print("|---|---|---|---|---|---|---|")
    for case in cases:
        Image.fromarray(case.rgb).save(args.out / f"{case.name}-before.png")
        tiles = [_tile(case.rgb, f"{case.name}: before")]
        said: list[str] = []
        seconds: dict[str, float] = {}
        for name, steps in named.items():
            start = time.perf_counter()
            pixels, meta = run_chain(steps, case.rgb)
            seconds[name] = time.perf_counter() - start
            (args.out / f"{case.name}-{name}.png").write_bytes(encode(pixels, "png"))
            tiles.append(_tile(pixels, f"{case.name}: {name}"))
            said += [n for n in notices(meta) if n not in said]
            if name == "studio":
                failures += [f"{case.name}: {p}" for p in check_words(meta)]
        layer, meta = run_chain(transparent, case.rgb)
        problems = check_case(case, layer, meta)
        failures += [f"{case.name}: {p}" for p in problems]
        colour = ""
        if "gaps" in case.results:
            colour += " · gaps {:.0%} → {:.0%} open".format(*case.results["gaps"])
        if "colour" in case.results:
            (l0, c0, h0), (l1, c1, h1) = case.results["colour"]
            colour += f" · LCh {l0:.0f}/{c0:.1f}/{h0:.0f}° → {l1:.0f}/{c1:.1f}/{h1:.0f}°"
        cut = meta.get("cutout", {})
        scale = f"{cut.get('scale', 1.0):g}" + (f" ({cut['upscale_wanted']:.1f})"
                                                if "upscale_wanted" in cut else "")
        kinds = sorted({n.split(":")[0] + (": words" if "prompt words" in n else ": size")
                        for n in said})
        print(f"| {case.name} | {', '.join(cut.get('frame_edges', [])) or '—'} | {scale} | "
              f"{', '.join(kinds) or '—'} | {seconds['white']:.1f} s | "
              f"{seconds['studio']:.1f} s | {'; '.join(problems) or 'ok'}{colour} |")
        for line in said:
            print(f"    {case.name}: {line}", file=sys.stderr)
        rows.append(tiles)
    image = sheet(rows)
    Image.fromarray(image).save(args.out / "sheet.png")
    if args.docs is not None:
        small = Image.fromarray(image)
        small.thumbnail((960, 960 * image.shape[0] // image.shape[1]),
                        Image.Resampling.LANCZOS)
        small.save(args.docs, "JPEG", quality=72, optimize=True)
    print(f"\nsheet: {args.out / 'sheet.png'} ({image.shape[1]}x{image.shape[0]})")
    for failure in failures:
        print(f"FAILED {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
