"""Benchmark lampyris's background removal ("cutout") against rembg, same model, same run.

Three measurements, each printed as a Markdown table (for docs/benchmarks.md):

* ``quality``    - MAE, max F-measure, S-measure and seconds/image on the reference segmentation
                   sets (../shared/bench/seg). lampyris runs in-process (``predict_matte``); rembg
                   runs in its own virtualenv through ``_rembg_masks.py`` and its masks are scored
                   here, with the same code, so the two rows are directly comparable.
* ``throughput`` - whole-process wall clock and peak RSS of ``rembg p`` vs ``lampyris cutout`` on
                   folders of 2 MP and 12 MP JPEGs (what a user actually waits for, start-up and
                   file I/O included).
* ``single``     - one 2 MP JPEG end to end (``rembg i`` vs ``lampyris cutout``), interleaved
                   runs, medians: what a script that calls the CLI per photo waits for.
* ``steady``     - in-process, one thread: the chosen engine's bare inference time per pass vs
                   lampyris's whole per-image time (decode, matte, refinement, PNG).
* ``tradeoff``   - what a second, mirrored pass buys per policy (never, only when the first
                   pass is unsure at several thresholds, always): scores per set and passes
                   per image, from one pair of passes per image.
* ``memory``     - lampyris's peak RSS on 50 vs 500 images: a streaming batch should not grow
                   with the number of inputs (target: within 10 %).

Run with lampyris's environment: ``.venv/bin/python bench/cutout_bench.py all``. rembg needs
``bench/setup_rembg.sh`` first (it creates .venv-rembg). Generated images and outputs go to a
work directory outside the project (default /tmp/lampyris-bench).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil

from _common import (
    ROOT,
    RembgEnv,
    fmt,
    import_lampyris,
    lampyris_command,
    lampyris_env,
    machine_info,
    markdown_table,
    tree_processes,
    write_results,
)

BENCH_DIR = ROOT / "bench"
DEFAULT_SEG_DIR = ROOT.parent / "shared" / "bench" / "seg"
DEFAULT_WORK_DIR = Path(tempfile.gettempdir()) / "lampyris-bench"
DEFAULT_REMBG_VENV = ROOT / ".venv-rembg"
TOOLS = ("rembg", "lampyris", "lampyris-onnxruntime")
# lampyris-onnxruntime: lampyris pinned to the previous engine (ONNX Runtime fp32), so a run
# shows what the runtime choice (models/engine_choice.py) buys on this machine.
PINNED_ONNXRUNTIME = {"LAMPYRIS_MODELS_RUNTIME": "onnxruntime", "LAMPYRIS_MODELS_PRECISION": "fp32"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"}

# Sizes of the throughput inputs: the carvana photos (1918x1280, 3:2) resized to ~2 and ~12 MP.
SIZES: dict[str, tuple[int, int]] = {"2mp": (1732, 1155), "12mp": (4243, 2828)}
JPEG_QUALITY = 92
RSS_SAMPLE_SECONDS = 0.05

# rembg + u2netp on the same data, from ../shared/bench/README.md ("rembg-style pipeline").
# Used to check that the rembg we run here behaves like the one the reference was made with.
REFERENCE_U2NETP: dict[str, dict[str, float]] = {
    "duts_te": {"mae": 0.0407, "max_f": 0.850, "s_measure": 0.875},
    "ecssd": {"mae": 0.0397, "max_f": 0.935, "s_measure": 0.918},
    "carvana": {"mae": 0.0113, "max_f": 0.986, "s_measure": 0.975},
    "alphamatting": {"mae": 0.1282, "max_f": 0.893, "s_measure": 0.824},
}
# Differences from the reference that still count as "the same pipeline" (resampling and
# rounding details differ between versions; a real pipeline change moves these far more).
REFERENCE_TOLERANCE = {"mae": 0.005, "max_f": 0.01, "s_measure": 0.01}


# --------------------------------------------------------------------------------------------
# Tables and image folders
# --------------------------------------------------------------------------------------------


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


# --------------------------------------------------------------------------------------------
# Quality
# --------------------------------------------------------------------------------------------


@dataclass
class QualityRow:
    """Scores of one tool on one set."""

    set: str
    tool: str
    images: int
    mae: float
    max_f: float
    s_measure: float
    seconds_per_image: float
    # Mean absolute difference between this tool's mask and rembg's (lampyris rows only): how
    # faithfully lampyris reproduces rembg's pipeline, independent of the ground truth.
    mad_vs_rembg: float | None = None


class Scorer:
    """Accumulates the standard salient-object metrics (pysodmetrics) over one set."""

    def __init__(self) -> None:
        import py_sod_metrics as sod

        self._mae = sod.MAE()
        # Fmeasure (v1) warns that FmeasureV2 will replace it; v1 is what the reference numbers
        # and most published tables use, so keep it and keep the output clean.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            self._fm = sod.Fmeasure()
        self._sm = sod.Smeasure()

    def add(self, pred: np.ndarray, gt: np.ndarray) -> None:
        """Score one uint8 prediction against its uint8 ground truth (resized if needed)."""
        if pred.shape != gt.shape:
            pred = cv2.resize(pred, (gt.shape[1], gt.shape[0]), interpolation=cv2.INTER_LINEAR)
        for metric in (self._mae, self._fm, self._sm):
            metric.step(pred=pred, gt=gt)

    def results(self) -> tuple[float, float, float]:
        """(MAE, max F-measure, S-measure)."""
        return (
            float(self._mae.get_results()["mae"]),
            float(self._fm.get_results()["fm"]["curve"].max()),
            float(self._sm.get_results()["sm"]),
        )


def read_gray(path: Path) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise RuntimeError(f"cannot read mask {path}")
    return mask


def seg_pairs(set_dir: Path, limit: int | None) -> list[tuple[Path, Path]]:
    """(image, ground-truth mask) pairs of one set, matched by file stem."""
    masks = {p.stem: p for p in (set_dir / "masks").glob("*.png")}
    pairs = [(img, masks[img.stem]) for img in list_images(set_dir / "images") if img.stem in masks]
    return pairs[:limit] if limit else pairs


def run_rembg_masks(
    rembg: RembgEnv, images: list[Path], out_dir: Path, model: str
) -> dict[str, Any]:
    """Have rembg write its masks for ``images`` into ``out_dir``; return its timings file."""
    cmd = [
        str(rembg.python),
        str(BENCH_DIR / "_rembg_masks.py"),
        "--model",
        model,
        "--out",
        str(out_dir),
        *map(str, images),
    ]
    subprocess.run(cmd, env=rembg.env(), check=True)
    meta: dict[str, Any] = json.loads((out_dir / "_timings.json").read_text())
    return meta


def lampyris_predictor(model: str) -> Callable[[Path], np.ndarray]:
    """Decode + predict_matte (8-bit alpha), one call per image (both count in s/img)."""
    import_lampyris()
    from lampyris.imaging.decode import decode
    from lampyris.ops.cutout import predict_matte

    def predict(path: Path) -> np.ndarray:
        pixels = decode(path).pixels
        if pixels.ndim == 2:  # greyscale JPEG (one in ecssd)
            pixels = np.repeat(pixels[:, :, None], 3, axis=2)
        elif pixels.shape[2] == 4:
            pixels = pixels[:, :, :3]
        return predict_matte(np.ascontiguousarray(pixels), model=model)

    return predict


def quality_one_set(
    name: str,
    pairs: list[tuple[Path, Path]],
    tools: set[str],
    model: str,
    rembg: RembgEnv,
    predict: Callable[[Path], np.ndarray] | None,
) -> tuple[list[QualityRow], dict[str, Any] | None]:
    """Score the tools on one set, one image at a time (never holding the whole set)."""
    rows: list[QualityRow] = []
    with tempfile.TemporaryDirectory(prefix=f"rembg-{name}-") as tmp:
        rembg_dir = Path(tmp)
        meta = None
        if "rembg" in tools:
            print(f"  rembg {model} on {name} ({len(pairs)} images)...", flush=True)
            meta = run_rembg_masks(rembg, [img for img, _ in pairs], rembg_dir, model)

        lamp_scorer, rembg_scorer = Scorer(), Scorer()
        lamp_times: list[float] = []
        diffs: list[float] = []
        if predict is not None:
            print(f"  lampyris {model} on {name} ({len(pairs)} images)...", flush=True)
            predict(pairs[0][0])  # warm-up: model load and first-run setup, untimed
        for img_path, mask_path in pairs:
            gt = read_gray(mask_path)
            rembg_mask = read_gray(rembg_dir / f"{img_path.stem}.png") if meta else None
            if rembg_mask is not None:
                rembg_scorer.add(rembg_mask, gt)
            if predict is not None:
                start = time.perf_counter()
                pred = predict(img_path)
                lamp_times.append(time.perf_counter() - start)
                lamp_scorer.add(pred, gt)
                if rembg_mask is not None and rembg_mask.shape == pred.shape:
                    diffs.append(float(np.abs(pred.astype(np.int16) - rembg_mask).mean() / 255))

        if meta is not None:
            times = list(meta["seconds"].values())
            rows.append(
                QualityRow(
                    name,
                    f"rembg {meta['rembg_version']}",
                    len(times),
                    *rembg_scorer.results(),
                    statistics.fmean(times),
                )
            )
        if predict is not None:
            rows.append(
                QualityRow(
                    name,
                    "lampyris",
                    len(lamp_times),
                    *lamp_scorer.results(),
                    statistics.fmean(lamp_times),
                    statistics.fmean(diffs) if diffs else None,
                )
            )
    return rows, meta


def check_reference(rows: list[QualityRow], model: str) -> list[str]:
    """Compare rembg's rows with the reference table; return one line per discrepancy."""
    if model != "u2netp":
        return []
    problems = []
    for row in rows:
        if not row.tool.startswith("rembg"):
            continue
        ref = next((v for k, v in REFERENCE_U2NETP.items() if row.set.startswith(k)), None)
        if ref is None:
            continue
        for key, tol in REFERENCE_TOLERANCE.items():
            got = getattr(row, key)
            if abs(got - ref[key]) > tol:
                problems.append(f"{row.set}: rembg {key} {got:.4f} vs reference {ref[key]:.4f}")
    return problems


