"""The catalog pipeline's fill step: a contact sheet to look at, and seconds per image.

Two commands:

* ``sheet`` - on every photo in ``samples/``, the catalog pipeline cutout → fill (``studio``,
              one column per ``--prompt``) → auto tone (on the first prompt's fill), plus a
              ``patch`` object removal and an ``expand`` (2× the area, ``patch``), all through
              ``lampyris.ops.run``; writes a before/after PNG (default ``out/fill-sheet.png``)
              and prints the fidelity check of every fill: outside the mask the output must be
              the input, exactly. The bench compares the pixels itself as well as reading the
              op's own report; exit status 1 when either fails anywhere.
* ``speed`` - seconds per image of each engine at 1 MP: ``studio`` on a product mask (~70 %
              background), ``patch`` on an object-removal hole (~10 %) and an expand-style
              border (~40 %), next to OpenCV ``cv2.inpaint`` (Telea and Navier-Stokes, radius
              3) on the same holes; ``diffusion`` only when ``LAMPYRIS_DIFFUSION_MODEL`` names
              weights. Median of ``--repeats`` after one warm-up, as a Markdown table;
              ``--save DIR`` also writes each engine's result, to see what the time buys.

The patch hole on the sheet is the cutout's object (dilated by 8 px) when it covers at most
25 % of the photo, else a rectangle (~7 %) in the upper right, away from the usual subject.

Run: ``.venv/bin/python bench/fill_bench.py sheet`` / ``... speed [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from _common import ROOT, fmt, import_lampyris, machine_info, markdown_table, version_of

import_lampyris()

from lampyris.imaging.fill.engines import fill_region  # noqa: E402
from lampyris.ops import run  # noqa: E402

SAMPLES = ROOT / "samples"
PROMPTS = (
    "white marble counter, soft morning light",
    "warm oak table, golden hour",
    "pastel pink studio sweep",
)
SMALL_OBJECT = 0.25  # largest object share removed by patch on the sheet; above, a rectangle
SPEED_SIZE = (1152, 864)  # 1.0 MP, 4:3


def load(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


# --------------------------------------------------------------------------------------------
# sheet
# --------------------------------------------------------------------------------------------


@dataclass
class Cell:
    """One picture on the sheet, its caption, and (for a fill) whether fidelity held."""

    image: np.ndarray  # RGB or RGBA
    caption: str
    held: bool | None = None
    box: tuple[int, int, int, int] | None = None  # outline drawn on it (x, y, w, h)


def fidelity(result: Any, reference: np.ndarray, keep: np.ndarray) -> tuple[bool, str]:
    """Trust the op's report and verify it: ``keep`` pixels of the output equal ``reference``."""
    reported = result.metadata["fidelity"]
    diff = np.abs(result.pixels[keep].astype(np.int16) - reference[keep].astype(np.int16))
    changed = int(np.count_nonzero(diff.max(axis=1))) if diff.size else 0
    held = bool(reported["held"]) and changed == 0
    if held:
        return True, f"held ({keep.mean():.0%} kept)"
    return False, (f"FAILED: {changed} px changed (op says {reported['changed_outside']}, "
                   f"max {reported['max_difference_outside']})")


def patch_hole(alpha: np.ndarray) -> tuple[np.ndarray, str]:
    """What the sheet removes with ``patch``: the small object, or a rectangle."""
    h, w = alpha.shape
    obj = (alpha > 0).astype(np.uint8) * 255
    if 0 < obj.mean() / 255 <= SMALL_OBJECT:
        grown = cv2.dilate(obj, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (17, 17)))
        return grown, "object"
    hole = np.zeros_like(alpha)
    hole[int(h * 0.08):int(h * 0.34), int(w * 0.62):int(w * 0.88)] = 255
    return hole, "rect"


