"""Load-test ``lampyris serve``: concurrent clients submitting 1 MP cutouts for a fixed time.

What it does, in order:

1. generates one product-like JPEG (default 1155x866, ~1 MP: a shaded coloured bottle and box on
   a light, textured, noisy background, so it neither compresses to nothing nor is trivial to
   cut out) and serves it from a small HTTP server inside this process, on 127.0.0.1, which
   also takes the Sensei route's PUT uploads (bodies are counted, checked for the PNG
   signature and dropped);
2. starts a fresh ``lampyris serve`` subprocess in its own process group: temporary data dir,
   free port, ``--workers 2``, rate limit off, loopback URLs allowed;
3. warm-up: a few jobs per client, unmeasured (workers start and load the model lazily);
4. load phase: ``--clients`` threads, each submit -> poll the status every ``--poll`` seconds
   until ``succeeded`` -> next, for ``--seconds``. Jobs/s, p50/p99 submit-to-succeeded
   latency, errors (anything that is not ``succeeded``, any non-2xx, any missing or non-PNG
   output: must be 0), server RSS summed over its process tree after the warm-up and at the
   end (target: under 10 % growth);
5. single-client phase: ``--single-jobs`` jobs one after another, for the latency of one job
   on an otherwise idle server;
6. stops the server (and everything in its process group, whatever happens: Ctrl-C and errors
   included);
7. rembg side by side (``--rembg on``, the default when ``--rembg-venv``, i.e. .venv-rembg made
   by bench/setup_rembg.sh, exists): starts ``rembg s`` from that virtualenv in its own process
   group (free port, no UI, offline: u2netp from the venv's U2NET_HOME, no checksum/download),
   sends one priming request, warms up with ``--warmup`` requests per client, then runs the
   same ``--clients`` threads for the same ``--seconds``, each POSTing the same JPEG to
   ``/api/remove`` (model u2netp) back to back; a job is completed on a 200 with a PNG body,
   anything else is an error. Jobs/s, p50/p99 request latency, errors and its process tree's
   RSS after the warm-up and at the end; then stops it (group killed, whatever happens). The
   report gives lampyris jobs/s / rembg jobs/s, both measured in this one run;
8. times the op in this process exactly as one worker runs it (same image, same params,
   cores/workers threads): decode + cutout + PNG encode, median of ``--direct-runs``.
   Single-client latency minus that direct time is the server's per-job overhead.

Run with lampyris's environment: ``.venv/bin/python bench/server_bench.py --seconds 60``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

import cv2
import httpx
import numpy as np
import psutil
from rich.console import Console
from rich.table import Table

from _common import (
    ROOT,
    RembgEnv,
    available_cores,
    import_lampyris,
    kill_group,
    lampyris_command,
    lampyris_env,
    machine_info,
    sigterm_as_interrupt,
    tree_processes,
    write_results,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_QUALITY = 90
RSS_GROWTH_TARGET = 0.10
RATIO_TARGET = 2.0  # lampyris completed jobs/s over rembg s's, same run
JOB_TIMEOUT_SECONDS = 120.0
RSS_SAMPLE_SECONDS = 1.0
HEALTH_TIMEOUT_SECONDS = 90.0
STOP_GRACE_SECONDS = 20.0
DEFAULT_REMBG_VENV = ROOT / ".venv-rembg"
REMBG_MODEL = "u2netp"  # the model lampyris's cutout runs; the one setup_rembg.sh places

console = Console()


# --------------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------
# The input image
# --------------------------------------------------------------------------------------------


def size_for(megapixels: float) -> tuple[int, int]:
    """(width, height) of a 4:3 image of about ``megapixels``: 1.0 -> 1155x866."""
    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    return width, round(width * 3 / 4)


def product_photo(width: int, height: int, seed: int = 7) -> np.ndarray:
    """A studio-like product shot (BGR uint8): light textured backdrop, soft shadow, a shaded
    teal bottle with a label and a red box in front. Sensor-like noise everywhere keeps the JPEG
    from being trivially compressible."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    # Backdrop: warm light grey, brighter at the top, with a faint paper texture.
    base = 236 - 22 * (ys / height) - 8 * ((xs / width) - 0.5) ** 2
    texture = cv2.GaussianBlur(rng.normal(0, 6, (height, width)).astype(np.float32), (0, 0), 3)
    image = np.stack([base - 6, base - 2, base], axis=-1) + texture[..., None]

    s = min(width, height) / 866.0
    cx, floor = width * 0.45, height * 0.84
    # Soft contact shadow on the floor.
    shadow = np.zeros((height, width), np.float32)
    cv2.ellipse(shadow, (int(cx + 60 * s), int(floor)), (int(260 * s), int(30 * s)), 0, 0, 360,
                1.0, -1)
    shadow = cv2.GaussianBlur(shadow, (0, 0), 18 * s)
    image *= (1 - 0.35 * shadow)[..., None]

    # Bottle: rounded body + neck + cap, shaded left to right like a cylinder.
    bottle = np.zeros((height, width), np.uint8)
    bw, top = int(110 * s), int(floor - 520 * s)
    cv2.rectangle(bottle, (int(cx - bw), int(top + 140 * s)), (int(cx + bw), int(floor - 30 * s)),
                  255, -1)
    cv2.ellipse(bottle, (int(cx), int(floor - 30 * s)), (bw, int(30 * s)), 0, 0, 180, 255, -1)
    cv2.ellipse(bottle, (int(cx), int(top + 140 * s)), (bw, int(70 * s)), 0, 180, 360, 255, -1)
    cv2.rectangle(bottle, (int(cx - 38 * s), int(top)), (int(cx + 38 * s), int(top + 90 * s)),
                  255, -1)
    shade = np.clip(1.0 - ((xs - cx) / (bw * 1.15)) ** 2, 0.15, 1.0) ** 0.6
    teal = np.stack([150 * shade, 120 * shade, 25 * shade + 10], axis=-1)
    highlight = np.exp(-(((xs - (cx - 0.45 * bw)) / (14 * s)) ** 2))[..., None] * 90
    body = teal + highlight
    mask = bottle.astype(bool)
    image[mask] = body[mask]
    # Cap and label.
    cv2.rectangle(image, (int(cx - 42 * s), int(top - 50 * s)), (int(cx + 42 * s), int(top)),
                  (40, 40, 45), -1)
    label = (slice(int(top + 250 * s), int(top + 400 * s)), slice(int(cx - bw), int(cx + bw)))
    image[label] = np.stack([225 * shade, 232 * shade, 240 * shade], axis=-1)[label]
    for row in range(3):
        y = int(top + 285 * s + row * 38 * s)
        cv2.line(image, (int(cx - 70 * s), y), (int(cx + (70 - 25 * row) * s), y), (60, 50, 40),
                 max(2, int(9 * s)))

    # A red box in front, right of the bottle, with a lit top face.
    bx0, by0 = int(cx + 80 * s), int(floor - 230 * s)
    bx1, by1 = int(cx + 330 * s), int(floor)
    image[by0:by1, bx0:bx1] = (40, 45, 190)
    top_face = np.array([[bx0, by0], [bx1, by0], [bx1 - int(40 * s), by0 - int(45 * s)],
                         [bx0 - int(40 * s), by0 - int(45 * s)]], np.int32)
    cv2.fillPoly(image, [top_face], (90, 95, 230))
    side = np.array([[bx0, by0], [bx0 - int(40 * s), by0 - int(45 * s)],
                     [bx0 - int(40 * s), by1 - int(45 * s)], [bx0, by1]], np.int32)
    cv2.fillPoly(image, [side], (25, 28, 130))

    image += rng.normal(0, 4, image.shape).astype(np.float32)  # sensor noise
    return np.clip(image, 0, 255).astype(np.uint8)


