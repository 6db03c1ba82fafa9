"""Helpers shared by the benchmark scripts in this folder (cutout, server and batch benches).

The scripts run as ``python bench/NAME.py``, so this folder is on ``sys.path`` and they import
from here with ``from _common import ...``. Standard library and psutil only.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------------


def version_of(dist: str) -> str | None:
    """Installed version of ``dist`` in this interpreter, or None."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def machine_info(onnxruntime_key: str = "onnxruntime") -> dict[str, Any]:
    """What the numbers were measured on; throughput means nothing without it.

    ``onnxruntime_key`` names the onnxruntime entry: cutout_bench says ``onnxruntime_lampyris``
    (rembg has its own). ``usable_cpus`` is ``available_cores()`` for every script.
    """
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": available_cores(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        onnxruntime_key: version_of("onnxruntime"),
        "lampyris": version_of("lampyris"),
        # Other work on the machine skews every timing: a load well above the core count at
        # the start means the numbers should be taken again on a quiet machine.
        "load_average_at_start": os.getloadavg(),
    }


def lampyris_env() -> dict[str, str]:
    """Environment for lampyris subprocesses: the source tree wins over any installed copy."""
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def lampyris_command() -> list[str]:
    """The ``lampyris`` CLI: the console script next to this interpreter, else its entry point.

    The fallback calls ``lampyris.cli.app:main`` (the console-script target in pyproject.toml)
    directly, so it works before the package is installed.
    """
    script = Path(sys.executable).parent / "lampyris"
    if script.exists():
        return [str(script)]
    return [
        sys.executable,
        "-c",
        "import sys; sys.argv[0] = 'lampyris'; from lampyris.cli.app import main; sys.exit(main())",
    ]


def import_lampyris() -> None:
    """Make ``import lampyris`` resolve to this checkout even when run without PYTHONPATH."""
    src = str(ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)


@dataclass(frozen=True)
class RembgEnv:
    """The rembg virtualenv made by setup_rembg.sh, and the environment that keeps it offline.

    The union of what cutout_bench (``check``) and batch_bench (``missing``, ``version``) need.
    """

    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def cli(self) -> Path:
        return self.venv / "bin" / "rembg"

    @property
    def u2net_home(self) -> Path:
        return self.venv / "u2net"

    @property
    def model(self) -> Path:
        return self.u2net_home / "u2netp.onnx"

    def missing(self) -> list[str]:
        """The files setup_rembg.sh makes that are not there."""
        return [str(p) for p in (self.python, self.cli, self.model) if not p.exists()]

    def check(self) -> None:
        """Fail early with a useful message instead of deep inside a subprocess."""
        if missing := self.missing():
            raise SystemExit(
                f"rembg environment incomplete ({', '.join(missing)} missing): "
                "run bench/setup_rembg.sh first"
            )

    def env(self) -> dict[str, str]:
        """Process environment: model from U2NET_HOME, no checksum (hence no download)."""
        env = dict(os.environ)
        env["MODEL_CHECKSUM_DISABLED"] = "1"
        env["U2NET_HOME"] = str(self.u2net_home)
        return env

    def version(self) -> str:
        """rembg's version, as installed in the virtualenv."""
        out = subprocess.run(
            [str(self.python), "-c", "import importlib.metadata as m; print(m.version('rembg'))"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


def tree_processes(root: psutil.Process) -> list[psutil.Process]:
    """``root`` and all its descendants; [] once ``root`` itself is gone."""
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_group(pgid: int) -> None:
    """SIGKILL process group ``pgid`` until it is empty (5 s at most)."""
    for _ in range(50):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return  # the group is empty
        except PermissionError:  # only zombies left, being reaped
            pass
        time.sleep(0.1)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """A SIGTERM to the benchmark unwinds like Ctrl-C, so its cleanup (stopping the process
    under test, removing scratch files) runs."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def fmt(value: float | None, digits: int) -> str:
    """``value`` with ``digits`` decimals, ``-`` for None."""
    return "-" if value is None else f"{value:.{digits}f}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Render a pipe table, ready to paste into docs/benchmarks.md."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    return "\n".join(lines)


def write_results(path: Path | None, results: dict[str, Any]) -> None:
    """Save a bench's results as JSON at ``path`` (``--json``), when one is given."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults written to {path}")