def sample_row(path: Path, prompts: list[str], seed: int) -> tuple[list[Cell], list[str], bool]:
    """The sheet's cells for one photo, its fidelity cells, and whether they all held."""
    img = load(path)
    cells = [Cell(img, f"{img.shape[1]}x{img.shape[0]}")]
    cut = run("cutout", img, {})
    alpha = cut.pixels[..., 3]
    cells.append(Cell(cut.pixels, f"object {(alpha > 0).mean():.0%}"))
    product = alpha == 255  # the product's own pixels: must come out as the photo's
    checks: list[str] = []
    fills = []
    for prompt in prompts:
        out = run("fill", cut.pixels, {"prompt": prompt, "engine": "studio", "seed": seed})
        held, text = fidelity(out, img, product)
        fills.append(out)
        checks.append(text)
        cells.append(Cell(out.pixels, "fidelity " + text.split(" (")[0], held))
    toned = run("auto_tone", fills[0].pixels, {})
    cells.append(Cell(toned.pixels, "tone changes all pixels"))

    hole, kind = patch_hole(alpha)
    shown = img.copy()
    shown[hole > 0] = (shown[hole > 0] * 0.4 + np.array([255, 0, 0]) * 0.6).astype(np.uint8)
    cells.append(Cell(shown, f"{kind}, {(hole > 0).mean():.1%}"))
    patched = run("fill", img, {"engine": "patch", "seed": seed}, mask=hole)
    held, text = fidelity(patched, img, hole == 0)
    checks.append(text)
    cells.append(Cell(patched.pixels, "fidelity " + text.split(" (")[0], held))

    expanded = run("expand", img, {"seed": seed})
    p = expanded.metadata["placement"]
    x, y, w, h = p["x"], p["y"], p["width"], p["height"]
    inner = expanded.pixels[y:y + h, x:x + w]
    same = inner.shape == img.shape and bool(np.array_equal(inner, img))
    ok = bool(expanded.metadata["fidelity"]["held"]) and same
    checks.append("held (photo untouched)" if ok else "FAILED: the placed photo changed")
    caption = "fidelity " + ("held" if ok else "FAILED")
    cells.append(Cell(expanded.pixels, caption, ok, (x, y, w, h)))
    return cells, checks, all(c.startswith("held") for c in checks)