def jpeg_bytes(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("could not encode the input JPEG")
    return data.tobytes()


# --------------------------------------------------------------------------------------------
# Local storage: serves the input, takes the Sensei outputs
# --------------------------------------------------------------------------------------------


@dataclass
class Upload:
    size: int
    png: bool


class LocalStorage:
    """``GET /input.jpg`` and ``PUT /out/<name>`` on 127.0.0.1, in a thread of this process."""

    def __init__(self, image: bytes) -> None:
        self.image = image
        self.lock = threading.Lock()
        self.uploads: dict[str, Upload] = {}
        self.gets = 0
        self.bad_requests = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="bench-storage",
                                       daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> LocalStorage:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def upload(self, name: str) -> Upload | None:
        with self.lock:
            return self.uploads.get(name)

    def total_uploaded(self) -> tuple[int, int]:
        with self.lock:
            return len(self.uploads), sum(u.size for u in self.uploads.values())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        storage = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/input.jpg":
                    self._answer(404)
                    return
                with storage.lock:
                    storage.gets += 1
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(storage.image)))
                self.end_headers()
                self.wfile.write(storage.image)

            def do_PUT(self) -> None:
                path = self.path.split("?")[0]
                if not path.startswith("/out/"):
                    self._answer(404)
                    return
                size, head = self._drain()
                with storage.lock:
                    storage.uploads[path[len("/out/"):]] = Upload(size, head == PNG_SIGNATURE)
                self._answer(200)

            def _drain(self) -> tuple[int, bytes]:
                """Read (and drop) the body; returns its size and first 8 bytes."""
                head, size = b"", 0
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    while True:
                        length = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if length == 0:
                            self.rfile.readline()
                            break
                        chunk = self.rfile.read(length)
                        self.rfile.readline()
                        head = (head + chunk[:8])[:8] if len(head) < 8 else head
                        size += len(chunk)
                    return size, head
                remaining = int(self.headers.get("Content-Length", "0"))
                while remaining:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    if not chunk:
                        break
                    head = (head + chunk[:8])[:8] if len(head) < 8 else head
                    size += len(chunk)
                    remaining -= len(chunk)
                return size, head

            def _answer(self, status: int) -> None:
                if status >= 400:
                    with storage.lock:
                        storage.bad_requests += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


# --------------------------------------------------------------------------------------------
# The server under test
# --------------------------------------------------------------------------------------------


def tree_memory(root: psutil.Process) -> list[dict[str, Any]]:
    """RSS and PSS (MB) and CPU seconds so far of ``root`` and each of its descendants, with a
    guessed role."""
    rows = []
    for proc in tree_processes(root):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            info = proc.memory_full_info()
            cpu = proc.cpu_times()
            cmdline = " ".join(proc.cmdline())
            if proc.pid == root.pid:
                role = "server"
            elif "resource_tracker" in cmdline:
                role = "resource tracker"
            elif "forkserver" in cmdline and proc.ppid() == root.pid:
                role = "forkserver"
            else:
                role = "worker"
            rows.append({"pid": proc.pid, "role": role, "rss_mb": info.rss / 2**20,
                         "pss_mb": info.pss / 2**20, "cpu_s": cpu.user + cpu.system})
    return rows


def cpu_by_role(start: list[dict[str, Any]], end: list[dict[str, Any]]) -> dict[str, float]:
    """CPU seconds each role used between two ``tree_memory`` snapshots (matched by pid)."""
    before = {r["pid"]: r["cpu_s"] for r in start}
    used: dict[str, float] = {}
    for row in end:
        used[row["role"]] = used.get(row["role"], 0.0) + row["cpu_s"] - before.get(row["pid"], 0.0)
    return {k: round(v, 2) for k, v in sorted(used.items())}


def total(rows: list[dict[str, Any]], key: str = "rss_mb") -> float:
    return sum(r[key] for r in rows)


