"""Peak memory per image of one cutout, as a server worker runs it: read → decode → cutout → PNG.

Every case runs in a fresh Python process, so nothing one image leaves behind (heap, arenas,
caches) flatters or hurts the next. The child first imports lampyris, loads u2netp and runs one
small warm-up cutout (ONNX Runtime's arena and every code path touched once): its resident set
then is the *baseline*. It then reads the file into memory (as the worker fetches it), decodes,
runs the op and encodes PNG, holding what ``jobs/task.py`` holds. The *peak* is the kernel's
high-water mark of the process's resident set (``VmHWM``); ``bytes/px`` is (peak − baseline) /
pixels, the figure a per-worker memory budget divides by.

With ``--stages`` (the default) the child resets the high-water mark (``/proc/self/clear_refs``)
around each step and reports each step's own peak and what it leaves resident; the overall
peak is the largest high-water mark read before any reset, so it is exact either way. With
``--no-stages`` nothing is reset and the peak is ``VmHWM`` read once at the end. (Not
``ru_maxrss`` from ``wait4``: exec() folds the parent's high-water mark into it.)

The comparison row is what a user would otherwise run: Pillow alone opening the same file,
loading it and saving it as PNG (level 1), baseline taken after ``import PIL.Image``.

Inputs are generated (a product-like shape on a graded, noisy studio ground; PNG and JPEG q90)
in a temporary folder and removed afterwards; nothing is downloaded.

Usage::

    .venv/bin/python bench/memory_bench.py                      # 12 MP and the cap, PNG + JPEG
    .venv/bin/python bench/memory_bench.py --sizes 4000x3000 --formats jpeg --settings default
    .venv/bin/python bench/memory_bench.py --sizes 10000x10000 --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, fmt, import_lampyris, lampyris_env, machine_info, markdown_table

SETTINGS: dict[str, dict[str, Any]] = {
    "default": {},  # the Sensei route's defaults
    "decontaminate": {"decontaminate": 1.0},  # the v2 route's default colorDecontamination
    "catalog": {"trim": True, "padding": "5%", "shadow": True, "background": "white"},
    "everything": {"decontaminate": 1.0, "trim": True, "padding": "5%", "shadow": True,
                   "background": "white"},  # the costliest combination
    "mask": {"mode": "mask"},
}
MB = 2**20


# --------------------------------------------------------------------------------------------
# Child: one case in a fresh process
# --------------------------------------------------------------------------------------------


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        match = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.MULTILINE)
    assert match is not None, field
    return int(match.group(1))


def _trim_heap() -> None:
    """Hand freed heap back to the kernel (glibc), so the baseline is what is really held."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Stages:
    """Per-step peak RSS: the high-water mark is reset when a step starts and read when it
    ends; nested steps fold their peak into the enclosing one before it is reset."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.rows: list[dict[str, Any]] = []
        self._stack: list[int] = []  # the peak seen so far by each open step, kB
        self.peak_kb = _status_kb("VmHWM")

    def _reset(self) -> None:
        hwm = _status_kb("VmHWM")
        self.peak_kb = max(self.peak_kb, hwm)
        if self._stack:
            self._stack[-1] = max(self._stack[-1], hwm)
        if self.enabled:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")

    def run(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self._reset()
        row: dict[str, Any] = {"step": name, "depth": len(self._stack)}
        self.rows.append(row)  # in call order: a step before the steps nested in it
        self._stack.append(0)
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            row["seconds"] = time.perf_counter() - start
            self._reset()
            row["peak_kb"] = self._stack.pop()
            if self._stack:
                self._stack[-1] = max(self._stack[-1], row["peak_kb"])
            row["after_kb"] = _status_kb("VmRSS")

    def wrap(self, module: Any, name: str, label: str | None = None) -> None:
        fn = getattr(module, name)
        setattr(module, name, lambda *a, **k: self.run(label or name, fn, *a, **k))


def _keep(data: bytes, source: Path) -> str:
    """Write the output beside the input for the parent to hash: decoding it here would add
    to the peak this process reports."""
    out = source.with_name(source.name + ".out")
    out.write_bytes(data)
    return str(out)


def _digest(path: Path) -> str:
    """sha256 of the decoded pixels of an encoded output (Pillow, so any format)."""
    import numpy as np
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
    with Image.open(path) as im:
        pixels = np.asarray(im)
    digest = hashlib.sha256(f"{pixels.shape}".encode())
    digest.update(pixels.tobytes())
    return digest.hexdigest()[:16]


def child_cutout(path: Path, setting: str, stages_on: bool) -> dict[str, Any]:
    import_lampyris()
    import numpy as np

    from lampyris.imaging.decode import decode
    from lampyris.imaging.encode import encode
    from lampyris.models import get_session, resolve_spec
    from lampyris.ops import cutout as cutout_module
    from lampyris.ops.cutout import CutoutParams, cutout

    session = get_session(resolve_spec("u2netp"))
    params = CutoutParams(**SETTINGS[setting])
    warm = np.full((480, 640, 3), 235, np.uint8)
    warm[120:360, 200:440] = (30, 90, 110)
    encode(cutout(warm, params, session=session).pixels, "png")  # every path touched once
    _trim_heap()
    baseline_kb = _status_kb("VmRSS")

    stages = Stages(stages_on)
    if stages_on:  # the op's own steps, as cutout() calls them
        for name in ("working_copy", "refine_matte", "decontaminate", "cutout_rgba",
                     "lay_out", "add_shadow", "over_background"):
            if hasattr(cutout_module, name):
                stages.wrap(cutout_module, name)
        stages.wrap(session, "predict", "model")
    stages._reset()
    start = time.perf_counter()
    data = stages.run("read file", path.read_bytes)
    # The size under test is let in whatever the configured cap: this measures, not enforces.
    image = stages.run("decode", decode, data, max_pixels=_pixels(path))
    del data  # as jobs/task.py does; the decoded image is held until the output is written
    result = stages.run("cutout op", cutout, image, params, session=session)
    out = stages.run("encode PNG", encode, result.pixels, "png")
    seconds = time.perf_counter() - start
    stages._reset()
    return {"baseline_kb": baseline_kb, "peak_kb": stages.peak_kb, "seconds": seconds,
            "stages": stages.rows, "output": _keep(out, path)}


def child_pil(path: Path, stages_on: bool) -> dict[str, Any]:
    import io
    import warnings

    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
    warnings.simplefilter("ignore")
    _trim_heap()
    baseline_kb = _status_kb("VmRSS")
    stages = Stages(stages_on)
    stages._reset()
    start = time.perf_counter()

    def load() -> Image.Image:
        im = Image.open(path)
        im.load()
        return im

    im = stages.run("open + load", load)

    def save() -> bytes:
        buf = io.BytesIO()
        im.save(buf, "PNG", compress_level=1)
        return buf.getvalue()

    out = stages.run("save PNG", save)
    seconds = time.perf_counter() - start
    stages._reset()
    return {"baseline_kb": baseline_kb, "peak_kb": stages.peak_kb, "seconds": seconds,
            "stages": stages.rows, "output": _keep(out, path)}


def _pixels(path: Path) -> int:
    w, h = (int(v) for v in path.stem.split("-")[1].split("x"))
    return w * h


def child_main(argv: list[str]) -> None:
    kind, path, setting, stages_on = argv[0], Path(argv[1]), argv[2], argv[3] == "1"
    result = child_cutout(path, setting, stages_on) if kind == "cutout" else \
        child_pil(path, stages_on)
    print(json.dumps(result))


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def make_image(width: int, height: int, folder: Path, formats: list[str]) -> dict[str, Path]:
    """A product-like subject on a graded, noisy ground, written as PNG and/or JPEG q90.

    Built in bands with OpenCV and uint8 maths, so a 100 MP input needs ~0.5 GB to make.
    """
    import cv2
    import numpy as np

    rng = np.random.default_rng(13)
    img = np.empty((height, width, 3), np.uint8)
    band = 512
    for y0 in range(0, height, band):
        y1 = min(height, y0 + band)
        ramp = np.linspace(238 - 16 * y0 / height, 238 - 16 * y1 / height, y1 - y0)
        ground = ramp.astype(np.int16)[:, None, None] + rng.integers(-6, 7, (y1 - y0, width, 3),
                                                                      dtype=np.int16)
        img[y0:y1] = np.clip(ground, 0, 255).astype(np.uint8)
    s = min(width, height)
    cx, cy = width // 2, height // 2
    lt = cv2.LINE_AA
    cv2.ellipse(img, (cx, cy + s // 10), (s // 4, s // 3), 0, 0, 360, (30, 90, 110), -1, lt)
    cv2.ellipse(img, (cx, cy - s // 4), (s // 9, s // 16), 0, 0, 360, (190, 60, 40), -1, lt)
    cv2.ellipse(img, (cx + s // 4, cy), (s // 8, s // 6), 0, -80, 80, (40, 40, 40),
                max(2, s // 80), lt)
    for y0 in range(0, height, band):  # texture on the subject: the PNG is not trivially small
        y1 = min(height, y0 + band)
        part = img[y0:y1]
        noise = rng.integers(-3, 4, part.shape, dtype=np.int16)
        part[:] = np.clip(part.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    del img
    paths = {}
    for fmt_ in formats:
        path = folder / f"product-{width}x{height}.{'png' if fmt_ == 'png' else 'jpg'}"
        params = [cv2.IMWRITE_PNG_COMPRESSION, 1] if fmt_ == "png" else \
            [cv2.IMWRITE_JPEG_QUALITY, 90]
        if not cv2.imwrite(str(path), bgr, params):
            raise SystemExit(f"could not write {path}")
        paths[fmt_] = path
    return paths


# --------------------------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------------------------


def run_case(kind: str, path: Path, setting: str, stages: bool) -> dict[str, Any]:
    """One case in a fresh interpreter; its output is hashed here, outside the measurement."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "_child", kind, str(path), setting,
           "1" if stages else "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=lampyris_env(), cwd=ROOT)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"case {kind} {path.name} {setting} failed ({proc.returncode})")
    result: dict[str, Any] = json.loads(out)
    # Kept for reference only: exec() folds the parent's high-water mark into the child's
    # ru_maxrss (Linux), so after a 100 MP input was generated here it reads ~2 GB whatever
    # the child did. The child's own VmHWM is the figure.
    result["ru_maxrss_kb"] = usage.ru_maxrss
    output = Path(result.pop("output"))
    result["output_bytes"] = output.stat().st_size
    result["digest"] = _digest(output)
    output.unlink()
    return result