def checkerboard(h: int, w: int, square: int = 8) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    board = ((yy // square + xx // square) % 2).astype(np.uint8)
    return np.where(board[..., None] == 1, 205, 250).astype(np.uint8).repeat(3, axis=2)


def thumbnail(cell: Cell, width: int, height: int) -> Image.Image:
    """The cell's picture fitted into width x height (transparency over a checkerboard)."""
    pixels = cell.image
    scale = min(width / pixels.shape[1], height / pixels.shape[0])
    size = (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
    small = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    if small.shape[2] == 4:
        a = small[..., 3:].astype(np.float32) / 255
        small = (small[..., :3] * a + checkerboard(size[1], size[0]) * (1 - a)).astype(np.uint8)
    im = Image.fromarray(small)
    if cell.box is not None:
        x, y, w, h = (round(v * scale) for v in cell.box)
        ImageDraw.Draw(im).rectangle((x, y, x + w - 1, y + h - 1), outline=(255, 255, 255))
    return im


def wrapped(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def render_sheet(rows: list[tuple[str, list[Cell]]], headers: list[str], cell: int) -> Image.Image:
    """Rows = samples, columns = steps; headers on top, the sample's name on the left."""
    font = ImageFont.load_default(size=13)
    small = ImageFont.load_default(size=11)
    cw, ch = cell, round(cell * 0.75)
    pad, left, line = 8, 96, 15
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    head_lines = [wrapped(probe, h, font, cw) for h in headers]
    top = pad + line * max(len(x) for x in head_lines) + pad
    row_h = ch + line + pad
    sheet = Image.new("RGB", (left + len(headers) * (cw + pad) + pad, top + len(rows) * row_h),
                      (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for c, lines in enumerate(head_lines):
        for i, text in enumerate(lines):
            draw.text((left + c * (cw + pad), pad + i * line), text, fill=(0, 0, 0), font=font)
    for r, (name, cells) in enumerate(rows):
        y = top + r * row_h
        draw.text((pad, y + ch // 2 - line // 2), name, fill=(0, 0, 0), font=font)
        for c, item in enumerate(cells):
            x = left + c * (cw + pad)
            thumb = thumbnail(item, cw, ch)
            sheet.paste(thumb, (x + (cw - thumb.width) // 2, y + (ch - thumb.height) // 2))
            colour = (170, 0, 0) if item.held is False else (90, 90, 90)
            draw.text((x, y + ch + 2), item.caption, fill=colour, font=small)
    return sheet


def sheet(args: argparse.Namespace) -> int:
    prompts = args.prompt or list(PROMPTS)
    paths = sorted(p for p in args.samples.iterdir()
                   if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    if not paths:
        raise SystemExit(f"no images in {args.samples}")
    headers = ["input", "cutout", *(f"fill: {p}" for p in prompts),
               f"fill: {prompts[0]} + auto tone", "patch: hole (red)", "patch: filled",
               "expand (2x area, patch)"]
    rows, table, every = [], [], True
    for path in paths:
        start = time.perf_counter()
        cells, checks, held = sample_row(path, prompts, args.seed)
        print(f"{path.name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
        rows.append((path.stem, cells))
        table.append([path.name, *checks])
        every &= held
    args.output.parent.mkdir(parents=True, exist_ok=True)
    render_sheet(rows, headers, args.cell).save(args.output)
    print(f"contact sheet written to {args.output}\n")
    print("Fidelity: outside the mask, the output's pixels equal the input's (product pixels of")
    print("the cutout for studio, the photo around the hole for patch, the placed photo for")
    print("expand). Auto tone changes every pixel by design and is not checked.\n")
    print(markdown_table(["sample", *(f"studio: {p}" for p in prompts), "patch", "expand"],
                         table))
    print("\nfidelity held everywhere" if every else "\nFIDELITY FAILED (see above)")
    return 0 if every else 1


# --------------------------------------------------------------------------------------------
# speed
# --------------------------------------------------------------------------------------------


def speed_image(size: tuple[int, int]) -> np.ndarray:
    """A real photo (coffee.jpg) centre-cropped to the aspect of ``size`` and scaled to it."""
    img = load(SAMPLES / "coffee.jpg")
    w, h = size
    ih, iw = img.shape[:2]
    cw, chh = min(iw, round(ih * w / h)), min(ih, round(iw * h / w))
    x, y = (iw - cw) // 2, (ih - chh) // 2
    return cv2.resize(np.ascontiguousarray(img[y:y + chh, x:x + cw]), size,
                      interpolation=cv2.INTER_CUBIC)


def holes(size: tuple[int, int]) -> dict[str, np.ndarray]:
    """The three masks (255 = fill): background around a product, an object, a border."""
    w, h = size
    product = np.zeros((h, w), np.uint8)  # a bottle-like shape standing low in the frame
    cv2.ellipse(product, (w // 2, int(h * 0.6)), (int(w * 0.27), int(h * 0.33)), 0, 0, 360, 255,
                -1)
    cv2.rectangle(product, (int(w * 0.44), int(h * 0.1)), (int(w * 0.56), int(h * 0.4)), 255, -1)
    product = cv2.GaussianBlur(product, (5, 5), 0)  # a matte's soft edge
    obj = np.zeros((h, w), np.uint8)
    cv2.ellipse(obj, (int(w * 0.62), int(h * 0.45)), (int(w * 0.2), int(h * 0.16)), 0, 0, 360,
                255, -1)
    border = np.full((h, w), 255, np.uint8)
    kw, kh = round(w * 0.775), round(h * 0.775)  # the picture keeps 60 % of the canvas
    border[(h - kh) // 2:(h - kh) // 2 + kh, (w - kw) // 2:(w - kw) // 2 + kw] = 0
    return {"background": 255 - product, "object": obj, "border": border}


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm-up: caches, thread pools, lazy imports
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def diffusion_model() -> tuple[str | None, str]:
    """The configured diffusion weights, or None and why."""
    try:
        from lampyris.imaging.fill.diffusion import diffusion_config
    except ImportError as exc:
        return None, f"the diffusion engine cannot be imported ({exc})"
    model = diffusion_config().model
    if not model:
        return None, "LAMPYRIS_DIFFUSION_MODEL is not set (no local diffusers weights here)"
    return model, ""


def speed(args: argparse.Namespace) -> int:
    size = args.size
    rgb = speed_image(size)
    masks = holes(size)
    prompt = PROMPTS[0]
    cases: list[tuple[str, str, Callable[[], object]]] = [
        ("lampyris studio", "background",
         lambda: fill_region(rgb, masks["background"], engine="studio", prompt=prompt)),
    ]
    for hole in ("object", "border"):
        m = masks[hole]
        cases += [
            ("lampyris patch", hole, lambda m=m: fill_region(rgb, m, engine="patch")),
            ("OpenCV inpaint Telea (r=3)", hole,
             lambda m=m: cv2.inpaint(rgb, m, 3, cv2.INPAINT_TELEA)),
            ("OpenCV inpaint NS (r=3)", hole, lambda m=m: cv2.inpaint(rgb, m, 3, cv2.INPAINT_NS)),
        ]
    model, why = diffusion_model()
    if model:
        for hole in ("background", "object", "border"):
            m = masks[hole]
            cases.append(("lampyris diffusion", hole, lambda m=m: fill_region(
                rgb, m, engine="diffusion", prompt=prompt)))
    info = machine_info()
    info["opencv"] = version_of("opencv-python-headless") or cv2.__version__
    info["opencv_threads"] = cv2.getNumThreads()
    print(info)
    rows = []
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(args.save / "input.png")
    for engine, hole, fn in cases:
        seconds = timed(fn, args.repeats)
        if args.save:  # one more, untimed: the result, for a person to compare
            out = fn()
            out = out[0] if isinstance(out, tuple) else out
            name = f"{hole}-{engine.split(' (')[0].replace(' ', '-').lower()}.png"
            Image.fromarray(np.asarray(out)).save(args.save / name)
        print(f"{engine} / {hole}: {' '.join(f'{s:.3f}' for s in seconds)}", file=sys.stderr)
        rows.append([engine, hole, f"{(masks[hole] > 0).mean():.0%}",
                     fmt(statistics.median(seconds), 3),
                     f"{min(seconds):.3f}–{max(seconds):.3f}"])
    w, h = size
    print(f"\n### Fill, {w}x{h} ({w * h / 1e6:.2f} MP), median of {args.repeats} after one "
          "warm-up\n")
    print(markdown_table(["engine", "hole", "filled", "s/image", "range"], rows))
    if not model:
        print(f"\ndiffusion: not measured: {why}.")
    return 0


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WxH, not {text!r}") from None
    return w, h


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    s = commands.add_parser("sheet", help="before/after contact sheet and fidelity check")
    s.add_argument("--samples", type=Path, default=SAMPLES, help="folder of photos")
    s.add_argument("--output", type=Path, default=ROOT / "out" / "fill-sheet.png")
    s.add_argument("--prompt", action="append",
                   help="studio prompt, repeatable (default: three catalog backdrops)")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--cell", type=int, default=240, help="width of one picture (px)")
    p = commands.add_parser("speed", help="seconds per image of each engine at 1 MP")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--size", type=parse_size, default=SPEED_SIZE, help="WxH (default 1152x864)")
    p.add_argument("--save", type=Path, help="also write each engine's result here (PNG)")
    args = parser.parse_args()
    sys.exit(sheet(args) if args.command == "sheet" else speed(args))


if __name__ == "__main__":
    main()
