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

Usage::

    .venv/bin/python bench/scale_bench.py memory                        # 1,000 + 10,000
    .venv/bin/python bench/scale_bench.py memory --counts 500,5000 --jobs 2 --json out.json
    .venv/bin/python bench/scale_bench.py memory --backend ray          # once Ray runs here
    .venv/bin/python bench/scale_bench.py driver --counts 1000,10000,100000,1000000

Needs the Ceph packages (``scripts/install-test-services.sh``). Everything it makes (the
cluster, the ledgers, summaries and logs) is under a temporary folder removed at the end.
Exit status: 0, 1 when a run did not process every input, 2 when the memory target is missed.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
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
    args = parser.parse_args()
    if args.command == "driver" and args.child is not None:
        driver_child(args.child, args.work_dir)
        return 0
    return driver(args) if args.command == "driver" else memory(args)


if __name__ == "__main__":
    sys.exit(main())