class Server:
    """A ``lampyris serve`` subprocess in its own process group, stopped (group and all) by
    ``stop()`` whatever state it is in."""

    def __init__(self, data_dir: Path, workers: int, log_level: str) -> None:
        self.data_dir = data_dir
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        self.env = lampyris_env()
        self.env.update({
            "LAMPYRIS_RATE_LIMIT_PER_MINUTE": "0",
            "LAMPYRIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8",
        })
        self.log_level = log_level
        self.popen: subprocess.Popen[bytes] | None = None
        self.exit_code: int | None = None
        self.killed = False

    def add_client(self, name: str) -> tuple[str, str]:
        out = subprocess.run(
            [*lampyris_command(), "clients", "add", name, "--data-dir", str(self.data_dir),
             "--json"],
            env=self.env, check=True, capture_output=True, text=True,
        ).stdout
        data = json.loads(out.strip().splitlines()[-1])
        return data["client_id"], data["client_secret"]

    def start(self) -> None:
        command = [*lampyris_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--data-dir", str(self.data_dir), "--workers", str(self.workers),
                   "--log-level", self.log_level]
        self.launch(command, "/health", "server")

    def launch(self, command: list[str], ready_path: str, name: str) -> None:
        """Start ``command`` in its own session and wait until ``ready_path`` answers 200."""
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(command, env=self.env, stdout=log,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {self.popen.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}{ready_path}", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{name} not answering after {HEALTH_TIMEOUT_SECONDS:.0f}s:\n"
                           f"{self.log_tail()}")

    @property
    def process(self) -> psutil.Process:
        assert self.popen is not None
        return psutil.Process(self.popen.pid)

    def memory(self) -> list[dict[str, Any]]:
        return tree_memory(self.process)

    def stop(self) -> None:
        """SIGTERM the server (graceful: uvicorn drains, the executor stops its workers), then
        SIGKILL whatever is left in its process group."""
        if self.popen is None:
            return
        pgid = self.popen.pid  # start_new_session: the server leads its own group
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.killed = True
        self.exit_code = self.popen.poll()
        kill_group(pgid)
        if self.popen.poll() is None:
            self.popen.wait(5)
        self.popen = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_problems(self) -> list[str]:
        """Lines of the server log that say something went wrong."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        keys = ("ERROR", "Traceback", "CRITICAL", "WARNING")
        return [line for line in text.splitlines() if any(k in line for k in keys)]


class RembgServer(Server):
    """``rembg s`` from its own virtualenv, in its own process group, offline (u2netp from the
    venv's U2NET_HOME, no checksum hence no download); stopped (group and all) by ``stop()``
    whatever state it is in. Shares Server's process handling, log and memory helpers."""

    def __init__(self, rembg: RembgEnv, log_path: Path) -> None:
        self.rembg = rembg
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = rembg.env()
        # Its startup hook calls webbrowser.open(): make that a no-op rather than a console
        # browser (lynx, w3m...) that happens to be installed.
        self.env["BROWSER"] = "true"
        self.command = [str(rembg.cli), "s", "--host", "127.0.0.1", "--port", str(self.port),
                        "--log_level", "warning", "--no-ui"]
        self.popen: subprocess.Popen[bytes] | None = None
        self.exit_code: int | None = None
        self.killed = False

    def start(self) -> None:
        # No health route: its OpenAPI schema answers once uvicorn is up.
        self.launch(self.command, "/openapi.json", "rembg s")


# --------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------


@dataclass
class JobResult:
    ok: bool
    latency: float  # submit to "succeeded" seen, seconds
    finished: float  # perf_counter when "succeeded" was seen
    polls: int = 0
    submit_seconds: float | None = None  # POST -> 202
    poll_seconds: float | None = None  # mean status GET round trip
    error: str | None = None
    worker_seconds: float | None = None  # fetch + decode/op + encode + deliver (Sensei only)
    server_seconds: float | None = None  # the job row's created -> modified (finished)
    timings: dict[str, float] = field(default_factory=dict)
    output_bytes: int = 0


class Client:
    """One API client: submits a cutout, polls until it is done, checks the output."""

    def __init__(self, server_url: str, storage: LocalStorage, token: str, client_id: str,
                 route: str, poll: float, jitter: float) -> None:
        self.server_url = server_url
        self.storage = storage
        self.route = route
        self.poll = poll
        self.jitter = jitter
        self.random = random.Random()
        self.http = httpx.Client(
            timeout=60, headers={"Authorization": f"Bearer {token}", "x-api-key": client_id},
        )

    def close(self) -> None:
        self.http.close()

    def _submit(self, output_name: str) -> str:
        input_url = f"{self.storage.base_url}/input.jpg"
        if self.route == "sensei":
            body = {"input": {"href": input_url, "storage": "external"},
                    "output": {"href": f"{self.storage.base_url}/out/{output_name}",
                               "storage": "external"}}
            response = self.http.post(f"{self.server_url}/sensei/cutout", json=body)
            if response.status_code != 202:
                raise JobError(f"submit: HTTP {response.status_code} {response.text[:200]}")
            return str(response.json()["_links"]["self"]["href"])
        body = {"image": {"source": {"url": input_url}}, "output": {"mediaType": "image/png"}}
        response = self.http.post(f"{self.server_url}/v2/remove-background", json=body)
        if response.status_code != 202:
            raise JobError(f"submit: HTTP {response.status_code} {response.text[:200]}")
        return str(response.json()["statusUrl"])

    def run_job(self) -> JobResult:
        name = uuid.uuid4().hex
        start = time.perf_counter()
        polls, polling = 0, 0.0
        try:
            status_url = self._submit(name)
            submitted = time.perf_counter() - start
            while True:
                # Jittered, so the wait between a job finishing and the poll that sees it is
                # not fixed by the job's duration modulo the interval (with one client and
                # jobs of near-constant length, a fixed interval aliases to ~0 or ~a whole
                # interval).
                time.sleep(self.poll * self.random.uniform(1 - self.jitter, 1 + self.jitter))
                sent = time.perf_counter()
                response = self.http.get(status_url)
                polling += time.perf_counter() - sent
                polls += 1
                if response.status_code != 200:
                    raise JobError(f"status: HTTP {response.status_code} {response.text[:200]}")
                body = response.json()
                state = body.get("status")
                if state == "succeeded":
                    finished = time.perf_counter()
                    break
                if state not in ("pending", "running"):
                    raise JobError(f"job {state}: {json.dumps(body)[:300]}")
                if time.perf_counter() - start > JOB_TIMEOUT_SECONDS:
                    raise JobError(f"still {state} after {JOB_TIMEOUT_SECONDS:.0f}s")
            result = JobResult(ok=True, latency=finished - start, finished=finished, polls=polls,
                               server_seconds=server_seconds(body), submit_seconds=submitted,
                               poll_seconds=polling / polls)
            self._check_output(name, body, result)
            return result
        except Exception as exc:  # whatever went wrong, it is this job's error
            now = time.perf_counter()
            return JobResult(ok=False, latency=now - start, finished=now, polls=polls,
                             error=f"{type(exc).__name__}: {exc}")

    def _check_output(self, name: str, body: dict[str, Any], result: JobResult) -> None:
        """The output exists and is a PNG: received by our storage (Sensei) or downloadable
        from the server (v2, fetched after the latency was taken)."""
        if self.route == "sensei":
            upload = self.storage.upload(name)
            if upload is None:
                raise JobError("succeeded but no output was PUT")
            if not upload.png:
                raise JobError("output PUT is not a PNG")
            result.output_bytes = upload.size
            timings = (body.get("metadata") or {}).get("timings") or {}
            result.timings = {k: float(v) for k, v in timings.items()
                              if isinstance(v, int | float)}
            # The worker's disjoint stages; "ops" already holds the op's own steps (matte, …).
            stages = ("fetch", "decode", "ops", "encode", "deliver")
            if all(k in result.timings for k in stages):
                result.worker_seconds = sum(result.timings[k] for k in stages)
            return
        url = body["result"]["outputs"][0]["destination"]["url"]
        download = self.http.get(url)
        if download.status_code != 200:
            raise JobError(f"result download: HTTP {download.status_code}")
        if not download.content.startswith(PNG_SIGNATURE):
            raise JobError("result is not a PNG")
        result.output_bytes = len(download.content)


class JobError(Exception):
    pass


class JobClient(Protocol):
    def run_job(self) -> JobResult: ...

    def close(self) -> None: ...


class RembgClient:
    """One ``rembg s`` client: POSTs the JPEG to /api/remove and waits for the PNG (rembg
    answers synchronously: latency is the request's round trip)."""

    def __init__(self, server_url: str, image: bytes, model: str) -> None:
        self.url = f"{server_url}/api/remove"
        self.image = image
        self.model = model
        self.http = httpx.Client(timeout=JOB_TIMEOUT_SECONDS)

    def close(self) -> None:
        self.http.close()

    def run_job(self) -> JobResult:
        start = time.perf_counter()
        try:
            response = self.http.post(self.url,
                                      files={"file": ("input.jpg", self.image, "image/jpeg")},
                                      data={"model": self.model})
            finished = time.perf_counter()
            if response.status_code != 200:
                raise JobError(f"HTTP {response.status_code} {response.text[:200]}")
            if not response.content.startswith(PNG_SIGNATURE):
                raise JobError("response is not a PNG")
            return JobResult(ok=True, latency=finished - start, finished=finished,
                             submit_seconds=finished - start, output_bytes=len(response.content))
        except Exception as exc:  # whatever went wrong, it is this job's error
            now = time.perf_counter()
            return JobResult(ok=False, latency=now - start, finished=now,
                             error=f"{type(exc).__name__}: {exc}")


def server_seconds(status: dict[str, Any]) -> float | None:
    """How long the job took by the server's own clock: its row's ``created`` to ``modified``
    (set when it finished), both to the millisecond. Polling delay is not in it."""
    created = status.get("created") or status.get("createdTime")
    modified = status.get("modified") or status.get("modifiedTime")
    if not (isinstance(created, str) and isinstance(modified, str)):
        return None
    try:
        parse = datetime.fromisoformat
        return (parse(modified.replace("Z", "+00:00"))
                - parse(created.replace("Z", "+00:00"))).total_seconds()
    except ValueError:
        return None


def get_token(server_url: str, client_id: str, secret: str) -> str:
    response = httpx.post(f"{server_url}/ims/token/v3", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
        "scope": "openid",
    }, timeout=30)
    response.raise_for_status()
    return str(response.json()["access_token"])


