"""Benchmark lampyris auto tone against the baselines a user would otherwise reach for.

Two measurements, each printed as a Markdown table (for docs/benchmarks.md):

* ``quality`` - PSNR, SSIM and CIEDE2000 (ΔE00) against the expert / normal-light target on
                every set in ../shared/bench/tone, for identity (the input as is), PIL
                autocontrast (0.5 % cutoff), OpenCV CLAHE on L*, grey-world white balance,
                global gamma to mid-grey, and lampyris auto tone, all in one run.
* ``speed``   - seconds for lampyris auto tone (estimate + render) on a 12 MP photo-like image,
                next to PIL autocontrast on the same pixels.
* ``products`` - generated product scenes (``product_scenes()``: saturated products on dark,
                mid-grey and white grounds, white subjects under a warm or cool light, RGBA
                cutouts) and what auto tone does to the subject: its CIELAB hue and chroma
                must hold, a white one must end neutral, none may clip to white. Exits 1 when
                a check fails.

Run with lampyris's environment: ``.venv/bin/python bench/tone_bench.py all``. Needs the
``bench`` extra (scikit-image for SSIM and ΔE00).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity

from _common import ROOT, fmt, import_lampyris, machine_info

import_lampyris()

from lampyris.imaging.tone import srgb_decode, srgb_encode  # noqa: E402
from lampyris.ops.develop import AutoToneParams, auto_tone  # noqa: E402

DEFAULT_TONE_DIR = ROOT.parent / "shared" / "bench" / "tone"
Method = Callable[[np.ndarray], np.ndarray]


def identity(rgb: np.ndarray) -> np.ndarray:
    return rgb


def pil_autocontrast(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(ImageOps.autocontrast(Image.fromarray(rgb), cutoff=0.5))


def clahe(rgb: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def grey_world(rgb: np.ndarray) -> np.ndarray:
    f = rgb.astype(np.float32)
    means = f.reshape(-1, 3).mean(axis=0)
    return np.clip(f * (means.mean() / np.maximum(means, 1e-3)), 0, 255).round().astype(np.uint8)


def gamma_mid_grey(rgb: np.ndarray) -> np.ndarray:
    """One global gamma that takes the mean intensity to 0.5."""
    f = rgb.astype(np.float32) / 255.0
    mean = float(np.clip(f.mean(), 1e-3, 0.999))
    gamma = np.log(0.5) / np.log(mean)
    return np.clip(255.0 * f**gamma + 0.5, 0, 255).astype(np.uint8)


def lampyris_auto(rgb: np.ndarray) -> np.ndarray:
    return auto_tone(rgb).pixels


def lampyris_mood(rgb: np.ndarray) -> np.ndarray:
    return auto_tone(rgb, AutoToneParams(mood=True)).pixels


METHODS: dict[str, Method] = {
    "identity": identity,
    "PIL autocontrast (0.5 %)": pil_autocontrast,
    "OpenCV CLAHE on L": clahe,
    "grey-world": grey_world,
    "gamma to mid-grey": gamma_mid_grey,
    "lampyris auto tone": lampyris_auto,
    "lampyris auto tone, mood": lampyris_mood,
}
OURS = ("lampyris auto tone", "lampyris auto tone, mood")


def load(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def scores(out: np.ndarray, target: np.ndarray) -> tuple[float, float, float]:
    ssim = structural_similarity(out, target, channel_axis=2, data_range=255)
    de = float(np.mean(deltaE_ciede2000(rgb2lab(out), rgb2lab(target))))
    return psnr(out, target), float(ssim), de


def pairs(folder: Path) -> list[tuple[Path, Path]]:
    found = []
    for source in sorted((folder / "input").iterdir()):
        target = folder / "target" / source.name
        if target.exists():
            found.append((source, target))
    return found


def quality(tone_dir: Path, verbose: bool) -> dict[str, dict[str, tuple[float, float, float]]]:
    results: dict[str, dict[str, tuple[float, float, float]]] = {}
    for folder in sorted(p for p in tone_dir.iterdir() if p.is_dir()):
        items = pairs(folder)
        if not items:
            continue
        per_method: dict[str, list[tuple[float, float, float]]] = {m: [] for m in METHODS}
        for source, target_path in items:
            rgb, target = load(source), load(target_path)
            for name, method in METHODS.items():
                s = scores(method(rgb), target)
                per_method[name].append(s)
                if verbose and name == "lampyris auto tone":
                    print(f"  {folder.name}/{source.name}: PSNR {s[0]:.2f} SSIM {s[1]:.3f} "
                          f"ΔE00 {s[2]:.2f}", file=sys.stderr)
        results[folder.name] = {
            m: tuple(statistics.fmean(v[i] for v in vals) for i in range(3))  # type: ignore[misc]
            for m, vals in per_method.items()
        }
        print(f"\n### {folder.name} ({len(items)} pairs)\n")
        print("| method | PSNR (dB) ↑ | SSIM ↑ | ΔE00 ↓ |")
        print("|---|---|---|---|")
        for m, (p, s, d) in results[folder.name].items():
            print(f"| {m} | {fmt(p, 2)} | {fmt(s, 3)} | {fmt(d, 2)} |")
        best = max((m for m in METHODS if m not in OURS),
                   key=lambda m: results[folder.name][m][0])
        ours = results[folder.name]["lampyris auto tone"]
        print(f"\nlampyris vs best baseline on PSNR ({best}): "
              f"{ours[0] - results[folder.name][best][0]:+.2f} dB")
    return results


def photo_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth, dim, slightly warm scene with texture: what auto tone works on."""
    rng = np.random.default_rng(seed)
    small = rng.integers(20, 160, (height // 64, width // 64, 3), dtype=np.uint8)
    base = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = rng.integers(-6, 7, (height, width, 1), dtype=np.int16)
    return np.clip(base.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def speed(repeats: int) -> None:
    rgb = photo_like(4000, 3000)
    auto_tone(rgb)  # warm the caches
    ours, pil = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        result = auto_tone(rgb)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        pil_autocontrast(rgb)
        pil.append(time.perf_counter() - start)
    timings = result.metadata["timings"]
    print("\n### 12 MP auto tone (4000×3000, median of", repeats, "runs)\n")
    print("| method | seconds |")
    print("|---|---|")
    print(f"| lampyris auto tone (estimate + render) | {fmt(statistics.median(ours), 3)} |")
    print(f"| — of which estimate | {fmt(timings['estimate'], 3)} |")
    print(f"| PIL autocontrast | {fmt(statistics.median(pil), 3)} |")


# --------------------------------------------------------------------------------------------
# Product scenes
# --------------------------------------------------------------------------------------------

SCENE_SIZE = (480, 360)
PRODUCT_COLOURS = {"orange": (221, 106, 15), "red": (200, 25, 35), "blue": (35, 70, 190),
                   "yellow": (235, 195, 25)}
GROUNDS = {"dark green": (20, 45, 25), "mid grey": (128, 128, 128), "white": (245, 245, 245)}
WARM, COOL = (0.18, -0.18), (-0.18, 0.18)  # log2 R/G, B/G of the light: a quarter stop cast
WHITE, LIGHT_GREY = (235, 235, 235), (200, 200, 200)
# What the checks allow: a subject's CIELAB hue moves less than this many degrees, its chroma
# changes within these ratios, a white one ends under this chroma, and no more than this share
# of it has a channel at 255.
HUE_MOVE, CHROMA_CHANGE, NEUTRAL_CHROMA, CLIPPED = 5.0, (-0.20, 0.05), 4.0, 0.01


@dataclass(frozen=True)
class ProductScene:
    """A generated product shot: ``pixels`` (HxWx3, or HxWx4 for a cutout), the ``subject``
    mask (its inside, away from the anti-aliased edge) and whether the subject is ``neutral``
    (white or grey: it must end without colour) or a saturated colour (it must keep it)."""

    name: str
    pixels: np.ndarray
    subject: np.ndarray
    neutral: bool


def _linear(rgb: tuple[int, int, int]) -> np.ndarray:
    return srgb_decode(np.array(rgb, np.float64) / 255.0)


def _ellipse(value: int = 255) -> np.ndarray:
    width, height = SCENE_SIZE
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, (width // 2, height // 2), (120, 90), 0, 0, 360, value, -1)
    return mask


def _scene(ground: tuple[int, int, int], subject: tuple[int, int, int],
           light: tuple[float, float] = (0.0, 0.0), seed: int = 0,
           cutout: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A lit ellipse on a sweep (lighter at the top), both under ``light`` (log2 R/G, B/G
    gains), with a little sensor noise; ``cutout`` makes the ground transparent black."""
    width, height = SCENE_SIZE
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    lin = np.broadcast_to(_linear(ground), (height, width, 3)) * np.linspace(
        1.08, 0.92, height)[:, None, None]
    falloff = np.hypot(xx - width / 2 + 120, yy - height / 2 + 90) / 300.0
    lit_subject = _linear(subject) * (1.05 - 0.15 * falloff)[..., None]  # light from top left
    coverage = cv2.GaussianBlur(_ellipse().astype(np.float64) / 255.0, (0, 0), 1.0)[..., None]
    lin = lin * (1.0 - coverage) + lit_subject * coverage
    lin = lin * np.exp2([light[0], 0.0, light[1]])
    encoded = np.rint(srgb_encode(np.clip(lin, 0.0, 1.0)) * 255.0)
    rgb = np.clip(encoded + rng.integers(-2, 3, encoded.shape), 0, 255).astype(np.uint8)
    inner = cv2.erode(_ellipse(), np.ones((9, 9), np.uint8)) > 0
    if cutout:
        alpha = cv2.GaussianBlur(_ellipse(), (0, 0), 1.0)
        rgb = np.dstack([np.where(alpha[..., None] > 0, rgb, 0).astype(np.uint8), alpha])
    return rgb, inner


def product_scenes() -> list[ProductScene]:
    """The product scenes, always the same: saturated products on dark, mid-grey and white
    grounds, white and light-grey subjects under a warm or cool light of about a quarter stop,
    and RGBA cutouts (the hole around them must not count)."""
    scenes = [ProductScene(f"{c} on {g}", *_scene(GROUNDS[g], PRODUCT_COLOURS[c]), False)
              for c in PRODUCT_COLOURS for g in GROUNDS]
    scenes += [
        ProductScene("white on grey, warm light", *_scene((150,) * 3, WHITE, WARM), True),
        ProductScene("white on grey, cool light", *_scene((150,) * 3, WHITE, COOL), True),
        ProductScene("light grey on dark grey, warm light",
                     *_scene((110,) * 3, LIGHT_GREY, WARM), True),
        ProductScene("orange cutout (RGBA)",
                     *_scene((0,) * 3, PRODUCT_COLOURS["orange"], cutout=True), False),
        ProductScene("blue cutout (RGBA)",
                     *_scene((0,) * 3, PRODUCT_COLOURS["blue"], cutout=True), False),
        # leather, wicker, kraft: alone, they look like greys under a warm light
        ProductScene("tan cutout (RGBA)", *_scene((0,) * 3, (176, 132, 92), cutout=True),
                     False),
        ProductScene("brown cutout (RGBA)", *_scene((0,) * 3, (150, 110, 70), cutout=True),
                     False),
        ProductScene("white cutout (RGBA), warm light",
                     *_scene((0,) * 3, WHITE, WARM, cutout=True), True),
    ]
    return scenes


def subject_lab(pixels: np.ndarray, subject: np.ndarray) -> np.ndarray:
    """CIELAB of the subject's mean colour (averaged in linear light)."""
    mean = srgb_decode(pixels[..., :3][subject].astype(np.float64) / 255.0).mean(axis=0)
    return rgb2lab(srgb_encode(mean)[None, None, :])[0, 0]


def judge(scene: ProductScene, out: np.ndarray) -> dict[str, float | bool]:
    """What auto tone did to the subject, and whether that passes."""
    before, after = subject_lab(scene.pixels, scene.subject), subject_lab(out, scene.subject)
    c0, c1 = float(np.hypot(*before[1:])), float(np.hypot(*after[1:]))
    hue = np.degrees(np.arctan2(after[2], after[1]) - np.arctan2(before[2], before[1]))
    moved = float(abs((hue + 180.0) % 360.0 - 180.0))
    clipped = float(np.mean(out[..., :3][scene.subject].max(axis=1) >= 255))
    change = c1 / c0 - 1.0
    ok = c1 < NEUTRAL_CHROMA if scene.neutral else (
        moved < HUE_MOVE and CHROMA_CHANGE[0] <= change <= CHROMA_CHANGE[1])
    return {"L0": float(before[0]), "L1": float(after[0]), "C0": c0, "C1": c1,
            "change": change, "hue": moved, "clipped": clipped,
            "ok": ok and clipped < CLIPPED}


def products() -> bool:
    """Print the product table; True when every scene passes."""
    print("\n### Product scenes (lampyris auto tone, default)\n")
    print("| scene | subject L* | chroma C* | hue moved | clipped | check |")
    print("|---|---|---|---|---|---|")
    passed = True
    for scene in product_scenes():
        j = judge(scene, auto_tone(scene.pixels).pixels)
        passed &= bool(j["ok"])
        hue = "—" if scene.neutral else f"{j['hue']:.1f}°"
        print(f"| {scene.name} | {j['L0']:.1f} → {j['L1']:.1f} | {j['C0']:.1f} → {j['C1']:.1f} "
              f"({j['change']:+.1%}) | {hue} | {j['clipped']:.1%} | "
              f"{'pass' if j['ok'] else '**FAIL**'} |")
    print(f"\nchecks: hue < {HUE_MOVE:g}°, chroma {CHROMA_CHANGE[0]:+.0%}..{CHROMA_CHANGE[1]:+.0%}"
          f" (saturated); C* < {NEUTRAL_CHROMA:g} (white/grey); under {CLIPPED:.0%} of the "
          "subject at 255")
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["quality", "speed", "products", "all"])
    parser.add_argument("--tone-dir", type=Path, default=DEFAULT_TONE_DIR)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--verbose", action="store_true", help="per-image lampyris scores")
    args = parser.parse_args()
    print(machine_info())
    passed = True
    if args.what in ("products", "all"):
        passed = products()
    if args.what in ("quality", "all"):
        quality(args.tone_dir, args.verbose)
    if args.what in ("speed", "all"):
        speed(args.repeats)
    if not passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
