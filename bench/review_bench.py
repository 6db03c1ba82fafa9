"""How well the cutout's review score (``imaging/confidence.py``) finds the cutouts a human should
check, on the reference segmentation sets (../shared/bench/seg).

For every image of the four sets it runs the real cutout op (default settings, u2netp), scores
the cutout's alpha against the ground truth (MAE, soft ground truth kept soft) and keeps the
op's ``review`` object. "Needs review" means MAE > 0.08. Printed as Markdown tables (for
docs/benchmarks.md):

* ``report`` - ROC AUC of (1 - score) over all sets together, and at ``REVIEW_THRESHOLD``: the
               share of needs-review images flagged and the share of all images flagged, per
               set and overall; then the same for a leave-one-set-out fit (fit on three sets,
               score the fourth), so the weights are not judged on the images they came from.
* ``fit``    - the logistic weights (raw feature units) and the intercept that flags
               ``--flag-share`` of the images at score 0.5, to paste into ``confidence.py``.

The per-image results are cached as JSON (default /tmp/lampyris-bench/review.json; the whole
pipeline over 313 images takes 3-4 minutes on 2 cores); ``--fresh`` runs it again.

Run: ``.venv/bin/python bench/review_bench.py report``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from _common import ROOT, import_lampyris, markdown_table

DEFAULT_SEG_DIR = ROOT.parent / "shared" / "bench" / "seg"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "lampyris-bench" / "review.json"
NEEDS_REVIEW_MAE = 0.08
SETS = ("alphamatting_train_lowres", "carvana", "duts_te", "ecssd")


def collect(seg_dir: Path, cache: Path, fresh: bool) -> list[dict[str, Any]]:
    """One row per image: set, name, MAE, the op's review object and its time."""
    if cache.exists() and not fresh:
        rows: list[dict[str, Any]] = json.loads(cache.read_text())
        return rows
    import_lampyris()
    import lampyris.ops.cutout as cutout_module
    from lampyris.imaging.decode import decode
    from lampyris.ops.cutout import CutoutParams, cutout

    spent: list[float] = []  # the review's own time, inside the op's matte step
    review_matte = cutout_module.review_matte

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return review_matte(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    cutout_module.review_matte = timed  # type: ignore[assignment]
    rows = []
    started = time.perf_counter()
    for name in SETS:
        masks = {p.stem: p for p in (seg_dir / name / "masks").glob("*.png")}
        for path in sorted((seg_dir / name / "images").iterdir()):
            if path.stem not in masks:
                continue
            pixels = decode(path).pixels
            if pixels.ndim == 2:  # a greyscale JPEG (one in ecssd)
                pixels = np.repeat(pixels[:, :, None], 3, axis=2)
            result = cutout(np.ascontiguousarray(pixels[..., :3]), CutoutParams())
            alpha = result.pixels[..., 3].astype(np.float32)
            truth = cv2.imread(str(masks[path.stem]), cv2.IMREAD_GRAYSCALE).astype(np.float32)
            rows.append({"set": name, "name": path.stem,
                         "mae": float(np.abs(alpha - truth).mean() / 255.0),
                         "review": result.metadata["review"],
                         "review_ms": spent[-1] * 1000})
            print(f"\r{len(rows)} images, {time.perf_counter() - started:.0f} s", end="",
                  file=sys.stderr, flush=True)
    print(file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(rows))
    return rows


def auc(labels: np.ndarray, values: np.ndarray) -> float:
    """ROC AUC by ranks (Mann-Whitney; ties count half)."""
    pos, neg = values[labels], values[~labels]
    if not pos.size or not neg.size:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (pos.size * neg.size))


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> tuple[np.ndarray, float]:
    """Class-balanced, L2-penalised (strength 1/c) logistic regression on standardised
    features by Newton's method, returned in raw units: (weights, intercept) of z = w·x + b
    with P(needs review) = 1 / (1 + e^-z). The same model as scikit-learn's
    ``LogisticRegression(C=c, class_weight="balanced")`` on standardised inputs."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-12
    xs = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    weight = np.where(y, len(y) / (2 * y.sum()), len(y) / (2 * (~y).sum()))
    beta = np.zeros(xs.shape[1])
    penalty = np.eye(xs.shape[1]) / c
    penalty[-1, -1] = 0.0  # the intercept is not penalised
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-xs @ beta))
        grad = xs.T @ (weight * (p - y)) + penalty @ beta
        hess = (xs * (weight * p * (1 - p))[:, None]).T @ xs + penalty
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    w = beta[:-1] / std
    return w, float(beta[-1] - (w * mean).sum())


def shifted_intercept(x: np.ndarray, w: np.ndarray, b: float, flag_share: float) -> float:
    """The intercept that puts score 0.5 (z = 0) at the ``flag_share`` quantile of z."""
    return b - float(np.quantile(x @ w + b, 1.0 - flag_share))


def _table(rows: Sequence[dict[str, Any]], scores: np.ndarray, threshold: float) -> list[list[str]]:
    labels = np.array([r["mae"] > NEEDS_REVIEW_MAE for r in rows])
    sets = np.array([r["set"] for r in rows])
    flagged = scores < threshold
    out = []
    for name in (*SETS, "all"):
        k = np.ones(len(rows), bool) if name == "all" else sets == name
        bad = k & labels
        out.append([name, str(int(k.sum())), str(int(bad.sum())),
                    f"{auc(labels[k], 1 - scores[k]):.3f}" if bad.any() and (k & ~labels).any()
                    else "–",
                    f"{flagged[bad].mean():.0%}" if bad.any() else "–",
                    f"{flagged[k].mean():.0%}"])
    return out


HEADERS = ["set", "images", "needs review (MAE > 0.08)", "ROC AUC", "needs review flagged",
           "all flagged"]


def report(rows: list[dict[str, Any]], flag_share: float) -> None:
    import_lampyris()
    from lampyris.imaging.confidence import REVIEW_THRESHOLD, SPREAD, WEIGHTS, score

    # Scored again from the cached features, so new weights need no new pipeline run.
    scores = np.array([score(r["review"]["features"]) for r in rows])
    ms = np.array([r["review_ms"] for r in rows])
    print(f"### Shipped weights, threshold {REVIEW_THRESHOLD}\n")
    print(markdown_table(HEADERS, _table(rows, scores, REVIEW_THRESHOLD)))
    print(f"\nreview step: median {np.median(ms):.1f} ms, max {ms.max():.1f} ms per image\n")
    names = list(WEIGHTS)
    x = np.array([[float(r["review"]["features"][n]) for n in names] for r in rows])
    y = np.array([r["mae"] > NEEDS_REVIEW_MAE for r in rows])
    sets = np.array([r["set"] for r in rows])
    held_out = np.zeros(len(rows))
    for name in SETS:  # fit on the other three sets, threshold at their flag share
        train = sets != name
        w, b = fit_logistic(x[train], y[train])
        b = shifted_intercept(x[train], w, b, flag_share)
        held_out[~train] = 1.0 / (1.0 + np.exp(SPREAD * (x[~train] @ w + b)))
    print(f"### Leave one set out (features {', '.join(names)})\n")
    print(markdown_table(HEADERS, _table(rows, held_out, 0.5)))


def fit(rows: list[dict[str, Any]], names: list[str], flag_share: float) -> None:
    x = np.array([[float(r["review"]["features"][n]) for n in names] for r in rows])
    y = np.array([r["mae"] > NEEDS_REVIEW_MAE for r in rows])
    w, b = fit_logistic(x, y)
    b = shifted_intercept(x, w, b, flag_share)
    print("WEIGHTS =", {n: round(float(v), 4) for n, v in zip(names, w, strict=True)})
    print("INTERCEPT =", round(b, 4))
    print(f"in-sample ROC AUC {auc(y, x @ w + b):.3f}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["report", "fit"])
    parser.add_argument("--seg-dir", type=Path, default=DEFAULT_SEG_DIR)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--fresh", action="store_true", help="run the pipeline again")
    parser.add_argument("--flag-share", type=float, default=0.2,
                        help="share of the images a fitted intercept flags (default 0.2)")
    parser.add_argument("--features",
                        default="undecided_mass,border_sides,solidity,interior_undecided",
                        help="features the fit uses, comma-separated")
    args = parser.parse_args(argv)
    rows = collect(args.seg_dir, args.cache, args.fresh)
    if args.what == "fit":
        fit(rows, args.features.split(","), args.flag_share)
    else:
        report(rows, args.flag_share)


if __name__ == "__main__":
    main()