def run_clients(make_client: Callable[[], JobClient], clients: int, *,
                seconds: float | None = None,
                jobs_each: int | None = None) -> tuple[list[JobResult], float, float]:
    """``clients`` threads, each running jobs back to back until ``seconds`` have passed (no new
    submit after that; jobs in flight finish) or it has done ``jobs_each``. Returns the results,
    the start and the end (perf_counter of the last completion)."""
    results: list[JobResult] = []
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = None if seconds is None else start + seconds
    stop = threading.Event()

    def loop() -> None:
        client = make_client()
        done = 0
        try:
            while not stop.is_set():
                if deadline is not None and time.perf_counter() >= deadline:
                    break
                if jobs_each is not None and done >= jobs_each:
                    break
                result = client.run_job()
                done += 1
                with lock:
                    results.append(result)
        finally:
            client.close()

    threads = [threading.Thread(target=loop, name=f"bench-client-{i}", daemon=True)
               for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)
    except BaseException:
        stop.set()
        raise
    end = max((r.finished for r in results), default=time.perf_counter())
    return results, start, end


def executor_seconds(server_url: str) -> tuple[float, float]:
    """(sum, count) of ``lampyris_job_duration_seconds`` from the server's /metrics."""
    text = httpx.get(f"{server_url}/metrics", timeout=10).text
    values = {"sum": 0.0, "count": 0.0}
    for line in text.splitlines():
        for key in values:
            if line.startswith(f"lampyris_job_duration_seconds_{key}"):
                values[key] += float(line.rsplit(" ", 1)[1])
    return values["sum"], values["count"]


class RssSampler:
    """Samples the server tree's RSS every ``interval`` seconds in a thread."""

    def __init__(self, server: Server, interval: float = RSS_SAMPLE_SECONDS) -> None:
        self.server = server
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-rss", daemon=True)

    def __enter__(self) -> RssSampler:
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(psutil.Error):
                mb = total(self.server.memory())
                self.samples.append((round(time.perf_counter() - self._start, 1), round(mb, 1)))


# --------------------------------------------------------------------------------------------
# The op in-process
# --------------------------------------------------------------------------------------------


def route_params(route: str, input_url: str) -> dict[str, Any]:
    """The op parameters the server's worker gets for our request (built by the wire code)."""
    import_lampyris()
    from lampyris.api.photoshop_wire import (
        RemoveBackgroundRequest,
        SenseiRequest,
        sensei_task,
        v2_task,
    )

    if route == "sensei":
        body = SenseiRequest.model_validate({
            "input": {"href": input_url, "storage": "external"},
            "output": {"href": input_url, "storage": "external"}})
        return dict(sensei_task(body, "cutout").params)
    request = RemoveBackgroundRequest.model_validate({
        "image": {"source": {"url": input_url}}, "output": {"mediaType": "image/png"}})
    return dict(v2_task(request, "bench").params)


