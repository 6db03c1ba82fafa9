"""Benchmark lampyris auto tone against the baselines a user would otherwise reach for.

Two measurements, each printed as a Markdown table (for docs/benchmarks.md):

* ``quality`` - PSNR, SSIM and CIEDE2000 (ΔE00) against the expert / normal-light target on
                every set in ../shared/bench/tone, for identity (the input as is), PIL
                autocontrast (0.5 % cutoff), OpenCV CLAHE on L*, grey-world white balance,
                global gamma to mid-grey, and lampyris auto tone, all in one run.
* ``speed``   - seconds for lampyris auto tone (estimate + render) on a 12 MP photo-like image,
                next to PIL autocontrast on the same pixels.

Run with lampyris's environment: ``.venv/bin/python bench/tone_bench.py all``. Needs the
``bench`` extra (scikit-image for SSIM and ΔE00).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity

from _common import ROOT, fmt, import_lampyris, machine_info

import_lampyris()

from lampyris.ops.develop import auto_tone  # noqa: E402

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


METHODS: dict[str, Method] = {
    "identity": identity,
    "PIL autocontrast (0.5 %)": pil_autocontrast,
    "OpenCV CLAHE on L": clahe,
    "grey-world": grey_world,
    "gamma to mid-grey": gamma_mid_grey,
    "lampyris auto tone": lampyris_auto,
}


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
        best = max((m for m in METHODS if m != "lampyris auto tone"),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["quality", "speed", "all"])
    parser.add_argument("--tone-dir", type=Path, default=DEFAULT_TONE_DIR)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--verbose", action="store_true", help="per-image lampyris scores")
    args = parser.parse_args()
    print(machine_info())
    if args.what in ("quality", "all"):
        quality(args.tone_dir, args.verbose)
    if args.what in ("speed", "all"):
        speed(args.repeats)


if __name__ == "__main__":
    main()
