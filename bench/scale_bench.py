"""Does the batch driver's memory stay flat as the number of inputs grows? (issue 16)

``memory`` starts a throw-away Ceph cluster with an S3 gateway (``tests/support/ceph.py``, the
one the integration tests use), puts ``--counts`` tiny generated PNGs (default 1,000 then
10,000, 24×24) under one prefix each in a bucket, and runs ``lampyris batch s3://… s3://…``
on each as a subprocess, with a cheap step (``--steps auto_tone``) so the run is about the
driver, not the pixels. It samples the driver process's resident set every ``--interval``
seconds (psutil; the driver only, not its worker processes) and reads the kernel's high-water
mark (``VmHWM``) alongside. The target: the peak at the largest count within 10 % of the peak
at the smallest.

``driver`` measures the runner alone, for counts no real run here reaches in minutes: each
count in a fresh process, ``BatchRunner`` over that many empty files in local folders of
``--per-folder`` with an instant backend (every item "done" at once, nothing read or
written), so what grows is the listing, the naming, the spool, the ledger and the run loop,
and nothing else. It reports the resident set after the imports, the kernel's high-water
mark, and the growth between them.

``throughput`` runs ``lampyris batch IN OUT`` (cutout, JPEG in, PNG out) on the same folders
of 2 MP and 12 MP JPEGs (made from the carvana photos of ../shared/bench, as cutout_bench's)
with ``--backend local`` and ``--backend ray`` (a Ray the driver starts on this machine), in
alternating order, and reports each backend's batch seconds (the run: listing to last output;
Ray's start-up is in the process seconds beside it), Ray's per-image overhead, and the sizing
table of docs/deploy.md from the ray backend's rate per core. Ray listens on every interface,
so this mode re-runs itself inside a loopback-only network namespace (``unshare -n``; root).

Usage::

    .venv/bin/python bench/scale_bench.py memory                        # 1,000 + 10,000
    .venv/bin/python bench/scale_bench.py memory --counts 500,5000 --jobs 2 --json out.json
    .venv/bin/python bench/scale_bench.py memory --backend ray          # once Ray runs here
    .venv/bin/python bench/scale_bench.py driver --counts 1000,10000,100000,1000000
    .venv/bin/python bench/scale_bench.py throughput --count 20 --repeat 2

Needs the Ceph packages (``scripts/install-test-services.sh``). Everything it makes (the
cluster, the ledgers, summaries and logs) is under a temporary folder removed at the end.
Exit status: 0, 1 when a run did not process every input, 2 when the memory target is missed.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from _common import (
    ROOT,
    import_lampyris,
    lampyris_command,
    lampyris_env,
    machine_info,
    markdown_table,
    sigterm_as_interrupt,
    write_results,
)

sys.path.insert(0, str(ROOT / "tests"))

from cutout_bench import DEFAULT_SEG_DIR, DEFAULT_WORK_DIR, build_jpeg_folder, measure
from support import s3
from support.ceph import CephS3, start_ceph

MB = 2**20
TARGET_RATIO = 1.10
BUCKET = "scale-bench"


def tiny_png(i: int, size: int) -> bytes:
    """Image ``i``: a distinct flat colour with a lighter square, written by hand (zlib + CRC)
    so generating 10,000 takes no imaging library and well under a second."""
    r, g, b = (i * 37) % 256, (i * 101) % 256, (i * 53 + 40) % 256
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter: none
        for x in range(size):
            inside = size // 4 <= x < 3 * size // 4 and size // 4 <= y < 3 * size // 4
            row += bytes((min(255, r + 60), min(255, g + 60), min(255, b + 60)) if inside
                         else (r, g, b))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return len(data).to_bytes(4, "big") + kind + data + crc.to_bytes(4, "big")

    header = size.to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])  # 8-bit RGB
    out = io.BytesIO()
    out.write(b"\x89PNG\r\n\x1a\n")
    out.write(chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    return out.getvalue()


def upload(server: CephS3, prefix: str, count: int, size: int) -> float:
    """Put ``count`` images under ``prefix``; seconds taken."""
    client = s3.client_for(server)
    start = time.perf_counter()

    def put(i: int) -> None:
        s3.put_object(client, BUCKET, f"{prefix}/img-{i:07d}.png", tiny_png(i, size),
                      content_type="image/png")

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(put, range(count)))
    return time.perf_counter() - start


def _hwm_mb(process: psutil.Process) -> float | None:
    """The kernel's high-water mark of ``process``'s resident set (Linux), in MB."""
    try:
        with open(f"/proc/{process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / MB
    except OSError:
        pass
    return None


def run_batch(server: CephS3, count: int, args: argparse.Namespace, work: Path
              ) -> dict[str, Any]:
    """One ``lampyris batch`` over ``count`` inputs; its wall time, the driver's peak RSS."""
    ledger = work / f"ledger-{count}.db"
    log = work / f"batch-{count}.log"
    command = [
        *lampyris_command(), "batch", f"s3://{BUCKET}/in-{count}/", f"s3://{BUCKET}/out-{count}/",
        "--steps", args.steps, "--backend", args.backend, "--jobs", str(args.jobs),
        "--storage-option", f"s3.endpoint_url={server.endpoint_url}",
        "--storage-option", f"s3.key={server.access_key}",
        "--storage-option", f"s3.secret={server.secret_key}",
        "--ledger", str(ledger), "--summary", str(work / f"summary-{count}.json"),
        "--report", str(work / f"report-{count}.html"), *args.extra,
    ]
    samples: list[float] = []
    hwm: float | None = None
    start = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                env=lampyris_env(), start_new_session=True)
        driver = psutil.Process(proc.pid)
        try:
            while proc.poll() is None:
                try:
                    samples.append(driver.memory_info().rss / MB)
                    hwm = _hwm_mb(driver) or hwm
                except psutil.Error:
                    pass  # exiting between poll() and the sample
                time.sleep(args.interval)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    seconds = time.perf_counter() - start
    summary = work / f"summary-{count}.json"
    done = None
    if summary.exists():
        done = json.loads(summary.read_text())["this_run"]["done"]
    return {"inputs": count, "seconds": seconds, "exit": proc.returncode, "done": done,
            "peak_rss_mb": max(samples, default=0.0), "vm_hwm_mb": hwm,
            "samples": len(samples), "log_tail": log.read_text(errors="replace")[-2000:]}