def direct_op_seconds(image: bytes, params: dict[str, Any], threads: int, runs: int,
                      warmup: int = 3) -> list[float]:
    """decode + op + PNG encode in this process, configured like one server worker."""
    import_lampyris()
    from lampyris.imaging.decode import decode
    from lampyris.imaging.encode import encode
    from lampyris.ops import run
    from lampyris.ops.pool import warm

    warm(str(params.get("model", "u2netp")), threads)  # sets the ORT threads, loads the model
    times = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        result = run("cutout", decode(image), params)
        data = encode(result.pixels, "png")
        elapsed = time.perf_counter() - start
        if not data.startswith(PNG_SIGNATURE):
            raise RuntimeError("direct op did not produce a PNG")
        if i >= warmup:
            times.append(elapsed)
    return times


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def latency_summary(results: list[JobResult]) -> dict[str, Any]:
    ok = [r.latency for r in results if r.ok]
    worker = [r.worker_seconds for r in results if r.ok and r.worker_seconds is not None]
    on_server = [r.server_seconds for r in results if r.ok and r.server_seconds is not None]
    # What the client adds to the server's own time: the submit request before the row is
    # created, and the wait between the job finishing and a poll seeing it.
    client_side = [r.latency - r.server_seconds for r in results
                   if r.ok and r.server_seconds is not None]
    submit = [r.submit_seconds for r in results if r.ok and r.submit_seconds is not None]
    poll = [r.poll_seconds for r in results if r.ok and r.poll_seconds is not None]
    stages: dict[str, float] = {}
    for key in sorted({key for r in results if r.ok for key in r.timings}):
        values = [r.timings[key] for r in results if r.ok and key in r.timings]
        if values:
            stages[key] = statistics.median(values)
    return {
        "jobs": len(results), "succeeded": len(ok), "errors": len(results) - len(ok),
        "p50_s": percentile(ok, 50), "p90_s": percentile(ok, 90), "p99_s": percentile(ok, 99),
        "max_s": max(ok, default=None), "mean_s": statistics.fmean(ok) if ok else None,
        "median_polls": statistics.median([r.polls for r in results]) if results else None,
        "requests": sum(r.polls + 1 for r in results),  # submits + status GETs
        "median_submit_s": statistics.median(submit) if submit else None,
        "median_poll_rtt_s": statistics.median(poll) if poll else None,
        "median_worker_s": statistics.median(worker) if worker else None,
        "median_server_s": statistics.median(on_server) if on_server else None,
        "mean_server_s": statistics.fmean(on_server) if on_server else None,
        "mean_worker_s": statistics.fmean(worker) if worker else None,
        "median_client_side_s": statistics.median(client_side) if client_side else None,
        "median_worker_stage_s": stages,
        "median_output_bytes": statistics.median([r.output_bytes for r in results if r.ok])
        if ok else None,
        "error_samples": sorted({r.error for r in results if r.error})[:10],
    }


def rembg_errors(report: dict[str, Any]) -> int:
    """The rembg run's failed jobs, 1 if it could not run at all, 0 when it was off."""
    rembg = report.get("rembg")
    if rembg is None:
        return 0
    return 1 if rembg["error"] else int(rembg["errors"])


def ms(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value * 1000:.{digits}f}"


def print_report(report: dict[str, Any]) -> None:
    load, single, direct, mem = (report["load"], report["single"], report["direct"],
                                 report["memory"])
    cfg = report["config"]
    table = Table(title=f"lampyris serve: {cfg['route']} route, {cfg['clients']} clients, "
                        f"{cfg['workers']} workers, {cfg['width']}x{cfg['height']} JPEG")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("note")
    errors = load["errors"] + single["errors"] + report["http_errors_outside_jobs"]
    rows = [
        ("jobs (load phase)", f"{load['succeeded']}/{load['jobs']}",
         f"{load['seconds']:.1f} s, submits stop at {cfg['seconds']} s"),
        ("jobs/s", f"{load['jobs_per_s']:.2f}", f"{cfg['clients']} clients"),
        ("latency p50 ms", ms(load["p50_s"]), "submit -> succeeded seen"),
        ("latency p99 ms", ms(load["p99_s"]), f"max {ms(load['max_s'])} ms"),
        ("server time p50 ms", ms(load["median_server_s"]), "job created -> finished"),
        ("worker time p50 ms", ms(load["median_worker_s"]),
         "fetch+decode+op+encode+deliver (Sensei metadata)"),
        ("submit / status GET p50 ms",
         f"{ms(load['median_submit_s'], 1)} / {ms(load['median_poll_rtt_s'], 1)}",
         "request round trips under load"),
        ("errors", str(errors), "must be 0"),
        ("server RSS start MB", f"{mem['start_mb']:.0f}",
         f"after warm-up, {mem['processes_start']} processes"),
        ("server RSS end MB", f"{mem['end_mb']:.0f}", f"peak {mem['peak_mb']:.0f} MB"),
        ("RSS growth", f"{mem['growth_pct']:+.1f} %",
         "target < 10 %" + ("" if mem["growth_pct"] < 10 else "  [bold red]MISSED[/]")),
        ("single-client p50 ms", ms(single["p50_s"]), f"{single['jobs']} jobs, 1 client"),
        ("single-client server p50 ms", ms(single["median_server_s"]), "created -> finished"),
        ("single-client poll wait p50 ms", ms(single["median_client_side_s"]),
         f"latency - server time, polling every {ms(cfg['poll_s'])} ms"),
        ("single-client means ms", " / ".join(ms(single[k]) for k in (
            "mean_s", "mean_server_s", "mean_executor_s", "mean_worker_s")) + " / "
         + ms(direct.get("mean_s")),
         "latency / server / executor (pool submit -> result) / worker / direct"),
        ("single-client worker p50 ms", ms(single["median_worker_s"]), "Sensei metadata"),
        ("single-client submit / status ms",
         f"{ms(single['median_submit_s'], 1)} / {ms(single['median_poll_rtt_s'], 1)}",
         f"p50 round trips, {single['median_polls']} polls/job"),
        ("direct op p50 ms", ms(direct["median_s"]),
         f"decode+cutout+PNG in-process, {direct['threads']} thread(s), {direct['runs']} runs"),
        ("overhead ms", ms(report["overhead"]["ms"] / 1000 if report["overhead"]["ms"]
                            is not None else None),
         f"{report['overhead']['pct']:+.0f} % over direct" if report["overhead"]["pct"]
         is not None else ""),
        ("server-side overhead ms", ms(report["overhead"]["server_ms"] / 1000
                                      if report["overhead"].get("server_ms") is not None
                                      else None),
         f"{report['overhead']['server_pct']:+.0f} %: server p50 - direct, no polling"
         if report["overhead"].get("server_pct") is not None else ""),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)

    if mem["by_role_start"]:
        by_role = Table(title="server process tree RSS (MB)")
        for col in ("role", "start", "end", "growth"):
            by_role.add_column(col, justify="right" if col != "role" else "left")
        for role, start in mem["by_role_start"].items():
            end = mem["by_role_end"].get(role, 0.0)
            by_role.add_row(role, f"{start:.0f}", f"{end:.0f}",
                            f"{(end - start) / start * 100:+.1f} %" if start else "-")
        console.print(by_role)

    cpu = Table(title=f"CPU seconds during the {load['seconds']:.0f} s load phase "
                      f"({report['machine_cores']} cores)")
    cpu.add_column("process")
    cpu.add_column("CPU s", justify="right")
    cpu.add_column("per job ms", justify="right")
    cpu.add_column("per request ms", justify="right")
    for role, seconds in load["cpu_s_by_role"].items():
        per_job = seconds / load["succeeded"] * 1000 if load["succeeded"] else 0.0
        per_request = seconds / load["requests"] * 1000 if load["requests"] else 0.0
        cpu.add_row(role, f"{seconds:.1f}", f"{per_job:.0f}",
                    f"{per_request:.1f}" if role == "server" else "")
    console.print(cpu)
    print_comparison(report)