def cmd_quality(args: argparse.Namespace) -> dict[str, Any]:
    """Run the quality benchmark on every selected set and print its table."""
    tools = set(args.tools)
    rembg = RembgEnv(args.rembg_venv)
    if "rembg" in tools:
        rembg.check()
    predict = lampyris_predictor(args.model) if "lampyris" in tools else None

    set_dirs = sorted(p for p in args.seg_dir.iterdir() if (p / "images").is_dir())
    if args.sets:
        set_dirs = [p for p in set_dirs if p.name in args.sets]
    if not set_dirs:
        raise SystemExit(f"no segmentation sets found in {args.seg_dir}")

    rows: list[QualityRow] = []
    rembg_meta: dict[str, Any] | None = None
    for set_dir in set_dirs:
        pairs = seg_pairs(set_dir, args.limit)
        set_rows, meta = quality_one_set(set_dir.name, pairs, tools, args.model, rembg, predict)
        rows += set_rows
        rembg_meta = meta or rembg_meta

    print(f"\n### Cutout quality ({args.model}, full-resolution masks vs ground truth)\n")
    print(
        markdown_table(
            ["set", "tool", "images", "MAE", "max F", "S-measure", "s/img", "MAD vs rembg"],
            [
                [
                    r.set,
                    r.tool,
                    r.images,
                    fmt(r.mae, 4),
                    fmt(r.max_f, 3),
                    fmt(r.s_measure, 3),
                    fmt(r.seconds_per_image, 3),
                    fmt(r.mad_vs_rembg, 4),
                ]
                for r in rows
            ],
        )
    )
    problems = check_reference(rows, args.model)
    if "rembg" in tools and not args.limit:
        if problems:
            print("\nWARNING: rembg differs from the reference in ../shared/bench/README.md:")
            print("\n".join(f"  - {p}" for p in problems))
        else:
            print(
                "\nrembg matches the reference numbers in ../shared/bench/README.md "
                f"(tolerance {REFERENCE_TOLERANCE})."
            )
    return {
        "model": args.model,
        "rembg": {k: v for k, v in (rembg_meta or {}).items() if k != "seconds"},
        "rows": [asdict(r) for r in rows],
        "reference_problems": problems,
    }