def memory(args: argparse.Namespace) -> int:
    counts = [int(c) for c in args.counts.split(",")]
    work = Path(tempfile.mkdtemp(prefix="lampyris-scale-", dir=args.work_dir))
    server: CephS3 | None = None
    results: dict[str, Any] = {"machine": machine_info(), "backend": args.backend,
                               "jobs": args.jobs, "steps": args.steps, "runs": []}
    try:
        with sigterm_as_interrupt():
            server = start_ceph()
            s3.create_bucket(s3.client_for(server), BUCKET)
            for count in counts:
                seconds = upload(server, f"in-{count}", count, args.size)
                print(f"uploaded {count} images in {seconds:.1f} s", flush=True)
            for count in counts:
                run = run_batch(server, count, args, work)
                results["runs"].append(run)
                print(f"{count} inputs: {run['seconds']:.1f} s, peak driver RSS "
                      f"{run['peak_rss_mb']:.1f} MB (exit {run['exit']}, done {run['done']})",
                      flush=True)
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    runs = results["runs"]
    base = runs[0]["peak_rss_mb"] if runs else 0.0
    rows = [[f"{r['inputs']:,}", f"{r['seconds']:.1f}", f"{r['peak_rss_mb']:.1f}",
             "-" if r["vm_hwm_mb"] is None else f"{r['vm_hwm_mb']:.1f}",
             f"{r['peak_rss_mb'] / base:.2f}" if base else "-"] for r in runs]
    print()
    print(markdown_table(["inputs", "seconds", "peak driver RSS MB", "VmHWM MB",
                          f"ratio vs {counts[0]:,}"], rows))
    ratio = runs[-1]["peak_rss_mb"] / base if base and runs else None
    results["ratio"] = ratio
    write_results(args.json, results)
    failed = [r for r in runs if r["exit"] != 0 or r["done"] != r["inputs"]]
    for r in failed:
        print(f"\n{r['inputs']} inputs: exit {r['exit']}, done {r['done']}\n{r['log_tail']}")
    if failed:
        return 1
    if ratio is not None:
        verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        print(f"\nratio {counts[-1]:,}/{counts[0]:,}: {ratio:.2f} ({verdict}, target "
              f"<= {TARGET_RATIO})")
        return 0 if ratio <= TARGET_RATIO else 2
    return 0


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024 / MB
    raise KeyError(field)


