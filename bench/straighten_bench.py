"""Accuracy and speed of auto straighten (``lampyris.imaging.straighten``) on generated scenes.

Scenes with lines (horizon, room, product shot, brick wall, facade: the generator of
``tests/support/scenes.py``) are tilted by known angles, uniform in
[-max, max] degrees, and straightened; the error is |applied correction + tilt|. Printed as a
Markdown table per scene and overall: the fraction within 0.5° (the acceptance target is
>= 90 %), the mean and 90th-percentile absolute error, and how often nothing was done (angle 0,
an error of the whole tilt). Twice: on clean scenes, and on ``hard`` ones (half of them
keystoned, all blurred and JPEG-compressed). Then one timing of ``straighten`` on a 12 MP
scene (the first call, untimed, warms OpenCV up).

Run: ``.venv/bin/python bench/straighten_bench.py [--count 200] [--seed 1] [--mode auto]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from _common import ROOT, fmt, import_lampyris, machine_info, markdown_table

sys.path.insert(0, str(ROOT / "tests"))
import_lampyris()

from lampyris.imaging.straighten import straighten  # noqa: E402
from support.scenes import SCENES, random_cases, tilted_scene  # noqa: E402

TIMING_SIZE = (4243, 2828)  # 12 MP, 3:2 (the cutout bench's 12 MP size)
TOLERANCE = 0.5


def parse_size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def run_accuracy(
    count: int, seed: int, mode: str, size: tuple[int, int], *, hard: bool
) -> dict[str, list[tuple[float, float]]]:
    """(tilt, error) per case, by scene."""
    results: dict[str, list[tuple[float, float]]] = {kind: [] for kind in SCENES}
    for kind, tilt, scene_seed in random_cases(count, seed):
        img = tilted_scene(kind, tilt, np.random.default_rng(scene_seed), size=size, hard=hard)
        _, meta = straighten(img, mode)
        results[kind].append((tilt, abs(meta["angle"] + tilt)))
    return results


def summary_row(name: str, cases: list[tuple[float, float]]) -> list[object]:
    errors = np.array([e for _, e in cases])
    untouched = sum(1 for t, e in cases if e == abs(t) and t)
    return [
        name,
        len(cases),
        f"{np.mean(errors <= TOLERANCE):.1%}",
        fmt(float(errors.mean()), 3),
        fmt(float(np.percentile(errors, 90)), 3),
        fmt(float(errors.max()), 2),
        untouched,
    ]


def time_12mp(mode: str, seed: int) -> tuple[float, dict[str, object]]:
    img = tilted_scene("facade", 3.7, np.random.default_rng(seed), size=TIMING_SIZE)
    straighten(img, mode)  # warm-up
    start = time.perf_counter()
    _, meta = straighten(img, mode)
    return time.perf_counter() - start, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200, help="scenes x angles (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mode", default="auto", choices=["auto", "level", "vertical", "full"])
    parser.add_argument("--size", type=parse_size, default=(1200, 800), help="WxH of the scenes")
    parser.add_argument("--no-timing", action="store_true", help="skip the 12 MP timing")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    report: dict[str, object] = {"machine": machine_info(), "mode": args.mode}
    headers = ["scene", "n", "within 0.5°", "mean err °", "p90 err °", "max err °", "untouched"]
    w, h = args.size
    for variant in ("clean", "hard"):
        start = time.perf_counter()
        results = run_accuracy(args.count, args.seed, args.mode, args.size, hard=variant == "hard")
        elapsed = time.perf_counter() - start
        rows = [summary_row(kind, cases) for kind, cases in results.items() if cases]
        every = [case for cases in results.values() for case in cases]
        rows.append(summary_row("all", every))
        print(
            f"{variant}: mode {args.mode}, {w}x{h} scenes, tilts uniform in [-10, 10]°, "
            f"seed {args.seed}"
        )
        print(markdown_table(headers, rows))
        print(f"{elapsed / len(every):.3f} s/image at {w}x{h} (generation included)\n")
        report[variant] = rows
    if not args.no_timing:
        seconds, meta = time_12mp(args.mode, args.seed)
        tw, th = TIMING_SIZE
        print(f"12 MP ({tw}x{th}): {seconds:.3f} s/image, angle {meta['angle']}° (truth -3.7°)")
        report["seconds_12mp"] = seconds
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