def print_comparison(report: dict[str, Any]) -> None:
    """lampyris serve next to rembg s: same image, clients and seconds, one run."""
    rembg = report["rembg"]
    if rembg is None:
        console.print("rembg s: not run (--rembg off)")
        return
    load, mem, cfg = report["load"], report["memory"], report["config"]
    table = Table(title=f"same run: {cfg['clients']} clients, {cfg['seconds']:g} s each, "
                        f"{cfg['width']}x{cfg['height']} JPEG, u2netp, lampyris "
                        f"{cfg['route']} route")
    for col in ("server", "jobs", "jobs/s", "p50 ms", "p99 ms", "errors", "RSS MB"):
        table.add_column(col, justify="left" if col == "server" else "right")
    table.add_row("lampyris serve", f"{load['succeeded']}/{load['jobs']}",
                  f"{load['jobs_per_s']:.2f}", ms(load["p50_s"]), ms(load["p99_s"]),
                  str(load["errors"]), f"{mem['start_mb']:.0f}→{mem['end_mb']:.0f}")
    name = f"rembg s {rembg.get('version', '')}".strip()
    if rembg["error"]:
        table.add_row(name, "-", "-", "-", "-", "failed", "-")
    else:
        rmem = rembg["memory"]
        table.add_row(name, f"{rembg['succeeded']}/{rembg['jobs']}",
                      f"{rembg['jobs_per_s']:.2f}", ms(rembg["p50_s"]), ms(rembg["p99_s"]),
                      str(rembg["errors"]), f"{rmem['start_mb']:.0f}→{rmem['end_mb']:.0f}")
    console.print(table)
    console.print("latency: lampyris submit -> succeeded seen (polling), rembg the POST's "
                  "round trip; errors: load phase only; RSS MB: process tree, after warm-up→end")
    if rembg["error"]:
        console.print(f"[red]rembg s failed:[/] {rembg['error']}")
        return
    ratio = report["vs_rembg"]["jobs_per_s_ratio"]
    if ratio is None:
        console.print("lampyris / rembg s: - (rembg s completed no job)")
        return
    verdict = "" if ratio >= RATIO_TARGET else f"  [bold red]below the {RATIO_TARGET:g}x target[/]"
    console.print(f"lampyris / rembg s: {ratio:.2f}x completed jobs/s (same run){verdict}")


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def by_role(rows: list[dict[str, Any]]) -> dict[str, float]:
    roles: dict[str, float] = {}
    for row in rows:
        roles[row["role"]] = roles.get(row["role"], 0.0) + row["rss_mb"]
    return {k: round(v, 1) for k, v in sorted(roles.items())}