def make_files(source: Path, count: int, per_folder: int) -> None:
    """``count`` empty ``.png`` files below ``source``, ``per_folder`` to a folder."""
    for i in range(count):
        if i % per_folder == 0:
            folder = source / f"f-{i // per_folder:05d}"
            folder.mkdir(parents=True)
        (folder / f"img-{i:07d}.png").touch()


def driver_child(count: int, work: Path) -> None:
    """One count, in this (fresh) process: print the measurements as JSON."""
    import_lampyris()
    from concurrent.futures import Future

    from lampyris.storage.locations import Location
    from lampyris.workflows.batch import BatchRunner, BatchSpec
    from lampyris.workflows.item import ItemOutcome, WorkItem
    from lampyris.workflows.ledger import Ledger
    from lampyris.workflows.steps import make_steps

    class Instant:
        """Every item done at once: the driver's own cost, and nothing else."""

        name, capacity = "instant", 4

        def submit(self, item: WorkItem) -> Future[ItemOutcome]:
            done: Future[ItemOutcome] = Future()
            done.set_result(ItemOutcome(True, "0" * 64, timings={"read": 0.001},
                                        details={"output_bytes": 1, "width": 24}))
            return done

        def close(self, *, cancel: bool = False) -> None:
            pass

    source = work / f"in-{count}"
    spec = BatchSpec(Location(str(source)), Location(str(work / f"out-{count}")),
                     tuple(make_steps([("auto_tone", {})])), settle=0.0)
    baseline = _status_mb("VmRSS")
    start = time.perf_counter()
    with Ledger(work / f"ledger-{count}.db") as ledger:
        summary = BatchRunner(spec, ledger, Instant()).run()
    seconds = time.perf_counter() - start
    print(json.dumps({"inputs": count, "done": summary.done, "seconds": seconds,
                      "baseline_mb": baseline, "peak_mb": _status_mb("VmHWM")}))