def parse_size(text: str, cap: int) -> tuple[int, int]:
    if text == "cap":  # the largest square the pixel cap lets in
        side = math.isqrt(cap)
        return side, side
    w, h = (int(v) for v in text.lower().split("x"))
    return w, h


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="4000x3000,cap",
                        help="WxH list; 'cap' is the largest square under the pixel cap")
    parser.add_argument("--formats", default="png,jpeg")
    parser.add_argument("--settings", default="default,decontaminate",
                        help=f"cutout settings, any of {', '.join(SETTINGS)}")
    parser.add_argument("--no-pil", action="store_true", help="skip the Pillow-only rows")
    parser.add_argument("--stages", action=argparse.BooleanOptionalAction, default=True,
                        help="per-step peaks (default), or only VmHWM at the end")
    parser.add_argument("--json", type=Path, help="also write every number here")
    parser.add_argument("--workdir", type=Path, help="keep the generated inputs here")
    args = parser.parse_args()

    import_lampyris()
    from lampyris.imaging.settings import ImagingSettings

    cap = ImagingSettings().max_pixels  # the effective cap: LAMPYRIS_IMAGING_* and the budget
    sizes = [parse_size(s, cap) for s in args.sizes.split(",")]
    formats = args.formats.split(",")
    settings = args.settings.split(",")
    info = machine_info()
    print(f"machine: {info['cpu']}, {info['usable_cpus']} usable cores, "
          f"{info['memory_gb']} GB, load {info['load_average_at_start']}; "
          f"lampyris {info['lampyris']}, onnxruntime {info['onnxruntime']}; "
          f"pixel cap {cap:,}", flush=True)

    folder = args.workdir or Path(tempfile.mkdtemp(prefix="lampyris-memory-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows, profiles, results = [], [], []
    try:
        for w, h in sizes:
            paths = make_image(w, h, folder, formats)
            mp = w * h / 1e6
            for fmt_, path in paths.items():
                cases = [("cutout", s) for s in settings]
                if not args.no_pil:
                    cases.append(("pil", "-"))
                for kind, setting in cases:
                    r = run_case(kind, path, setting, args.stages)
                    increment = (r["peak_kb"] - r["baseline_kb"]) * 1024
                    tool = f"lampyris cutout ({setting})" if kind == "cutout" else \
                        "Pillow open + save PNG"
                    row = [f"{w}x{h}", f"{mp:.1f}", fmt_.upper(), tool,
                           f"{r['peak_kb'] / 1024:.0f}", f"{r['baseline_kb'] / 1024:.0f}",
                           f"{increment / MB:.0f}", fmt(increment / (w * h), 1),
                           fmt(r["seconds"], 1), r["digest"]]
                    rows.append(row)
                    print("  " + " | ".join(row), flush=True)
                    results.append({"size": [w, h], "format": fmt_, "kind": kind,
                                    "setting": setting, **r})
                    if args.stages:
                        profiles.append((f"{w}x{h} {fmt_.upper()} {tool}", r))
            for path in paths.values():
                path.unlink()
    finally:
        if args.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)

    print()
    print(markdown_table(["size", "MP", "input", "what", "peak RSS MB", "baseline RSS MB",
                          "increment MB", "bytes/px", "seconds", "output sha256"], rows))
    for title, r in profiles:
        print(f"\n{title}: baseline {r['baseline_kb'] / 1024:.0f} MB, "
              f"peak {r['peak_kb'] / 1024:.0f} MB\n")
        print(markdown_table(
            ["step", "peak RSS MB", "resident after MB", "seconds"],
            [["  " * s["depth"] + s["step"], f"{s['peak_kb'] / 1024:.0f}",
              f"{s['after_kb'] / 1024:.0f}", fmt(s["seconds"], 2)] for s in r["stages"]]))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "cap": cap, "results": results},
                                        indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child_main(sys.argv[2:])
    else:
        main()
