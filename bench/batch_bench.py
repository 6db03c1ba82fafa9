"""Benchmark ``lampyris batch`` on many small images: throughput and flat memory (issue 4).

What it does, in order:

1. generates ``--count`` small distinct JPEGs (default 10,000 at 128x96: a coloured disc or
   rounded box, sometimes with a shadow, at a varying place, size and colour on a light
   gradient with a little noise) into a cache directory, once: later runs reuse them, and a
   larger ``--count`` only adds the missing ones. Two folders of hard links into that cache
   are the inputs: the first ``--small`` images (default 1,000) and all ``--count``;
2. an unmeasured warm-up batch of a few images per tool (page cache, model file, imports), so
   the first measured run does not pay for a cold disk;
3. measured, one after the other, never concurrently: ``lampyris batch`` on the small folder,
   ``rembg p`` (rembg's folder mode, same u2netp model, PNG out) on the small folder when
   ``.venv-rembg`` exists (``bench/setup_rembg.sh``), and ``lampyris batch`` on the large
   folder. Each run gets a fresh output folder and a fresh ledger. While it runs, the RSS and
   PSS of its whole process tree (the CLI, forkserver, resource tracker, workers) are sampled
   every ``--interval`` seconds, per process role, with the number of outputs written so far;
4. reports images/s (wall clock, start-up included, and the run's own figure from the summary
   JSON), the peak tree RSS of each run, and whether the peak on the large batch is within
   10 % of the peak on the small one (PASS/FAIL). When it is not, the per-role table says
   which process grew. Checks that each run wrote one output per input and no failures.

Run with lampyris's environment: ``.venv/bin/python bench/batch_bench.py``. Outputs and
ledgers go to a temporary folder that is removed at the end (``--keep`` keeps it); the image
cache stays (``--cache-dir``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil
from rich.console import Console
from rich.table import Table

from _common import (
    ROOT,
    RembgEnv,
    available_cores,
    fmt,
    kill_group,
    lampyris_command,
    lampyris_env,
    machine_info,
    sigterm_as_interrupt,
    tree_processes,
    write_results,
)

DEFAULT_CACHE_DIR = Path(tempfile.gettempdir()) / "lampyris-bench" / "batch-inputs"
DEFAULT_WORK_DIR = Path(tempfile.gettempdir()) / "lampyris-bench"
DEFAULT_REMBG_VENV = ROOT / ".venv-rembg"
JPEG_QUALITY = 90
GENERATOR_VERSION = 1  # bump when the images change, so stale caches are regenerated
MEMORY_TARGET = 1.10  # peak tree RSS at --count / at --small
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
STOP_GRACE_SECONDS = 20.0

# Wide enough for the tables when the output goes to a file or a pipe (rich assumes 80).
console = Console(width=shutil.get_terminal_size((150, 24)).columns)


# --------------------------------------------------------------------------------------------
# Inputs: small distinct JPEGs, generated once
# --------------------------------------------------------------------------------------------


def parse_size(value: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WxH, e.g. 128x96, not {value!r}") from None
    if not (16 <= width <= 4096 and 16 <= height <= 4096):
        raise argparse.ArgumentTypeError("width and height must be within 16..4096")
    return width, height


def image_name(index: int) -> str:
    return f"img_{index:06d}.jpg"


def make_image(index: int, width: int, height: int) -> np.ndarray:
    """Image ``index`` (BGR uint8), the same on every run: a subject on a light backdrop.

    A disc or a rounded box (sometimes with a soft shadow under it) of a saturated colour, at a
    position, size and colour drawn from ``index``; a light two-tone gradient behind it; a
    little Gaussian noise so that no two files are alike and none compresses to nothing.
    """
    rng = np.random.default_rng([GENERATOR_VERSION, index])
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top = rng.uniform(225, 250, 3).astype(np.float32)
    bottom = top - rng.uniform(5, 30, 3).astype(np.float32)
    image = top * (1 - ys) + bottom * ys
    image = np.broadcast_to(image, (height, width, 3)).copy()

    side = min(width, height)
    size = rng.uniform(0.25, 0.45) * side  # radius or half-side
    cx = rng.uniform(size, width - size)
    cy = rng.uniform(size, height - size)
    hsv = np.array([[[rng.integers(0, 180), rng.integers(120, 256), rng.integers(60, 220)]]],
                   dtype=np.uint8)
    colour = tuple(float(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])
    if rng.random() < 0.5:  # soft contact shadow below the subject
        ellipse = np.zeros((height, width), np.float32)
        cv2.ellipse(ellipse, (int(cx), int(min(height - 2, cy + size))),
                    (max(2, int(size)), max(1, int(size * 0.2))), 0, 0, 360, 1.0, -1)
        shadow = np.asarray(cv2.GaussianBlur(ellipse, (0, 0), max(1.0, side / 40)))
        image *= (1 - 0.3 * shadow)[..., None]
    if rng.random() < 0.5:
        cv2.circle(image, (int(cx), int(cy)), int(size), colour, -1, cv2.LINE_AA)
    else:
        half_w, half_h = size * rng.uniform(0.7, 1.0), size * rng.uniform(0.7, 1.0)
        radius = int(min(half_w, half_h) * rng.uniform(0.15, 0.5))
        x0, y0, x1, y1 = int(cx - half_w), int(cy - half_h), int(cx + half_w), int(cy + half_h)
        cv2.rectangle(image, (x0 + radius, y0), (x1 - radius, y1), colour, -1)
        cv2.rectangle(image, (x0, y0 + radius), (x1, y1 - radius), colour, -1)
        for corner in ((x0 + radius, y0 + radius), (x1 - radius, y0 + radius),
                       (x0 + radius, y1 - radius), (x1 - radius, y1 - radius)):
            cv2.circle(image, corner, radius, colour, -1, cv2.LINE_AA)
    # A lighter highlight, so the subject is not a flat blob.
    cv2.circle(image, (int(cx - size * 0.35), int(cy - size * 0.35)), max(1, int(size * 0.2)),
               tuple(min(255.0, c + 50) for c in colour), -1, cv2.LINE_AA)
    image += rng.normal(0.0, 3.0, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _default_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _write_images(task: tuple[Path, int, int, list[int]]) -> int:
    folder, width, height, indices = task
    for index in indices:
        path = folder / image_name(index)
        tmp = path.with_name(f".{path.name}.part")
        ok, data = cv2.imencode(".jpg", make_image(index, width, height),
                                [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError(f"cannot encode {path.name}")
        tmp.write_bytes(data.tobytes())
        os.replace(tmp, path)
    return len(indices)


def ensure_images(cache_dir: Path, width: int, height: int, count: int) -> Path:
    """The cache folder holding at least images 0..count-1 (only missing ones are made)."""
    pool = cache_dir / f"v{GENERATOR_VERSION}-{width}x{height}" / "images"
    pool.mkdir(parents=True, exist_ok=True)
    present = {entry.name for entry in os.scandir(pool)}
    missing = [i for i in range(count) if image_name(i) not in present]
    if not missing:
        return pool
    console.print(f"generating {len(missing)} {width}x{height} JPEGs in {pool} ...")
    start = time.perf_counter()
    workers = min(available_cores(), max(1, len(missing) // 500))
    chunks = [missing[i::workers * 4] for i in range(workers * 4)]
    tasks = [(pool, width, height, chunk) for chunk in chunks if chunk]
    if workers == 1:
        made = sum(map(_write_images, tasks))
    else:
        # fork is fine here: this process has no threads yet and only needs numpy and cv2.
        # close + join, not the context manager's terminate(): that SIGTERMs the workers,
        # which inherited our SIGTERM-as-Ctrl-C handler.
        generators = multiprocessing.get_context("fork").Pool(workers, _default_sigterm)
        try:
            made = sum(generators.imap_unordered(_write_images, tasks))
            generators.close()
        except BaseException:
            generators.terminate()
            raise
        finally:
            generators.join()
    console.print(f"  {made} images in {time.perf_counter() - start:.1f} s")
    return pool


def input_folder(cache_dir: Path, pool: Path, count: int) -> Path:
    """A folder holding exactly images 0..count-1, hard-linked from the cache (copied where
    links are not possible). Cached as well: rebuilt only when it does not match."""
    folder = pool.parent / f"first-{count}"
    want = {image_name(i) for i in range(count)}
    if folder.is_dir() and {e.name for e in os.scandir(folder)} == want:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in sorted(want):
        try:
            os.link(pool / name, folder / name)
        except OSError:
            shutil.copy2(pool / name, folder / name)
    return folder


def count_images(folder: Path) -> int:
    """Image files in ``folder`` and below, hidden temp files (``.x.part``) excluded."""
    if not folder.exists():
        return 0
    total = 0
    stack = [folder]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif Path(entry.name).suffix.lower() in IMAGE_SUFFIXES:
                    total += 1
    return total


def output_problem(inputs: Path, outputs: Path) -> str | None:
    """None if ``outputs`` holds exactly one image per input (same stem), else what is wrong."""
    want = {Path(e.name).stem for e in os.scandir(inputs) if not e.name.startswith(".")}
    got: list[str] = []
    for path in outputs.rglob("*"):
        if not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES:
            got.append(path.stem)
    if len(got) == len(want) and set(got) == want:
        return None
    missing = sorted(want - set(got))
    return f"{len(got)} outputs for {len(want)} inputs" + (
        f"; missing e.g. {missing[:3]}" if missing else "")


# --------------------------------------------------------------------------------------------
# Measuring a whole process tree
# --------------------------------------------------------------------------------------------


ROLES = ("cli", "forkserver", "resource tracker", "workers")


class TreeSampler:
    """Samples the RSS/PSS of a process and all its descendants, per role, in a thread.

    Roles: the root process (``cli``, or the tool's name), the multiprocessing forkserver and
    resource tracker (children of the root, told apart by their command line) and ``workers``
    (everything else: the forkserver's children). A process's role is decided once, when it is
    first seen. Every ``progress_every`` samples the number of outputs written so far is
    counted as well, so the memory curve can be read against the batch's progress.
    """

    def __init__(self, root: psutil.Process, interval: float, outputs: Path, expected: int,
                 root_role: str = "cli", progress_every: int = 10) -> None:
        self.root = root
        self.expected = expected
        self.last_outputs = 0
        self.interval = interval
        self.outputs = outputs
        self.root_role = root_role
        self.progress_every = progress_every
        self.samples: list[dict[str, Any]] = []
        self.roles: dict[int, str] = {}
        self.cpu: dict[int, float] = {}  # last CPU seconds seen per pid
        self.peak_rss = 0
        self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-rss", daemon=True)
        self._start = time.perf_counter()

    def __enter__(self) -> TreeSampler:
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _role(self, proc: psutil.Process) -> str:
        role = self.roles.get(proc.pid)
        if role is None:
            if proc.pid == self.root.pid:
                role = self.root_role
            elif proc.ppid() == self.root.pid:
                cmdline = " ".join(proc.cmdline())
                role = ("resource tracker" if "resource_tracker" in cmdline
                        else "forkserver" if "forkserver" in cmdline else "workers")
            else:
                role = "workers"
            self.roles[proc.pid] = role
        return role

    def sample(self) -> dict[str, Any] | None:
        members = tree_processes(self.root)
        rss: dict[str, float] = {}
        pss: dict[str, float] = {}
        pids: dict[str, list[int]] = {}
        for proc in members:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                role = self._role(proc)
                info = proc.memory_full_info()  # smaps_rollup: ~0.1-1 ms a process
                times = proc.cpu_times()
                self.cpu[proc.pid] = times.user + times.system
                rss[role] = rss.get(role, 0.0) + info.rss / 2**20
                pss[role] = pss.get(role, 0.0) + getattr(info, "pss", info.rss) / 2**20
                pids.setdefault(role, []).append(proc.pid)
        if not rss:
            return None
        total_rss, total_pss = sum(rss.values()), sum(pss.values())
        sample: dict[str, Any] = {
            "t": round(time.perf_counter() - self._start, 2),
            "rss_mb": round(total_rss, 1),
            "pss_mb": round(total_pss, 1),
            "rss_by_role": {k: round(v, 1) for k, v in rss.items()},
            "pss_by_role": {k: round(v, 1) for k, v in pss.items()},
            "processes": len(members),
            "worker_pids": sorted(pids.get("workers", [])),
        }
        # Outputs are counted every sample in a small run, and in a large one until the first
        # appears and over the last 1 % (start-up and tail timings), every ``progress_every``
        # samples in between (a scandir of 10,000 names is ~10 ms).
        if (self.expected <= 2000 or self.last_outputs == 0
                or self.last_outputs >= 0.99 * self.expected
                or len(self.samples) % self.progress_every == 0):
            sample["outputs"] = self.last_outputs = count_images(self.outputs)
        self.peak_rss = max(self.peak_rss, int(total_rss * 2**20))
        self.peak_pss = max(self.peak_pss, int(total_pss * 2**20))
        return sample

    def _loop(self) -> None:
        while True:
            with contextlib.suppress(psutil.Error, OSError):
                sample = self.sample()
                if sample is not None:
                    self.samples.append(sample)
            if self._stop.wait(self.interval):
                return

    def cpu_by_role(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for pid, seconds in self.cpu.items():
            role = self.roles.get(pid, "workers")
            used[role] = used.get(role, 0.0) + seconds
        return {k: round(v, 1) for k, v in sorted(used.items())}


@dataclass
class Run:
    """One measured whole-process run."""

    label: str
    tool: str
    images: int
    command: list[str]
    returncode: int = 0
    seconds: float = 0.0  # wall clock: process start to exit, start-up included
    images_per_second: float = 0.0
    summary_seconds: float | None = None  # the run's own figure (lampyris summary JSON)
    summary_images_per_second: float | None = None
    summary: dict[str, Any] | None = None
    peak_rss_mb: float = 0.0  # largest sum of RSS over the process tree
    peak_pss_mb: float = 0.0
    max_single_rss_mb: float = 0.0  # kernel high-water mark (wait4), largest single process
    peak_rss_by_role_mb: dict[str, float] = field(default_factory=dict)
    rss_by_role_early_mb: dict[str, float] = field(default_factory=dict)  # 10-20 % of outputs
    rss_by_role_late_mb: dict[str, float] = field(default_factory=dict)  # 80-95 % of outputs
    cpu_seconds_by_role: dict[str, float] = field(default_factory=dict)
    worker_processes_seen: int = 0
    first_output_s: float | None = None  # process start -> first output seen (sampled)
    all_outputs_s: float | None = None  # process start -> last output seen (sampled)
    output_problem: str | None = None
    log_tail: str = ""
    samples: list[dict[str, Any]] = field(default_factory=list)


def run_measured(run: Run, env: dict[str, str], outputs: Path, log_path: Path,
                 interval: float, root_role: str) -> Run:
    """Run ``run.command`` to completion in its own process group, sampling its tree."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        start = time.perf_counter()
        popen = subprocess.Popen(run.command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            with TreeSampler(psutil.Process(popen.pid), interval, outputs, run.images,
                             root_role) as sampler:
                # wait4 rather than wait: the kernel's ru_maxrss comes back with the status.
                _, status, usage = os.wait4(popen.pid, 0)
            run.seconds = time.perf_counter() - start
            popen.returncode = os.waitstatus_to_exitcode(status)
        except BaseException:
            stop_group(popen)
            raise
        finally:
            kill_group(popen.pid)  # stragglers (a worker left behind) must not skew what follows
    run.returncode = popen.returncode
    run.images_per_second = run.images / run.seconds if run.seconds else 0.0
    run.max_single_rss_mb = usage.ru_maxrss / 2**10  # Linux: KiB
    run.peak_rss_mb = sampler.peak_rss / 2**20
    run.peak_pss_mb = sampler.peak_pss / 2**20
    run.samples = sampler.samples
    run.cpu_seconds_by_role = sampler.cpu_by_role()
    run.worker_processes_seen = sum(1 for r in sampler.roles.values() if r == "workers")
    for sample in sampler.samples:
        for role, mb in sample["rss_by_role"].items():
            run.peak_rss_by_role_mb[role] = max(run.peak_rss_by_role_mb.get(role, 0.0), mb)
    counted = [(x["t"], x["outputs"]) for x in sampler.samples if "outputs" in x]
    run.first_output_s = next((t for t, n in counted if n > 0), None)
    run.all_outputs_s = next((t for t, n in counted if n >= run.images), None)
    run.rss_by_role_early_mb = role_median(sampler.samples, run.images, 0.10, 0.20)
    run.rss_by_role_late_mb = role_median(sampler.samples, run.images, 0.80, 0.95)
    text = log_path.read_text(errors="replace")
    run.log_tail = text[-3000:]
    return run


def role_median(samples: list[dict[str, Any]], images: int, low: float, high: float
                ) -> dict[str, float]:
    """Median RSS per role over the samples taken while ``low``..``high`` of the outputs had
    been written (progress is counted every few samples; samples in between take the last
    count)."""
    chosen: dict[str, list[float]] = {}
    done = 0
    for sample in samples:
        done = sample.get("outputs", done)
        if images and low <= done / images <= high:
            for role, mb in sample["rss_by_role"].items():
                chosen.setdefault(role, []).append(mb)
    return {role: round(statistics.median(v), 1) for role, v in chosen.items()}


def stop_group(popen: subprocess.Popen[bytes]) -> None:
    """SIGTERM the run (lampyris finishes what is in flight and records the rest), then let
    ``kill_group`` take whatever is left."""
    if popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(STOP_GRACE_SECONDS)


# --------------------------------------------------------------------------------------------
# The tools
# --------------------------------------------------------------------------------------------


def lampyris_run(label: str, inputs: Path, images: int, scratch: Path, args: argparse.Namespace,
                 *, measured: bool = True) -> Run:
    """``lampyris batch INPUTS OUT`` with a fresh output folder and ledger below ``scratch``."""
    work = scratch / f"{label}-lampyris"
    shutil.rmtree(work, ignore_errors=True)
    out = work / "out"
    out.mkdir(parents=True)
    ledger = work / "batch.ledger.db"
    command = [*lampyris_command(), "batch", str(inputs), str(out), "--jobs", str(args.jobs),
               "--ledger", str(ledger), "--format", args.format, "--model", args.model,
               *args.lampyris_args]
    run = Run(label, "lampyris batch", images, command)
    if measured:
        console.print(f"{label}: lampyris batch, {images} images, --jobs {args.jobs} ...")
    run_measured(run, lampyris_env(), out, work / "run.log", args.interval, "cli")
    if run.returncode != 0:
        raise SystemExit(f"lampyris batch failed (exit {run.returncode}):\n{run.log_tail}")
    summary_path = work / "batch.summary.json"
    if summary_path.exists():
        run.summary = json.loads(summary_path.read_text())
        this_run = run.summary.get("this_run", {})
        run.summary_seconds = this_run.get("seconds")
        run.summary_images_per_second = this_run.get("images_per_second")
    else:
        run.output_problem = f"no summary at {summary_path}"
    run.output_problem = run.output_problem or output_problem(inputs, out)
    if run.summary and (run.summary["this_run"].get("failed")
                        or run.summary["this_run"].get("done") != images):
        run.output_problem = (run.output_problem or "") + (
            f" summary says done {run.summary['this_run'].get('done')}, failed "
            f"{run.summary['this_run'].get('failed')}")
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)  # 10,000 PNGs: gone as soon as they are checked
    return run


def rembg_run(label: str, inputs: Path, images: int, scratch: Path, rembg: RembgEnv,
              args: argparse.Namespace, tool: str, *, measured: bool = True) -> Run:
    """``rembg p -m MODEL INPUTS OUT`` (PNG RGBA out), fresh output folder."""
    work = scratch / f"{label}-rembg"
    shutil.rmtree(work, ignore_errors=True)
    out = work / "out"
    out.mkdir(parents=True)
    command = [str(rembg.cli), "p", "-m", args.model, str(inputs), str(out)]
    run = Run(label, tool, images, command)
    if measured:
        console.print(f"{label}: {tool} p, {images} images ...")
    run_measured(run, rembg.env(), out, work / "run.log", args.interval, "rembg")
    if run.returncode != 0:
        raise SystemExit(f"rembg failed (exit {run.returncode}):\n{run.log_tail}")
    run.output_problem = output_problem(inputs, out)
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return run


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def print_report(report: dict[str, Any]) -> None:
    cfg = report["config"]
    runs = [Run(**{k: v for k, v in r.items()}) for r in report["runs"]]
    table = Table(title=f"lampyris batch: {cfg['width']}x{cfg['height']} JPEGs -> "
                        f"{cfg['format']}, {cfg['model']}, --jobs {cfg['jobs']} "
                        f"({report['machine']['usable_cpus']} cores)")
    for col, justify in (("run", "left"), ("tool", "left"), ("images", "right"),
                         ("wall s", "right"), ("images/s (wall)", "right"),
                         ("images/s (summary)", "right"), ("peak RSS MB", "right"),
                         ("peak PSS MB", "right"), ("max 1-proc RSS MB", "right"),
                         ("vs rembg", "right"), ("1st output s", "right"),
                         ("after last s", "right"), ("outputs", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    rembg = next((r for r in runs if r.tool.startswith("rembg")), None)
    for r in runs:
        speedup = (f"{r.images_per_second / rembg.images_per_second:.2f}x"
                   if rembg is not None and rembg.images_per_second else "-")
        table.add_row(r.label, r.tool, str(r.images), fmt(r.seconds, 1),
                      fmt(r.images_per_second, 2), fmt(r.summary_images_per_second, 2),
                      fmt(r.peak_rss_mb, 0), fmt(r.peak_pss_mb, 0), fmt(r.max_single_rss_mb, 0),
                      speedup, fmt(r.first_output_s, 1),
                      fmt(r.seconds - r.all_outputs_s if r.all_outputs_s is not None else None, 1),
                      r.output_problem or "ok")
    console.print(table)

    lamp = [r for r in runs if r.tool == "lampyris batch"]
    if lamp:
        roles = Table(title="lampyris process tree RSS by role, MB (peak; median at 10-20 % "
                            "and 80-95 % of the outputs written)")
        roles.add_column("role")
        for r in lamp:
            roles.add_column(f"{r.label} peak", justify="right")
            roles.add_column(f"{r.label} early→late", justify="right")
            roles.add_column(f"{r.label} CPU s", justify="right")
        all_roles = [role for role in ROLES if any(role in r.peak_rss_by_role_mb for r in lamp)]
        for role in all_roles:
            cells = [role]
            for r in lamp:
                early, late = r.rss_by_role_early_mb.get(role), r.rss_by_role_late_mb.get(role)
                cells += [fmt(r.peak_rss_by_role_mb.get(role), 0),
                          f"{fmt(early, 0)}→{fmt(late, 0)}",
                          fmt(r.cpu_seconds_by_role.get(role), 1)]
            roles.add_row(*cells)
        console.print(roles)

    memory = report.get("memory")
    if memory:
        colour = "green" if memory["verdict"] == "PASS" else "bold red"
        console.print(
            f"peak tree RSS {memory['large_images']} vs {memory['small_images']} images: "
            f"{memory['large_peak_rss_mb']:.0f} / {memory['small_peak_rss_mb']:.0f} MB = "
            f"[{colour}]{memory['ratio']:.3f}x[/] (target <= {MEMORY_TARGET:.2f}x: "
            f"[{colour}]{memory['verdict']}[/]); PSS {memory['pss_ratio']:.3f}x")
        for line in memory.get("growth_notes", []):
            console.print(f"  [yellow]{line}[/]")
    for note in report.get("notes", []):
        console.print(f"[yellow]note:[/] {note}")


def memory_verdict(small: Run, large: Run) -> dict[str, Any]:
    ratio = large.peak_rss_mb / small.peak_rss_mb if small.peak_rss_mb else float("inf")
    pss_ratio = large.peak_pss_mb / small.peak_pss_mb if small.peak_pss_mb else float("inf")
    notes = []
    # Which process grew: per role, the peak on the large run against the small run, and the
    # drift within the large run (early vs late in its progress).
    for role in ROLES:
        a, b = small.peak_rss_by_role_mb.get(role), large.peak_rss_by_role_mb.get(role)
        early, late = large.rss_by_role_early_mb.get(role), large.rss_by_role_late_mb.get(role)
        if a and b and b - a > 0.02 * small.peak_rss_mb:
            notes.append(f"{role}: peak {a:.0f} -> {b:.0f} MB (+{b - a:.0f} MB)")
        if early and late and late - early > 0.02 * small.peak_rss_mb:
            notes.append(f"{role}: grows during the {large.images}-image run, "
                         f"{early:.0f} MB early -> {late:.0f} MB late")
    return {
        "small_images": small.images, "large_images": large.images,
        "small_peak_rss_mb": small.peak_rss_mb, "large_peak_rss_mb": large.peak_rss_mb,
        "small_peak_pss_mb": small.peak_pss_mb, "large_peak_pss_mb": large.peak_pss_mb,
        "ratio": ratio, "pss_ratio": pss_ratio,
        "verdict": "PASS" if ratio <= MEMORY_TARGET else "FAIL",
        "growth_notes": notes,
    }


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    width, height = args.size
    notes: list[str] = []
    pool = ensure_images(args.cache_dir, width, height, args.count)
    small_dir = input_folder(args.cache_dir, pool, args.small)
    large_dir = input_folder(args.cache_dir, pool, args.count)
    warm_dir = input_folder(args.cache_dir, pool, args.warmup) if args.warmup else None

    rembg = RembgEnv(args.rembg_venv)
    rembg_tool: str | None = None
    if args.no_rembg:
        notes.append("rembg comparison skipped (--no-rembg)")
    elif rembg.missing():
        notes.append(f"rembg comparison skipped: {', '.join(rembg.missing())} missing "
                     "(run bench/setup_rembg.sh)")
    else:
        rembg_tool = f"rembg {rembg.version()}"

    args.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="batch-bench-", dir=args.work_dir))
    config = {
        "count": args.count, "small": args.small, "jobs": args.jobs, "width": width,
        "height": height, "format": args.format, "model": args.model,
        "interval_s": args.interval, "warmup": args.warmup,
        "lampyris_args": args.lampyris_args, "cache_dir": str(pool),
        "scratch_dir": str(scratch),
        "input_bytes_small": sum(p.stat().st_size for p in small_dir.iterdir()),
    }
    runs: list[Run] = []
    try:
        if warm_dir is not None:
            console.print(f"warm-up (unmeasured): {args.warmup} images per tool")
            lampyris_run("warm-up", warm_dir, args.warmup, scratch, args, measured=False)
            if rembg_tool:
                rembg_run("warm-up", warm_dir, args.warmup, scratch, rembg, args, rembg_tool,
                          measured=False)
        runs.append(lampyris_run(f"{args.small}", small_dir, args.small, scratch, args))
        if rembg_tool:
            runs.append(rembg_run(f"{args.small}", small_dir, args.small, scratch, rembg, args,
                                  rembg_tool))
        if args.count != args.small:
            runs.append(lampyris_run(f"{args.count}", large_dir, args.count, scratch, args))
    finally:
        if args.keep:
            console.print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    lamp = [r for r in runs if r.tool == "lampyris batch"]
    memory = memory_verdict(lamp[0], lamp[-1]) if len(lamp) == 2 else None
    rembg_row = next((r for r in runs if r.tool.startswith("rembg")), None)
    speedup = (lamp[0].images_per_second / rembg_row.images_per_second
               if rembg_row is not None and rembg_row.images_per_second else None)
    return {
        "config": config,
        "runs": [asdict(r) for r in runs],
        "memory": memory,
        "speedup_vs_rembg_small": speedup,
        "notes": notes,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000,
                        help="images in the large run (default 10000)")
    parser.add_argument("--small", type=int, default=1_000,
                        help="images in the small run, the first of the large set; rembg runs "
                             "on these (default 1000)")
    parser.add_argument("--jobs", type=int, default=available_cores(),
                        help=f"lampyris batch --jobs (default: cores = {available_cores()})")
    parser.add_argument("--size", type=parse_size, default=(128, 96),
                        help="image size WxH (default 128x96)")
    parser.add_argument("--format", choices=("png", "webp"), default="png",
                        help="lampyris output format (default png, what rembg writes)")
    parser.add_argument("--model", default="u2netp", help="model for both tools (default u2netp)")
    parser.add_argument("--interval", type=float, default=0.2,
                        help="seconds between memory samples (default 0.2)")
    parser.add_argument("--warmup", type=int, default=8,
                        help="images in the unmeasured warm-up run per tool (default 8; 0: none)")
    parser.add_argument("--no-rembg", action="store_true", help="skip the rembg comparison")
    parser.add_argument("--rembg-venv", type=Path, default=DEFAULT_REMBG_VENV,
                        help="virtualenv made by setup_rembg.sh (default .venv-rembg)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR,
                        help=f"generated images, kept between runs (default {DEFAULT_CACHE_DIR})")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR,
                        help="where the temporary outputs and ledgers go (removed at the end; "
                             f"default {DEFAULT_WORK_DIR})")
    parser.add_argument("--lampyris-args", default="",
                        help='extra flags for lampyris batch, e.g. --lampyris-args="--mirror-pass '
                             'never" (note the =)')
    parser.add_argument("--keep", action="store_true",
                        help="keep the outputs, ledgers, summaries and logs")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this path")
    args = parser.parse_args(argv)
    if args.count < 1 or args.small < 1 or args.small > args.count:
        parser.error("need 1 <= --small <= --count")
    if args.jobs < 1 or args.interval <= 0 or args.warmup < 0:
        parser.error("--jobs must be >= 1, --interval > 0, --warmup >= 0")
    args.warmup = min(args.warmup, args.count)
    args.lampyris_args = shlex.split(args.lampyris_args)
    args.cache_dir = args.cache_dir.resolve()
    args.work_dir = args.work_dir.resolve()
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, Any] = {
        "benchmark": "batch",
        "machine": machine_info(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
    }
    with sigterm_as_interrupt():
        try:
            report = benchmark(args)
        except KeyboardInterrupt:
            console.print("[red]interrupted: the run under test was stopped, scratch removed[/]")
            return 130
    results.update(report)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    print_report(results)
    write_results(args.json, results)
    problems = [f"{r['label']} {r['tool']}: {r['output_problem']}" for r in results["runs"]
                if r["output_problem"]]
    if problems:
        for problem in problems:
            console.print(f"[red]error:[/] {problem}")
        return 1
    memory = results.get("memory")
    return 0 if memory is None or memory["verdict"] == "PASS" else 2


if __name__ == "__main__":
    sys.exit(main())