def driver(args: argparse.Namespace) -> int:
    counts = [int(c) for c in args.counts.split(",")]
    work = Path(tempfile.mkdtemp(prefix="lampyris-scale-", dir=args.work_dir))
    runs = []
    try:
        for count in counts:
            make_files(work / f"in-{count}", count, args.per_folder)  # not in the measured one
            done = subprocess.run([sys.executable, __file__, "driver", "--child", str(count),
                                   "--work-dir", str(work)], capture_output=True, text=True,
                                  env=lampyris_env(), check=False)
            if done.returncode != 0:
                print(done.stderr)
                return 1
            run = json.loads(done.stdout.strip().splitlines()[-1])
            runs.append(run)
            growth = run["peak_mb"] - run["baseline_mb"]
            print(f"{count} inputs: {run['seconds']:.1f} s, {growth:+.1f} MB", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [[f"{r['inputs']:,}", f"{r['seconds']:.1f}", f"{r['baseline_mb']:.1f}",
             f"{r['peak_mb']:.1f}", f"{r['peak_mb'] - r['baseline_mb']:+.1f}",
             f"{r['peak_mb'] / runs[0]['peak_mb']:.2f}"] for r in runs]
    print()
    print(markdown_table(["inputs", "seconds", "RSS after imports MB", "peak MB", "growth MB",
                          f"peak vs {counts[0]:,}"], rows))
    write_results(args.json, {"machine": machine_info(), "runs": runs})
    return 0


# --------------------------------------------------------------------------------------------
# throughput: the local backend vs the ray backend, same images, same run
# --------------------------------------------------------------------------------------------

SIZING_UTILISATION = 0.7  # a node busy 70 % of the day: queues, uploads, restarts
SIZING_NODE_CORES = (2, 16, 64)
SIZING_DAILY = (100_000, 1_000_000)


def in_loopback_namespace() -> bool:
    """Only ``lo``: Ray, which listens on every interface, can run here without exposure."""
    return sorted(name for _, name in socket.if_nameindex()) == ["lo"]


def reexec_in_loopback_namespace(argv: Sequence[str]) -> None:
    """Run this script again inside ``unshare -n`` (root only), where Ray sees only loopback."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        raise SystemExit("the ray backend is measured inside a loopback-only network namespace "
                         "(Ray listens on every interface): run this as root, or inside "
                         "`unshare -n` yourself")
    inner = shlex.join([sys.executable, str(Path(__file__).resolve()), *argv])
    os.execvp("unshare", ["unshare", "-n", "sh", "-c", f"ip link set lo up && exec {inner}"])


@dataclass
class BackendRun:
    backend: str
    size: str
    count: int
    wall_seconds: float  # the whole process: start-up (Ray's included) to exit
    batch_seconds: float  # the run itself, from the summary: listing to the last output
    peak_tree_rss_mb: float

    @property
    def rate(self) -> float:
        return self.count / self.batch_seconds


def run_backend(backend: str, folder: Path, count: int, size: str, work: Path, jobs: int,
                rep: int) -> BackendRun:
    out = work / f"out-{backend}-{size}-{rep}"
    shutil.rmtree(out, ignore_errors=True)
    records = work / f"{backend}-{size}-{rep}"
    for suffix in (".ledger.db", ".summary.json", ".report.html"):
        Path(f"{records}{suffix}").unlink(missing_ok=True)
    command = [*lampyris_command(), "batch", str(folder), str(out), "--backend", backend,
               "--jobs", str(jobs), "--settle", "0", "--ledger", f"{records}.ledger.db"]
    run = measure(command, lampyris_env(), work / "logs" / f"{backend}-{size}-{rep}.log")
    if run.returncode != 0:
        raise SystemExit(f"{backend} run failed ({run.returncode}): see {run.log}")
    summary = json.loads(Path(f"{records}.summary.json").read_text())["this_run"]
    if summary["done"] != count:
        raise SystemExit(f"{backend}: {summary['done']} of {count} done: see {run.log}")
    return BackendRun(backend, size, count, run.seconds, summary["seconds"],
                      run.peak_tree_rss_mb)


def sizing(rates: dict[str, float], jobs: int) -> list[dict[str, Any]]:
    """Nodes needed per day's volume, from the measured per-core rate of the ray backend."""
    rows = []
    for size, rate in rates.items():
        per_core_day = rate / jobs * 86400 * SIZING_UTILISATION
        for daily in SIZING_DAILY:
            row: dict[str, Any] = {"size": size, "images_per_day": daily,
                                   "per_core_per_day": round(per_core_day)}
            for cores in SIZING_NODE_CORES:
                row[f"nodes_{cores}_cores"] = math.ceil(daily / (per_core_day * cores))
            rows.append(row)
    return rows


def cmd_throughput(args: argparse.Namespace) -> dict[str, Any]:
    if not in_loopback_namespace():
        reexec_in_loopback_namespace(sys.argv[1:])
    work = Path(args.work_dir)
    runs: list[BackendRun] = []
    for size in args.sizes:
        folder = build_jpeg_folder(work, args.seg_dir, size, args.count)
        for rep in range(args.repeat):
            order = ("local", "ray") if rep % 2 == 0 else ("ray", "local")
            for backend in order:
                run = run_backend(backend, folder, args.count, size, work, args.jobs, rep)
                print(f"  {size} {backend:5s} rep {rep}: batch {run.batch_seconds:6.2f} s, "
                      f"process {run.wall_seconds:6.2f} s, peak tree RSS "
                      f"{run.peak_tree_rss_mb:,.0f} MB", flush=True)
                runs.append(run)
    print(f"\n### Local vs Ray backend (cutout, {args.count} JPEGs per size, --jobs {args.jobs},"
          f" {args.repeat} runs each, medians)\n")
    print("| size | backend | batch s | images/s | process s (start-up included) | "
          "per-image overhead |")
    print("|---|---|---|---|---|---|")
    rates: dict[str, float] = {}
    table = []
    for size in args.sizes:
        median = {b: statistics.median(r.batch_seconds for r in runs
                                       if r.size == size and r.backend == b)
                  for b in ("local", "ray")}
        wall = {b: statistics.median(r.wall_seconds for r in runs
                                     if r.size == size and r.backend == b)
                for b in ("local", "ray")}
        overhead = median["ray"] / median["local"] - 1
        rates[size] = args.count / median["ray"]
        for backend in ("local", "ray"):
            extra = f"{overhead:+.1%}" if backend == "ray" else ""
            print(f"| {size} | {backend} | {median[backend]:.2f} | "
                  f"{args.count / median[backend]:.2f} | {wall[backend]:.1f} | {extra} |")
        table.append({"size": size, "local_s": median["local"], "ray_s": median["ray"],
                      "local_wall_s": wall["local"], "ray_wall_s": wall["ray"],
                      "overhead": overhead})
    plan = sizing(rates, args.jobs)
    print(f"\n### Sizing from the ray backend's rate ({SIZING_UTILISATION:.0%} busy)\n")
    head = " | ".join(f"nodes of {c} cores" for c in SIZING_NODE_CORES)
    print(f"| size | images a day | per core a day | {head} |")
    print("|---|---|---|" + "---|" * len(SIZING_NODE_CORES))
    for row in plan:
        cells = " | ".join(str(row[f"nodes_{c}_cores"]) for c in SIZING_NODE_CORES)
        print(f"| {row['size']} | {row['images_per_day']:,} | {row['per_core_per_day']:,} | "
              f"{cells} |")
    return {"runs": [asdict(r) for r in runs], "table": table, "sizing": plan}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    mem = sub.add_parser("memory", help="peak driver RSS at each count of inputs")
    mem.add_argument("--counts", default="1000,10000", help="input counts, comma-separated")
    mem.add_argument("--backend", default="local", help="lampyris batch --backend")
    mem.add_argument("--jobs", type=int, default=2, help="lampyris batch --jobs")
    mem.add_argument("--steps", default="auto_tone", help="lampyris batch --steps (cheap)")
    mem.add_argument("--size", type=int, default=24, help="image side in pixels")
    mem.add_argument("--interval", type=float, default=0.05, help="RSS sampling period, s")
    mem.add_argument("--work-dir", type=Path, default=None, help="for the temporary folder")
    mem.add_argument("--keep", action="store_true", help="keep ledgers, summaries, logs")
    mem.add_argument("--json", type=Path, default=None, help="write the results here")
    mem.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                     help="further lampyris batch options (last on the line)")
    drv = sub.add_parser("driver", help="the runner alone, instant backend, local files")
    drv.add_argument("--counts", default="1000,10000,100000", help="comma-separated")
    drv.add_argument("--per-folder", type=int, default=1000,
                     help="files per folder (a folder's names are held while it is walked)")
    drv.add_argument("--work-dir", type=Path, default=None, help="for the temporary folder")
    drv.add_argument("--json", type=Path, default=None, help="write the results here")
    drv.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    tp = sub.add_parser("throughput", help="local vs ray backend, same images, same run")
    tp.add_argument("--sizes", type=lambda v: v.split(","), default=["2mp", "12mp"],
                    help="comma-separated: 2mp, 12mp")
    tp.add_argument("--count", type=int, default=20, help="images per size")
    tp.add_argument("--repeat", type=int, default=2, help="runs per backend (order alternates)")
    tp.add_argument("--jobs", type=int, default=2, help="workers per backend")
    tp.add_argument("--seg-dir", type=Path, default=DEFAULT_SEG_DIR)
    tp.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    tp.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    if args.command == "throughput":
        write_results(args.json, {"machine": machine_info(), **cmd_throughput(args)})
        return 0
    if args.command == "driver" and args.child is not None:
        driver_child(args.child, args.work_dir)
        return 0
    return driver(args) if args.command == "driver" else memory(args)


if __name__ == "__main__":
    sys.exit(main())