def rembg_benchmark(args: argparse.Namespace, image: bytes, log_path: Path) -> dict[str, Any]:
    """``rembg s`` under the same load as lampyris: same image, clients, warm-up and seconds.
    A failure to start or to warm up is reported in ``error`` (the lampyris numbers stand)."""
    rembg = RembgEnv(args.rembg_venv)
    server = RembgServer(rembg, log_path)
    report: dict[str, Any] = {"model": REMBG_MODEL, "command": " ".join(server.command),
                              "clients": args.clients, "log": str(log_path), "error": None}
    with contextlib.suppress(Exception):
        report["version"] = rembg.version()

    def make_client() -> RembgClient:
        return RembgClient(server.base_url, image, REMBG_MODEL)

    try:
        server.start()
        console.print(f"rembg s on {server.base_url} (pid {server.process.pid})")
        # One request alone first: rembg s builds its model session on the first request and
        # does not lock its cache, so concurrent first requests would each build one.
        first, _, _ = run_clients(make_client, 1, jobs_each=1)
        console.print(f"rembg warm-up: 1 + {args.warmup} job(s) x {args.clients} client(s)")
        warm, _, _ = run_clients(make_client, args.clients, jobs_each=args.warmup)
        warm_errors = [r.error for r in first + warm if not r.ok]
        if warm_errors:
            raise RuntimeError(f"warm-up failed: {warm_errors[:3]}\n{server.log_tail()}")
        time.sleep(1.0)
        start_rows = server.memory()
        console.print(f"rembg load: {args.clients} client(s) for {args.seconds:g} s")
        with RssSampler(server) as sampler:
            results, start, end = run_clients(make_client, args.clients, seconds=args.seconds)
        time.sleep(1.0)
        end_rows = server.memory()
    except Exception as exc:  # the lampyris numbers are still worth reporting
        report["error"] = f"{type(exc).__name__}: {exc}"
        return report
    finally:
        server.stop()
        report.update(exit_code=server.exit_code, killed=server.killed,
                      log_problems=server.log_problems()[:50])
        console.print(f"rembg s stopped (exit code {server.exit_code}"
                      f"{', killed after the grace period' if server.killed else ''})")

    summary = latency_summary(results)
    start_mb, end_mb = total(start_rows), total(end_rows)
    report.update({
        "seconds": end - start,
        "jobs": summary["jobs"], "succeeded": summary["succeeded"], "errors": summary["errors"],
        "jobs_per_s": summary["succeeded"] / (end - start) if end > start else 0.0,
        **{k: summary[k] for k in ("p50_s", "p90_s", "p99_s", "max_s", "mean_s",
                                   "median_output_bytes", "error_samples")},
        "latencies_s": [round(r.latency, 4) for r in results if r.ok],
        "memory": {
            "start_mb": start_mb, "end_mb": end_mb,
            "peak_mb": max([end_mb, *(mb for _, mb in sampler.samples)]),
            "growth_pct": (end_mb - start_mb) / start_mb * 100 if start_mb else 0.0,
            "processes_start": len(start_rows), "processes_end": len(end_rows),
            "samples_mb": sampler.samples,
        },
        "cpu_s_by_role": cpu_by_role(start_rows, end_rows),
    })
    return report


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    width, height = size_for(args.size)
    image = jpeg_bytes(product_photo(width, height))
    storage = LocalStorage(image).start()
    data_dir = Path(tempfile.mkdtemp(prefix="lampyris-server-bench-"))
    server = Server(data_dir, args.workers, args.log_level)
    config = {
        "route": args.route, "clients": args.clients, "seconds": args.seconds,
        "workers": args.workers, "size_mp": args.size, "width": width, "height": height,
        "input_bytes": len(image), "poll_s": args.poll, "poll_jitter": args.poll_jitter,
        "warmup_jobs_per_client": args.warmup,
        "single_jobs": args.single_jobs, "direct_runs": args.direct_runs,
        "data_dir": str(data_dir), "rembg": args.rembg, "rembg_venv": str(args.rembg_venv),
    }
    console.print(f"input: {width}x{height} JPEG, {len(image) / 1024:.0f} KiB; data dir "
                  f"{data_dir}")
    keep = args.keep_data
    try:
        client_id, secret = server.add_client("bench")
        server.start()
        console.print(f"server on {server.base_url} (pid {server.process.pid})")
        token = get_token(server.base_url, client_id, secret)

        def make_client() -> Client:
            return Client(server.base_url, storage, token, client_id, args.route, args.poll,
                          args.poll_jitter)

        console.print(f"warm-up: {args.warmup} job(s) x {args.clients} client(s)")
        warm, _, _ = run_clients(make_client, args.clients, jobs_each=args.warmup)
        warm_errors = [r.error for r in warm if not r.ok]
        if warm_errors:
            raise RuntimeError(f"warm-up failed: {warm_errors[:3]}\n{server.log_tail()}")
        time.sleep(1.0)  # let the last warm-up job's bookkeeping settle
        start_rows = server.memory()

        console.print(f"load: {args.clients} client(s) for {args.seconds:g} s")
        bench_cpu = psutil.Process().cpu_times()
        with RssSampler(server) as sampler:
            load_results, start, end = run_clients(make_client, args.clients,
                                                   seconds=args.seconds)
        bench_cpu_end = psutil.Process().cpu_times()
        time.sleep(1.0)
        end_rows = server.memory()
        uploads, uploaded_bytes = storage.total_uploaded()

        console.print(f"single client: {args.single_jobs} job(s)")
        before = executor_seconds(server.base_url)
        single_results, _, _ = run_clients(make_client, 1, jobs_each=args.single_jobs)
        after = executor_seconds(server.base_url)
        after_single_rows = server.memory()
        health = httpx.get(f"{server.base_url}/health", timeout=10).json()
        metrics = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    finally:
        server.stop()
        storage.stop()
    how = ("killed after the grace period" if server.killed
           else "graceful; uvicorn re-raises SIGTERM, hence -15")
    console.print(f"server stopped (exit code {server.exit_code}, {how})")

    rembg: dict[str, Any] | None = None
    if args.rembg == "on":
        rembg = rembg_benchmark(args, image, data_dir / "rembg.log")

    params = route_params(args.route, f"{storage.base_url}/input.jpg")
    threads = max(1, available_cores() // args.workers)
    direct: dict[str, Any] = {"threads": threads, "runs": args.direct_runs, "params": params}
    if args.direct_runs:
        console.print(f"direct op: {args.direct_runs} run(s), {threads} thread(s), {params}")
        times = direct_op_seconds(image, params, threads, args.direct_runs)
        direct.update(median_s=statistics.median(times), mean_s=statistics.fmean(times),
                      min_s=min(times), max_s=max(times),
                      times_s=[round(t, 4) for t in times])
    else:
        direct["median_s"] = None

    load = latency_summary(load_results)
    load["seconds"] = end - start
    load["jobs_per_s"] = load["succeeded"] / (end - start) if end > start else 0.0
    load["latencies_s"] = [round(r.latency, 4) for r in load_results if r.ok]
    single = latency_summary(single_results)
    # The executor's own timing (pool submit -> result collected) over the single-client jobs:
    # the worker's time plus the hand-over to and from the worker process.
    jobs_timed = after[1] - before[1]
    single["mean_executor_s"] = (after[0] - before[0]) / jobs_timed if jobs_timed else None
    start_mb, end_mb = total(start_rows), total(end_rows)
    memory = {
        "start_mb": start_mb, "end_mb": end_mb, "after_single_mb": total(after_single_rows),
        "start_pss_mb": total(start_rows, "pss_mb"), "end_pss_mb": total(end_rows, "pss_mb"),
        "peak_mb": max([end_mb, *(mb for _, mb in sampler.samples)]),
        "growth_pct": (end_mb - start_mb) / start_mb * 100 if start_mb else 0.0,
        "processes_start": len(start_rows), "processes_end": len(end_rows),
        "by_role_start": by_role(start_rows), "by_role_end": by_role(end_rows),
        "processes_start_detail": start_rows, "processes_end_detail": end_rows,
        "samples_mb": sampler.samples,
    }
    cpu = cpu_by_role(start_rows, end_rows)
    cpu["benchmark (clients + storage)"] = round(
        bench_cpu_end.user + bench_cpu_end.system - bench_cpu.user - bench_cpu.system, 2)
    load["cpu_s_by_role"] = cpu
    overhead: dict[str, float | None] = {"ms": None, "pct": None, "server_ms": None,
                                         "server_pct": None}
    if single["p50_s"] is not None and direct["median_s"]:
        overhead["ms"] = (single["p50_s"] - direct["median_s"]) * 1000
        overhead["pct"] = (single["p50_s"] / direct["median_s"] - 1) * 100
    if single["median_server_s"] is not None and direct["median_s"]:
        # Without the client's submit request and polling delay.
        overhead["server_ms"] = (single["median_server_s"] - direct["median_s"]) * 1000
        overhead["server_pct"] = (single["median_server_s"] / direct["median_s"] - 1) * 100
    problems = server.log_problems()
    sensei_uploads = {"count": uploads, "bytes": uploaded_bytes}
    vs_rembg: dict[str, Any] | None = None
    if rembg is not None:
        rembg_rate = rembg.get("jobs_per_s")
        vs_rembg = {
            "lampyris_jobs_per_s": load["jobs_per_s"], "rembg_jobs_per_s": rembg_rate,
            "jobs_per_s_ratio": load["jobs_per_s"] / rembg_rate if rembg_rate else None,
            "target_ratio": RATIO_TARGET,
        }
    report = {
        "config": config, "machine_cores": available_cores(), "load": load, "single": single,
        "direct": direct, "memory": memory,
        "overhead": overhead, "sensei_uploads_during_load": sensei_uploads,
        "storage_bad_requests": storage.bad_requests, "input_gets": storage.gets,
        "http_errors_outside_jobs": storage.bad_requests,
        "server_health_at_end": health, "server_exit_code": server.exit_code,
        "server_killed": server.killed,
        "server_log_problems": problems[:50],
        "rembg": rembg, "vs_rembg": vs_rembg,
        "server_metrics_jobs": [line for line in metrics.splitlines()
                                if line.startswith(("lampyris_jobs{",
                                                    "lampyris_jobs_finished_total",
                                                    "lampyris_storage_errors_total",
                                                    "lampyris_job_duration_seconds_sum",
                                                    "lampyris_job_duration_seconds_count"))],
    }
    keep = keep or bool(load["errors"] or single["errors"] or rembg_errors(report))
    if keep:
        console.print(f"data dir kept: {data_dir} (server log: {server.log_path})")
    else:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    return report


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--seconds", type=float, default=60,
                        help="length of the load phase (default 60)")
    parser.add_argument("--workers", type=int, default=2,
                        help="server worker processes (default 2)")
    parser.add_argument("--size", type=float, default=1.0,
                        help="input size in megapixels, 4:3 (default 1.0 = 1155x866)")
    parser.add_argument("--route", choices=("sensei", "v2"), default="sensei",
                        help="/sensei/cutout (output PUT to our storage) or "
                             "/v2/remove-background (output hosted by the server)")
    parser.add_argument("--poll", type=float, default=0.05,
                        help="mean seconds between status polls (default 0.05)")
    parser.add_argument("--poll-jitter", type=float, default=0.5,
                        help="each poll interval is uniform in poll*(1 +- this) (default 0.5)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="unmeasured warm-up jobs per client (default 2)")
    parser.add_argument("--single-jobs", type=int, default=20,
                        help="jobs in the single-client latency phase (default 20)")
    parser.add_argument("--direct-runs", type=int, default=20,
                        help="in-process op runs, after 3 warm-up runs (default 20; 0 = skip)")
    parser.add_argument("--log-level", default="warning", help="server log level")
    parser.add_argument("--keep-data", action="store_true",
                        help="keep the server's data dir (kept anyway when a job failed)")
    parser.add_argument("--rembg", choices=("on", "off"),
                        help="also load-test `rembg s` (u2netp) the same way, for the ratio "
                             "(default: on when --rembg-venv exists)")
    parser.add_argument("--rembg-venv", type=Path, default=DEFAULT_REMBG_VENV,
                        help=f"rembg virtualenv from bench/setup_rembg.sh "
                             f"(default {DEFAULT_REMBG_VENV})")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this path")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.workers < 1 or args.seconds <= 0:
        parser.error("--clients and --workers must be >= 1, --seconds > 0")
    if not 0 <= args.poll_jitter < 1 or args.poll <= 0:
        parser.error("--poll must be > 0 and --poll-jitter in [0, 1)")
    rembg = RembgEnv(args.rembg_venv)
    if args.rembg == "on":
        rembg.check()  # one line and exit when setup_rembg.sh's files are missing
    elif args.rembg is None:
        args.rembg = "off" if rembg.missing() else "on"
        if args.rembg == "off":
            console.print(f"rembg s comparison skipped: no rembg virtualenv at {args.rembg_venv} "
                          "(run bench/setup_rembg.sh)", soft_wrap=True)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results = {
        "benchmark": "server",
        "machine": machine_info(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
    }
    with sigterm_as_interrupt():
        try:
            report = benchmark(args)
        except KeyboardInterrupt:
            console.print("[red]interrupted: server stopped; its data dir "
                          "(/tmp/lampyris-server-bench-*) is left for inspection[/]")
            return 130
    results.update(report)
    print_report(report)
    write_results(args.json, results)
    errors = (report["load"]["errors"] + report["single"]["errors"]
              + report["http_errors_outside_jobs"] + rembg_errors(report))
    if errors:
        for sample in report["load"]["error_samples"] + report["single"]["error_samples"]:
            console.print(f"[red]error:[/] {sample}")
        for sample in (report["rembg"] or {}).get("error_samples", []):
            console.print(f"[red]rembg s error:[/] {sample}")
        console.print(f"[bold red]{errors} error(s)[/]")
        return 1
    if report["memory"]["growth_pct"] >= RSS_GROWTH_TARGET * 100:
        console.print(f"[yellow]RSS grew {report['memory']['growth_pct']:.1f} % "
                      f"(target < {RSS_GROWTH_TARGET * 100:.0f} %)[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