# --------------------------------------------------------------------------------------------
# Input folders for throughput and memory
# --------------------------------------------------------------------------------------------


def carvana_sources(seg_dir: Path) -> list[Path]:
    sources = list_images(seg_dir / "carvana" / "images")
    if not sources:
        raise SystemExit(f"no carvana images in {seg_dir / 'carvana' / 'images'}")
    return sources


def make_variant(image: np.ndarray, variant: int) -> np.ndarray:
    """Variant ``variant`` of a source photo, so that repeated sources are distinct files.

    Odd variants are mirrored, and every further pair is slightly brighter: enough to change
    every JPEG byte without changing what the model has to do.
    """
    if variant % 2:
        image = cv2.flip(image, 1)
    if variant >= 2:
        image = cv2.convertScaleAbs(image, alpha=1.0, beta=2 * (variant // 2))
    return image


def build_jpeg_folder(work_dir: Path, seg_dir: Path, size: str, count: int) -> Path:
    """A folder of ``count`` JPEGs at ``size``, made from the carvana photos (cached by name).

    Lives under the work directory, never in the project: the photos have no open licence.
    """
    width, height = SIZES[size]
    folder = work_dir / "inputs" / f"{size}-{count}"
    # Next to the folder, not in it: both CLIs would see a stray file in their input folder.
    marker = folder.with_name(f"{folder.name}.complete")
    if marker.exists() and len(list_images(folder)) == count:
        return folder
    marker.unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sources = carvana_sources(seg_dir)
    print(f"  building {count} {size} JPEGs ({width}x{height}) in {folder}...", flush=True)
    for i in range(count):
        src = sources[i % len(sources)]
        image = cv2.imread(str(src), cv2.IMREAD_COLOR)
        if image is None:
            raise RuntimeError(f"cannot read {src}")
        enlarging = width * height > image.shape[0] * image.shape[1]
        image = cv2.resize(
            image, (width, height), interpolation=cv2.INTER_CUBIC if enlarging else cv2.INTER_AREA
        )
        image = make_variant(image, i // len(sources))
        out = folder / f"{i:04d}_{src.stem}.jpg"
        if not cv2.imwrite(str(out), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise RuntimeError(f"cannot write {out}")
    marker.touch()
    return folder


# --------------------------------------------------------------------------------------------
# Whole-process measurement
# --------------------------------------------------------------------------------------------


@dataclass
class ProcessRun:
    """Wall clock and memory of one whole-process run."""

    command: list[str]
    seconds: float
    returncode: int
    # Largest sum of RSS over the process and all its descendants, sampled every 50 ms.
    peak_tree_rss_mb: float
    # The same with PSS, which splits shared pages between the processes sharing them: the
    # fair number when forked workers share the parent's model and libraries.
    peak_tree_pss_mb: float
    # Kernel's own high-water mark (wait4 ru_maxrss) of the largest single process: exact, but
    # blind to worker processes adding up.
    max_single_rss_mb: float
    log: str = ""
    samples: int = 0


def tree_memory(proc: psutil.Process) -> tuple[int, int]:
    """(RSS, PSS) summed over ``proc`` and its descendants; vanished processes are skipped."""
    rss = pss = 0
    for member in tree_processes(proc):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            info = member.memory_full_info()  # reads smaps_rollup: ~0.1 ms a process
            rss += info.rss
            pss += info.pss
    return rss, pss


def measure(command: list[str], env: dict[str, str], log_path: Path) -> ProcessRun:
    """Run ``command`` to completion, timing it and tracking its process tree's peak RSS.

    Reaps the child with ``os.wait4`` so that the kernel's ru_maxrss comes back as well.
    Output goes to ``log_path`` (progress bars would otherwise flood the table output).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        start = time.perf_counter()
        popen = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        proc = psutil.Process(popen.pid)
        peak_rss = peak_pss = samples = 0
        while True:
            pid, status, usage = os.wait4(popen.pid, os.WNOHANG)
            if pid:
                break
            rss, pss = tree_memory(proc)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            samples += 1
            time.sleep(RSS_SAMPLE_SECONDS)
        seconds = time.perf_counter() - start
    popen.returncode = os.waitstatus_to_exitcode(status)
    return ProcessRun(
        command=command,
        seconds=seconds,
        returncode=popen.returncode,
        peak_tree_rss_mb=peak_rss / 2**20,
        peak_tree_pss_mb=peak_pss / 2**20,
        max_single_rss_mb=usage.ru_maxrss / 2**10,  # Linux reports KiB
        log=str(log_path),
        samples=samples,
    )


def check_outputs(inputs: Path, outputs: Path) -> str | None:
    """None if ``outputs`` holds exactly one image per input (same stem), else what is wrong."""
    want = {p.stem for p in list_images(inputs)}
    got = [p.stem for p in outputs.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]
    if len(got) == len(want) and set(got) == want:
        return None
    missing = sorted(want - set(got))
    return f"{len(got)} outputs for {len(want)} inputs" + (
        f"; missing e.g. {missing[:3]}" if missing else ""
    )


@dataclass
class ToolRun:
    """One tool on one input folder (median of ``repeat`` runs)."""

    size: str
    tool: str
    images: int
    seconds: float
    images_per_second: float
    peak_rss_mb: float
    peak_pss_mb: float
    max_single_rss_mb: float
    output_problem: str | None
    runs: list[dict[str, Any]] = field(default_factory=list)


def run_tool(
    tool: str,
    command_for: Callable[[Path], list[str]],
    env: dict[str, str],
    inputs: Path,
    work_dir: Path,
    size: str,
    repeat: int,
) -> ToolRun:
    """Run a tool ``repeat`` times on ``inputs`` with a fresh output folder each time."""
    runs: list[ProcessRun] = []
    problem = None
    label = tool.split()[0]
    for i in range(repeat):
        out = work_dir / "outputs" / f"{label}-{inputs.name}"
        shutil.rmtree(out, ignore_errors=True)  # rembg skips inputs whose output exists
        out.mkdir(parents=True)
        print(f"  {tool} on {inputs.name} (run {i + 1}/{repeat})...", flush=True)
        run = measure(command_for(out), env, work_dir / "logs" / f"{label}-{inputs.name}-{i}.log")
        runs.append(run)
        if run.returncode != 0:
            tail = Path(run.log).read_text(errors="replace")[-2000:]
            raise SystemExit(f"{tool} failed (exit {run.returncode}):\n{tail}")
        problem = problem or check_outputs(inputs, out)
    images = len(list_images(inputs))
    seconds = statistics.median(r.seconds for r in runs)
    return ToolRun(
        size=size,
        tool=tool,
        images=images,
        seconds=seconds,
        images_per_second=images / seconds,
        peak_rss_mb=max(r.peak_tree_rss_mb for r in runs),
        peak_pss_mb=max(r.peak_tree_pss_mb for r in runs),
        max_single_rss_mb=max(r.max_single_rss_mb for r in runs),
        output_problem=problem,
        runs=[asdict(r) for r in runs],
    )


def lampyris_runner(
    extra_args: Sequence[str], model: str
) -> Callable[[Path], Callable[[Path], list[str]]]:
    """``inputs -> (out -> command)`` for ``lampyris cutout``."""

    def for_inputs(inputs: Path) -> Callable[[Path], list[str]]:
        return lambda out: [
            *lampyris_command(),
            "cutout",
            str(inputs),
            "--output",
            str(out),
            "--model",
            model,
            *extra_args,
        ]

    return for_inputs


def rembg_runner(rembg: RembgEnv, model: str) -> Callable[[Path], Callable[[Path], list[str]]]:
    """``inputs -> (out -> command)`` for ``rembg p``."""

    def for_inputs(inputs: Path) -> Callable[[Path], list[str]]:
        return lambda out: [str(rembg.cli), "p", "-m", model, str(inputs), str(out)]

    return for_inputs


# --------------------------------------------------------------------------------------------
# Throughput and memory
# --------------------------------------------------------------------------------------------


def cmd_throughput(args: argparse.Namespace) -> dict[str, Any]:
    """rembg p vs lampyris cutout, whole processes, per image size."""
    rembg = RembgEnv(args.rembg_venv)
    if "rembg" in args.tools:
        rembg.check()
    rembg_tool = f"rembg {rembg.version()}" if "rembg" in args.tools else "rembg"
    extra = shlex.split(args.lampyris_args)
    lamp_tool = "lampyris" + (f" {' '.join(extra)}" if extra else "")
    print(f"lampyris engine here: {engine_label()}", flush=True)
    rembg_cmd = rembg_runner(rembg, args.model)
    lamp_cmd = lampyris_runner(extra, args.model)

    results: list[ToolRun] = []
    for size in args.sizes:
        inputs = build_jpeg_folder(args.work_dir, args.seg_dir, size, args.count)
        # One after the other, never concurrently: each uses every core.
        for tool in args.tools:
            if tool == "rembg":
                label, command, env = rembg_tool, rembg_cmd(inputs), rembg.env()
            else:
                label, command, env = tool, lamp_cmd(inputs), lampyris_env()
                if tool == "lampyris-onnxruntime":
                    env.update(PINNED_ONNXRUNTIME)
                elif extra:
                    label = lamp_tool
            results.append(run_tool(label, command, env, inputs, args.work_dir, size,
                                    args.repeat))

    baseline = {r.size: r.seconds for r in results if r.tool == rembg_tool}
    print(f"\n### Cutout throughput ({args.model}, whole process, JPEG in, PNG RGBA out)\n")
    print(
        markdown_table(
            [
                "size",
                "tool",
                "images",
                "seconds",
                "images/s",
                "peak RSS MB",
                "peak PSS MB",
                "speedup vs rembg",
            ],
            [
                [
                    f"{r.size} ({SIZES[r.size][0]}x{SIZES[r.size][1]})",
                    r.tool,
                    r.images,
                    fmt(r.seconds, 1),
                    fmt(r.images_per_second, 2),
                    fmt(r.peak_rss_mb, 0),
                    fmt(r.peak_pss_mb, 0),
                    f"{baseline[r.size] / r.seconds:.2f}x" if r.size in baseline else "-",
                ]
                for r in results
            ],
        )
    )
    problems = [f"{r.size} {r.tool}: {r.output_problem}" for r in results if r.output_problem]
    print(
        "\n"
        + (
            "WARNING: " + "; ".join(problems)
            if problems
            else "Every run wrote one output per input."
        )
    )
    return {
        "model": args.model,
        "lampyris_args": extra,
        "rows": [asdict(r) for r in results],
        "output_problems": problems,
    }


def engine_label() -> str:
    """The engine lampyris's default model runs on here, as ``models list`` says it."""
    done = subprocess.run([*lampyris_command(), "models", "list"], env=lampyris_env(),
                          capture_output=True, text=True, check=True)
    return next((line for line in done.stdout.splitlines() if " runs on " in line), "?")


def cmd_single(args: argparse.Namespace) -> dict[str, Any]:
    """One 2 MP photo, one process per photo: ``rembg i`` vs ``lampyris cutout``, interleaved."""
    rembg = RembgEnv(args.rembg_venv)
    rembg.check()
    folder = build_jpeg_folder(args.work_dir, args.seg_dir, "2mp", 1)
    photo = list_images(folder)[0]
    out = args.work_dir / "outputs" / "single"
    commands = {
        "rembg": ([str(rembg.cli), "i", "-m", args.model, str(photo), str(out / "rembg.png")],
                  rembg.env()),
        "lampyris": ([*lampyris_command(), "cutout", str(photo), "--output", str(out / "lamp"),
                      "--overwrite", "--model", args.model], lampyris_env()),
        "lampyris-onnxruntime": (
            [*lampyris_command(), "cutout", str(photo), "--output", str(out / "ort"),
             "--overwrite", "--model", args.model], {**lampyris_env(), **PINNED_ONNXRUNTIME}),
    }
    seconds: dict[str, list[float]] = {tool: [] for tool in commands}
    out.mkdir(parents=True, exist_ok=True)
    for _ in range(args.repeat):
        for tool, (command, env) in commands.items():
            start = time.perf_counter()
            subprocess.run(command, env=env, check=True, capture_output=True)
            seconds[tool].append(time.perf_counter() - start)
    medians = {tool: statistics.median(times) for tool, times in seconds.items()}
    print(f"\n### One 2 MP photo end to end ({args.model}, median of {args.repeat})\n")
    print(markdown_table(
        ["tool", "seconds (median)", "runs", "vs rembg"],
        [[tool, fmt(medians[tool], 2), " · ".join(f"{t:.2f}" for t in seconds[tool]),
          f"{medians[tool] / medians['rembg']:.2f}x"] for tool in commands]))
    return {"seconds": seconds, "median": medians}


def cmd_steady(args: argparse.Namespace) -> dict[str, Any]:
    """Bare inference per pass vs the whole per-image time, one thread, in this process."""
    import_lampyris()
    from lampyris.imaging.decode import decode
    from lampyris.imaging.encode import encode
    from lampyris.models import get_session, resolve_spec
    from lampyris.models.session import SessionOptions, set_default_options
    from lampyris.ops.cutout import cutout

    cv2.setNumThreads(1)
    set_default_options(replace(SessionOptions.from_settings(), intra_op_threads=1))
    session = get_session(resolve_spec(args.model))
    w, h = session.spec.input_size
    batch = np.random.default_rng(0).standard_normal((1, 3, h, w)).astype(np.float32)
    session.engine.run(batch)
    bare = []
    for _ in range(20):
        start = time.perf_counter()
        session.engine.run(batch)
        bare.append(time.perf_counter() - start)
    rows, results = [], {}
    for size in args.sizes:
        photos = list_images(build_jpeg_folder(args.work_dir, args.seg_dir, size, args.count))
        cutout(decode(photos[0]))  # warm-up
        per_image = []
        for photo in photos:
            start = time.perf_counter()
            result = cutout(decode(photo))
            encode(result.pixels, "png")
            per_image.append(time.perf_counter() - start)
        engine = statistics.median(bare)
        whole = statistics.median(per_image)
        rows.append([size, session.choice.label, fmt(engine * 1000, 0), fmt(whole * 1000, 0),
                     f"{whole / engine:.2f}x"])
        results[size] = {"bare_ms": engine * 1000, "per_image_ms": whole * 1000}
    print(f"\n### Steady state per image vs bare inference ({args.model}, one thread)\n")
    print(markdown_table(["size", "engine", "bare pass ms", "whole image ms", "ratio"], rows))
    return results


MIRROR_POLICIES: dict[str, float] = {"never": 2.0, "auto 0.05 (default)": 0.05,
                                     "auto 0.02": 0.02, "auto 0.01": 0.01, "always": -1.0}
"""Mirror-pass policies: the second pass runs when the first's undecided share exceeds this."""


def cmd_tradeoff(args: argparse.Namespace) -> dict[str, Any]:
    """Scores and passes per image for each mirror-pass policy, on every reference set."""
    import_lampyris()
    from lampyris.imaging.decode import decode
    from lampyris.imaging.matte import refine_matte, working_copy
    from lampyris.models import get_session, resolve_spec
    from lampyris.models.session import unsure_fraction

    session = get_session(resolve_spec(args.model))
    rows, results = [], {}
    sets = [d for d in sorted(args.seg_dir.iterdir()) if d.is_dir()]
    for set_dir in sets:
        if args.sets and set_dir.name not in args.sets:
            continue
        pairs = seg_pairs(set_dir, args.limit)
        scorers = {name: Scorer() for name in MIRROR_POLICIES}
        second = dict.fromkeys(MIRROR_POLICIES, 0)
        print(f"  {set_dir.name} ({len(pairs)} images)...", flush=True)
        for img_path, mask_path in pairs:
            pixels = decode(img_path).pixels
            if pixels.ndim == 2:
                pixels = np.repeat(pixels[:, :, None], 3, axis=2)
            rgb = np.ascontiguousarray(pixels[..., :3])
            work = working_copy(rgb)
            batch = session.prepare(work)
            first = session._run(batch)
            both = (first + session._run(np.ascontiguousarray(batch[..., ::-1]))[:, ::-1]) * 0.5
            unsure = unsure_fraction(first)
            gt = read_gray(mask_path)
            for name, threshold in MIRROR_POLICIES.items():
                two = unsure > threshold
                second[name] += two
                scorers[name].add(refine_matte(both if two else first, rgb, work=work), gt)
        for name in MIRROR_POLICIES:
            mae, max_f, s_measure = scorers[name].results()
            passes = 1 + second[name] / len(pairs)
            rows.append([set_dir.name, name, fmt(mae, 4), fmt(max_f, 3), fmt(s_measure, 3),
                         fmt(passes, 2)])
            results[f"{set_dir.name}/{name}"] = {"mae": mae, "max_f": max_f,
                                                 "s_measure": s_measure, "passes": passes}
    print(f"\n### Mirror pass: quality per policy ({args.model}, {session.choice.label})\n")
    print(markdown_table(["set", "policy", "MAE", "max F", "S-measure", "passes/image"], rows))
    return results


def cmd_memory(args: argparse.Namespace) -> dict[str, Any]:
    """lampyris's peak RSS on a small and a large batch of 2 MP images."""
    extra = shlex.split(args.lampyris_args)
    lamp_cmd = lampyris_runner(extra, args.model)
    results = []
    for count in args.counts:
        inputs = build_jpeg_folder(args.work_dir, args.seg_dir, "2mp", count)
        results.append(
            run_tool("lampyris", lamp_cmd(inputs), lampyris_env(), inputs, args.work_dir, "2mp", 1)
        )

    small, large = results[0], results[-1]
    ratio = large.peak_rss_mb / small.peak_rss_mb
    print(f"\n### lampyris cutout memory vs batch size (2 MP JPEGs, {args.model})\n")
    print(
        markdown_table(
            [
                "images",
                "seconds",
                "images/s",
                "peak RSS MB",
                "peak PSS MB",
                "max single-process RSS MB",
            ],
            [
                [
                    r.images,
                    fmt(r.seconds, 1),
                    fmt(r.images_per_second, 2),
                    fmt(r.peak_rss_mb, 0),
                    fmt(r.peak_pss_mb, 0),
                    fmt(r.max_single_rss_mb, 0),
                ]
                for r in results
            ],
        )
    )
    pss_ratio = large.peak_pss_mb / small.peak_pss_mb
    verdict = "PASS" if ratio <= 1.10 else "FAIL"
    print(
        f"\npeak RSS {large.images} vs {small.images} images: {ratio:.3f}x "
        f"(target <= 1.10x: {verdict}); peak PSS: {pss_ratio:.3f}x"
    )
    problems = [f"{r.images} images: {r.output_problem}" for r in results if r.output_problem]
    if problems:
        print("WARNING: " + "; ".join(problems))
    return {
        "model": args.model,
        "lampyris_args": extra,
        "rows": [asdict(r) for r in results],
        "ratio": ratio,
        "pss_ratio": pss_ratio,
        "verdict": verdict,
        "output_problems": problems,
    }


def cmd_all(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "quality": cmd_quality(args),
        "throughput": cmd_throughput(args),
        "memory": cmd_memory(args),
    }


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def csv_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", type=Path, help="also write the results as JSON to this path")
    common.add_argument("--model", default="u2netp", help="model for both tools (default u2netp)")
    common.add_argument(
        "--seg-dir",
        type=Path,
        default=DEFAULT_SEG_DIR,
        help=f"segmentation sets (default {DEFAULT_SEG_DIR})",
    )
    common.add_argument(
        "--rembg-venv",
        type=Path,
        default=DEFAULT_REMBG_VENV,
        help="virtualenv made by setup_rembg.sh (default .venv-rembg)",
    )

    quality = argparse.ArgumentParser(add_help=False)
    quality.add_argument("--sets", type=csv_list, help="comma-separated subset of the sets")
    quality.add_argument("--limit", type=int, help="first N images per set (quick checks)")

    tools = argparse.ArgumentParser(add_help=False)
    tools.add_argument(
        "--tools",
        type=csv_list,
        default=list(TOOLS),
        help="comma-separated subset of rembg,lampyris,lampyris-onnxruntime (default all)",
    )

    processes = argparse.ArgumentParser(add_help=False)
    processes.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK_DIR,
        help=f"generated inputs, outputs, logs (default {DEFAULT_WORK_DIR})",
    )
    processes.add_argument(
        "--lampyris-args",
        default="",
        help='extra flags for lampyris cutout, e.g. --lampyris-args="--jobs 2"',
    )

    throughput = argparse.ArgumentParser(add_help=False)
    throughput.add_argument("--count", type=int, default=20, help="images per size (default 20)")
    throughput.add_argument(
        "--sizes",
        type=csv_list,
        default=list(SIZES),
        help=f"comma-separated subset of {','.join(SIZES)}",
    )
    throughput.add_argument(
        "--repeat", type=int, default=1, help="runs per tool and size; the median time is reported"
    )

    memory = argparse.ArgumentParser(add_help=False)
    memory.add_argument(
        "--counts",
        type=lambda v: [int(c) for c in csv_list(v)],
        default=[50, 500],
        help="small,large batch sizes (default 50,500)",
    )

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "quality", parents=[common, tools, quality], help="metrics on the reference sets"
    )
    sub.add_parser(
        "throughput",
        parents=[common, tools, processes, throughput],
        help="whole-process speed and memory, rembg vs lampyris",
    )
    single = argparse.ArgumentParser(add_help=False)
    single.add_argument("--repeat", type=int, default=7, help="runs per tool (default 7)")
    sub.add_parser("single", parents=[common, processes, single],
                   help="one 2 MP photo end to end, rembg vs lampyris")
    sub.add_parser("tradeoff", parents=[common, quality],
                   help="mirror-pass policies: quality and passes per image")
    sub.add_parser("steady", parents=[common, processes, throughput],
                   help="per-image time vs bare inference, one thread")
    sub.add_parser(
        "memory",
        parents=[common, processes, memory],
        help="lampyris peak RSS, small vs large batch",
    )
    sub.add_parser(
        "all", parents=[common, tools, quality, processes, throughput, memory], help="all three"
    )
    args = parser.parse_args(argv)

    unknown = set(getattr(args, "sizes", [])) - set(SIZES)
    if unknown:
        parser.error(f"unknown sizes {sorted(unknown)}; choose from {sorted(SIZES)}")
    unknown = set(getattr(args, "tools", [])) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools {sorted(unknown)}")
    if len(getattr(args, "counts", [1, 2])) != 2:
        parser.error("--counts takes exactly two numbers: small,large")
    return args


COMMANDS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "quality": cmd_quality,
    "throughput": cmd_throughput,
    "memory": cmd_memory,
    "single": cmd_single,
    "steady": cmd_steady,
    "tradeoff": cmd_tradeoff,
    "all": cmd_all,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.seg_dir = args.seg_dir.resolve()
    if hasattr(args, "work_dir"):
        args.work_dir = args.work_dir.resolve()
        if args.work_dir.is_relative_to(ROOT):
            raise SystemExit("--work-dir must be outside the project (the photos are unlicensed)")
    results = {
        "benchmark": args.command,
        "machine": machine_info("onnxruntime_lampyris"),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "results": COMMANDS[args.command](args),
    }
    write_results(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
