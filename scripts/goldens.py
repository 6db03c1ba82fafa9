"""Golden outputs of the command line and the server on the bundled samples: record them, then
prove a refactor kept them.

Every file command (``cutout`` in several finishes, ``auto-tone``, ``straighten``, ``edit``,
``fill``, ``expand``, ``composite``) and two ``batch`` step chains run in this process on
``samples/``; each output is reduced to the sha256 of its decoded pixels (with mode and size),
each XMP sidecar to the settings it holds. ``record`` writes them to ``scripts/goldens.json``;
``check`` runs everything again and lists what differs (exit 1).

The ``server-*`` cases start one real ``lampyris serve`` on 127.0.0.1 (two workers, a fresh
data dir, loopback URLs allowed, run from this checkout's ``src/``: ``PYTHONPATH`` is set for
it) with ``tests/support``'s ``running_server``, and a small HTTP file host beside it (also
from ``tests/support``) that serves the samples, generated masks and XMP presets by URL and
takes the results PUT to it. Each case submits its route (Photoshop ``/sensei`` and ``/v2``,
Lightroom ``/lrService``, Firefly ``/v3`` async and sync, with ``/v2/storage/image`` uploads)
for its samples, waits for the job, downloads every output (hosted on the server, or PUT to
the file host) and digests it as above; the job's final status body, less ids, times, URLs
and timings, is kept beside them as ``<sample>.status`` (the settings auto tone chose, a
cutout's metadata, a fill's engine and fidelity check, the seeds).

Why a script and not a CI test: the hashes pin ONNX Runtime's arithmetic on this CPU and the
lockfile's Pillow/OpenCV builds, so they are compared on one machine, before and after a
change (``record`` on the old commit, ``check`` on the new), not across machines.

Usage:
    .venv/bin/python scripts/goldens.py record   # before the change
    .venv/bin/python scripts/goldens.py check    # after it
    .venv/bin/python scripts/goldens.py check --only cutout,edit
    .venv/bin/python scripts/goldens.py check --only server   # every server-* case
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))
sys.path.append(str(ROOT / "tests"))  # tests/support, for the server cases

from typer.testing import CliRunner  # noqa: E402

from lampyris.cli.app import app  # noqa: E402
from lampyris.imaging.xmp import read_preset  # noqa: E402

SAMPLES = ROOT / "samples"
GOLDENS = Path(__file__).with_name("goldens.json")

# name -> (arguments with {samples}, {out} and {cutouts} placeholders); run in this order, so
# a case may read an earlier case's outputs ({cutouts} is the plain cutout's folder)
CASES: dict[str, list[str]] = {
    "cutout": ["cutout", "{samples}", "-o", "{out}", "-j", "1"],
    "cutout-catalog-jpeg": ["cutout", "{samples}", "-o", "{out}", "-j", "1", "-f", "jpeg",
                            "--background", "white", "--canvas", "800x800", "--padding", "6%",
                            "--shadow"],
    "cutout-mask-binary": ["cutout", "{samples}", "-o", "{out}", "-j", "1", "--mask-only",
                           "--binary"],
    "cutout-options": ["cutout", "{samples}", "-o", "{out}", "-j", "1", "--trim", "--canvas",
                       "1200x1200", "--max-upscale", "4", "--holes", "all",
                       "--decontaminate", "0.5", "-f", "webp", "--lossless"],
    "auto-tone": ["auto-tone", "{samples}", "-o", "{out}", "-j", "1", "--xmp"],
    "auto-tone-consistent-mood": ["auto-tone", "{samples}", "-o", "{out}", "-j", "1",
                                  "--consistent", "--mood", "--strength", "0.6", "--xmp"],
    "straighten": ["straighten", "{samples}", "-o", "{out}", "-j", "1"],
    "edit": ["edit", "{samples}", "-o", "{out}", "-j", "1", "--exposure", "0.3", "--clarity",
             "15", "--xmp"],
    "fill-studio": ["fill", "{cutouts}", "-o", "{out}", "--prompt",
                    "white marble counter, soft light", "--seed", "3"],
    "expand-patch": ["expand", "{samples}", "-o", "{out}", "--size", "700x700", "--engine",
                     "patch", "--seed", "1"],
    "composite-studio": ["composite", "{cutouts}", "-o", "{out}", "--prompt",
                         "sage green linen, soft light", "--seed", "2"],
    "batch-catalog": ["batch", "{samples}", "{out}", "-j", "1", "--steps", "cutout,auto_tone",
                      "--canvas", "1000x1000", "--padding", "6%", "--background", "white",
                      "--shadow", "-f", "jpeg"],
    "batch-studio": ["batch", "{samples}", "{out}", "-j", "1", "--steps",
                     "cutout,auto_tone,fill", "--prompt", "oak table, window light",
                     "--canvas", "900x900"],
}


def digest(path: Path) -> Any:
    """What a file stands for: an image's decoded pixels (hashed), a sidecar's settings."""
    if path.suffix == ".xmp":
        return read_preset(path.read_bytes()).settings
    with Image.open(path) as image:
        pixels = np.asarray(image)
        head = f"{image.mode} {image.size}"
    return hashlib.sha256(head.encode() + np.ascontiguousarray(pixels).tobytes()).hexdigest()


def outputs(folder: Path) -> dict[str, Any]:
    """Every output below ``folder`` (the batch's own records left out), by relative path."""
    return {p.relative_to(folder).as_posix(): digest(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and ".lampyris" not in p.parts}


def run_cases(names: list[str], work: Path, say: Callable[[str], None]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    places = {"samples": str(SAMPLES), "cutouts": str(work / "cutout")}
    needed = set(names) | ({"cutout"} if any("{cutouts}" in a for n in names
                                             for a in CASES[n]) else set())
    for name in (n for n in CASES if n in needed):
        out = work / name
        args = [a.format(out=out, **places) for a in CASES[name]]
        result = CliRunner().invoke(app, args)
        if result.exit_code != 0:
            raise SystemExit(f"{name}: exit {result.exit_code}: {result.output.strip()}")
        if name in names:
            found[name] = outputs(out)
            say(f"{name}: {len(found[name])} outputs")
    return found


# --- the server's routes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A placeholder in a request body, filled in per sample: ``url`` (the file host's URL of
    ``file``), ``upload`` (its Firefly upload id), ``text`` (its contents, inline), ``put`` (a
    fresh URL on the file host that takes a result; collected as an output of the job).
    ``{sample}`` and ``{stem}`` in ``file`` name the sample."""

    how: Literal["url", "upload", "text", "put"]
    file: str = ""


IN, UP, PUT = Ref("url", "{sample}"), Ref("upload", "{sample}"), Ref("put")
ALL = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg")


@dataclass(frozen=True)
class ServerCase:
    route: str
    body: dict[str, Any]
    samples: tuple[str, ...] = ALL


def _ext(href: Any) -> dict[str, Any]:
    return {"href": href, "storage": "external"}


def _lr_out(kind: str, **extra: Any) -> list[dict[str, Any]]:
    return [{**_ext(PUT), "type": kind, **extra}]


# Presets the develop routes read by URL (and /lrService/xmp inline), in Camera Raw's XMP: one
# with a rendered file's white balance sliders, one with a raw file's (Kelvin).
PRESETS = {
    "warm.xmp": ("Warm", 'crs:IncrementalTemperature="+18" crs:IncrementalTint="+6" '
                         'crs:Vibrance="+20" crs:Shadows2012="+15"'),
    "faded.xmp": ("Faded", 'crs:Contrast2012="-25" crs:Blacks2012="+20" crs:Saturation="-15" '
                           'crs:Clarity2012="+10" crs:Temperature="5200" crs:Tint="+9"'),
}

SERVER_CASES: dict[str, ServerCase] = {
    # Photoshop v1 (Sensei): results PUT to the caller's storage
    "server-sensei-cutout": ServerCase("/sensei/cutout", {"input": _ext(IN),
                                                          "output": _ext(PUT)}),
    "server-sensei-mask": ServerCase("/sensei/mask", {
        "input": _ext(IN), "output": {**_ext(PUT), "mask": {"format": "binary"}}}),
    "server-sensei-catalog": ServerCase("/sensei/cutout", {
        "input": _ext(IN), "output": {**_ext(PUT), "color": {"space": "rgb"}},
        "lampyris": {"padding": "6%", "canvas": "800x800", "shadow": True}},
        ("chelsea.jpg", "coffee.jpg")),
    # Photoshop v2 remove-background: results hosted here
    "server-rb-cutout": ServerCase("/v2/remove-background", {"image": {"source": {"url": IN}}}),
    "server-rb-mask": ServerCase("/v2/remove-background", {
        "image": {"source": {"url": IN}}, "mode": "mask",
        "output": {"mediaType": "image/png"}}),
    "server-rb-background-jpeg": ServerCase("/v2/remove-background", {
        "image": {"source": {"url": IN}}, "trim": True, "output": {"mediaType": "image/jpeg"},
        "backgroundColor": {"red": 236, "green": 226, "blue": 210, "alpha": 1}}),
    "server-rb-options": ServerCase("/v2/remove-background", {
        "image": {"source": {"url": IN}}, "colorDecontamination": 0.5,
        "output": {"mediaType": "image/webp"},
        "lampyris": {"canvas": "900x900", "padding": "5%", "shadow": True, "holes": "all",
                     "mirror_pass": "always", "max_upscale": 2}},
        ("astronaut.jpg", "coffee.jpg")),
    # Photoshop v2 edit (Lightroom's settings): hosted, or PUT to a pre-signed URL
    "server-ps-edit": ServerCase("/v2/edit", {
        "image": {"source": {"url": IN}},
        "edits": {"autoTone": True, "light": {"contrast": 10, "shadows": 20},
                  "color": {"vibrance": 12}, "effects": {"clarity": 15},
                  "sharpen": {"edgeMasking": 40}},
        "outputs": [{"destination": {"validityPeriod": 600}, "mediaType": "image/jpeg",
                     "quality": "high"}]}),
    "server-ps-edit-presets": ServerCase("/v2/edit", {
        "image": {"source": {"url": IN}},
        "edits": {"autoStraighten": {"enabled": True, "uprightMode": "full"},
                  "presets": [{"url": Ref("url", "warm.xmp")}],
                  "xmp": {"source": {"url": Ref("url", "faded.xmp")}}},
        "outputs": [{"destination": {"url": PUT}, "mediaType": "image/png",
                     "compression": "high"}]},
        ("astronaut.jpg", "rocket.jpg")),
    "server-ps-edit-xmp": ServerCase("/v2/edit", {
        "image": {"source": {"url": IN}},
        "edits": {"autoTone": True, "light": {"exposure": 0.25}},
        "outputs": [{"destination": {}, "mediaType": "application/rdf+xml"}]}),
    # Lightroom: results PUT to the caller's storage
    "server-lr-autotone": ServerCase("/lrService/autoTone", {
        "inputs": _ext(IN), "outputs": _lr_out("image/jpeg")}),
    "server-lr-autotone-xmp": ServerCase("/lrService/autoTone", {
        "inputs": _ext(IN), "outputs": _lr_out("application/rdf+xml")}),
    "server-lr-straighten": ServerCase("/lrService/autoStraighten", {
        "inputs": _ext(IN), "options": {"uprightMode": "level", "constrainCrop": True},
        "outputs": _lr_out("image/png")}),
    "server-lr-edit": ServerCase("/lrService/edit", {
        "inputs": {"source": _ext(IN)},
        "options": {"Exposure": 0.4, "Contrast": 15, "Highlights": -30, "Shadows": 25,
                    "Whites": 5, "Blacks": -5, "Vibrance": 10, "Saturation": -5,
                    "Clarity": 10, "Dehaze": 5, "Texture": 10, "VignetteAmount": -15,
                    "Sharpness": 40, "SharpenRadius": 1.2, "SharpenDetail": 30,
                    "SharpenEdgeMasking": 3, "NoiseReduction": 10, "ColorNoiseReduction": 25,
                    "WhiteBalance": "Daylight"},
        "outputs": _lr_out("image/jpeg", quality=8)}),
    "server-lr-presets": ServerCase("/lrService/presets", {
        "inputs": {"source": _ext(IN),
                   "presets": [_ext(Ref("url", "faded.xmp")), _ext(Ref("url", "warm.xmp"))]},
        "outputs": _lr_out("image/png")}, ("chelsea.jpg", "coffee.jpg")),
    "server-lr-xmp": ServerCase("/lrService/xmp", {
        "inputs": {"source": _ext(IN)},
        "options": {"xmp": Ref("text", "warm.xmp"), "orientation": 6},
        "outputs": _lr_out("image/jpeg")}, ("astronaut.jpg", "coffee.jpg")),
    # Firefly: async (polled) and sync routes, sources by URL or upload id, fixed seeds
    "server-ff-fill": ServerCase("/v3/images/fill-async", {
        "image": {"source": {"url": IN}},
        "mask": {"source": {"url": Ref("url", "hole/{stem}.png")}}, "seeds": [11, 12]},
        ("chelsea.jpg", "coffee.jpg")),
    "server-ff-fill-studio": ServerCase("/v3/images/fill", {
        "prompt": "white marble counter, soft light", "image": {"source": {"uploadId": UP}},
        "mask": {"source": {"uploadId": Ref("upload", "ellipse/{stem}.png")}, "invert": True},
        "seeds": [3]}, ("coffee.jpg", "rocket.jpg")),
    "server-ff-fill-image-mask": ServerCase("/v3/images/fill", {
        "image": {"source": {"uploadId": UP},
                  "mask": {"uploadId": Ref("upload", "hole/{stem}.png")}},
        "lampyris": {"engine": "patch"}, "numVariations": 1, "seeds": [5]}, ("astronaut.jpg",)),
    "server-ff-expand": ServerCase("/v3/images/expand-async", {
        "image": {"source": {"uploadId": UP}}, "size": {"width": 800, "height": 800},
        "placement": {"alignment": {"horizontal": "left", "vertical": "top"}},
        "seeds": [1, 2]}, ("chelsea.jpg", "rocket.jpg")),
    "server-ff-expand-sync": ServerCase("/v3/images/expand", {
        "prompt": "clear sky", "image": {"source": {"url": IN}},
        "size": {"width": 900, "height": 600},
        "placement": {"inset": {"left": 40, "top": 30}}, "lampyris": {"engine": "patch"},
        "seeds": [4]}, ("coffee.jpg",)),
    "server-ff-composite": ServerCase("/v3/images/generate-object-composite-async", {
        "prompt": "sage green linen, soft light", "image": {"source": {"uploadId": UP}},
        "size": {"width": 640, "height": 640}, "seeds": [2, 9]}, ("coffee.jpg", "rocket.jpg")),
    "server-ff-composite-sync": ServerCase("/v3/images/generate-object-composite", {
        "prompt": "oak table, window light", "image": {"source": {"url": IN}},
        "mask": {"source": {"url": Ref("url", "keep/{stem}.png")}},
        "size": {"width": 720, "height": 540}, "contentClass": "art",
        "placement": {"inset": {"bottom": 20}, "alignment": {"horizontal": "right"}},
        "seeds": [7]}, ("chelsea.jpg",)),
}
ALL_CASES = [*CASES, *SERVER_CASES]


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def server_inputs() -> dict[str, tuple[bytes, str]]:
    """What the file host serves: the samples; per sample a ``hole`` mask (a box inside the
    picture, white), an ``ellipse`` mask (white around the middle) and its opposite, ``keep``
    (the product black); the presets."""
    files: dict[str, tuple[bytes, str]] = {}
    for path in sorted(SAMPLES.glob("*.jpg")):
        files[path.name] = (path.read_bytes(), "image/jpeg")
        with Image.open(path) as image:
            w, h = image.size
        hole = Image.new("L", (w, h), 0)
        ImageDraw.Draw(hole).rectangle((w // 10, h * 11 // 20, w * 7 // 20, h * 4 // 5), 255)
        ellipse = Image.new("L", (w, h), 0)
        ImageDraw.Draw(ellipse).ellipse((w // 5, h // 8, w * 4 // 5, h * 7 // 8), 255)
        files[f"hole/{path.stem}.png"] = (_png(hole), "image/png")
        files[f"ellipse/{path.stem}.png"] = (_png(ellipse), "image/png")
        files[f"keep/{path.stem}.png"] = (_png(ellipse.point(lambda v: 255 - v)), "image/png")
    for name, (title, attributes) in PRESETS.items():
        xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
               'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
               'rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" '
               f'crs:PresetType="Normal" {attributes}><crs:Name><rdf:Alt><rdf:li '
               f'xml:lang="x-default">{title}</rdf:li></rdf:Alt></crs:Name></rdf:Description>'
               '</rdf:RDF></x:xmpmeta>\n')
        files[name] = (xmp.encode(), "application/rdf+xml")
    return files


def server_env() -> dict[str, str]:
    """The server's environment: loopback URLs allowed (the file host), no rate limit, and
    this checkout's ``src`` first, so the server runs the code this script was started from."""
    paths = [str(SRC), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {"LAMPYRIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8", "LAMPYRIS_RATE_LIMIT_PER_MINUTE": "0",
           "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
    child = subprocess.run([sys.executable, "-c", "import lampyris; print(lampyris.__file__)"],
                           env={**os.environ, **env}, capture_output=True, text=True, check=True)
    if not Path(child.stdout.strip()).resolve().is_relative_to(SRC.resolve()):
        raise SystemExit(f"the server would run {child.stdout.strip()}, not {SRC}")
    return env


VOLATILE = {"jobId", "jobID", "created", "modified", "createdTime", "modifiedTime", "timings"}


def scrub(value: Any) -> Any:
    """A status body without what changes from run to run: ids, times, timings and URLs
    (both hosts listen on 127.0.0.1, on a new port each run)."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in VOLATILE and not _url(v)}
    if isinstance(value, list):
        return [scrub(v) for v in value if not _url(v)]
    return value


def _url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("http://127.0.0.1:")


def _urls(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _urls(v)
    elif isinstance(value, list):
        for v in value:
            yield from _urls(v)
    elif _url(value):
        yield value


@dataclass
class Job:
    case: str
    sample: str
    puts: list[str] = field(default_factory=list)  # file host paths the job PUTs its results to
    status_url: str = ""
    answer: Future[dict[str, Any]] | None = None  # a synchronous call's body


class ServerRun:
    """One server and one file host for all the server cases asked for."""

    def __init__(self, server: Any, host: Any, files: dict[str, tuple[bytes, str]]) -> None:
        self.server, self.host, self.files = server, host, files
        self.uploads: dict[str, str] = {}

    def fill(self, value: Any, job: Job) -> Any:
        if isinstance(value, dict):
            return {k: self.fill(v, job) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v, job) for v in value]
        if not isinstance(value, Ref):
            return value
        name = value.file.replace("{sample}", job.sample).replace("{stem}",
                                                                   Path(job.sample).stem)
        if value.how == "url":
            return self.host.url(f"/in/{name}")
        if value.how == "text":
            return self.files[name][0].decode()
        if value.how == "upload":
            return self.upload(name)
        job.puts.append(f"/out/{job.case}/{Path(job.sample).stem}-{len(job.puts)}")
        return self.host.url(job.puts[-1])

    def upload(self, name: str) -> str:
        if name not in self.uploads:
            data, kind = self.files[name]
            answer = httpx.post(f"{self.server.url}/v2/storage/image", content=data,
                                headers={**self.server.headers(), "Content-Type": kind},
                                timeout=30)
            answer.raise_for_status()
            self.uploads[name] = answer.json()["images"][0]["id"]
        return self.uploads[name]

    def submit(self, job: Job, pool: ThreadPoolExecutor) -> None:
        case = SERVER_CASES[job.case]
        body = self.fill(case.body, job)
        if case.route.startswith("/v3/images/") and not case.route.endswith("-async"):
            def call() -> dict[str, Any]:
                answer = httpx.post(f"{self.server.url}{case.route}", json=body,
                                    headers=self.server.headers(), timeout=600)
                if answer.status_code != 200:
                    raise SystemExit(f"{job.case} {job.sample}: {answer.status_code} "
                                     f"{answer.text}")
                return dict(answer.json())

            job.answer = pool.submit(call)
            return
        answer = self.server.post(case.route, body)
        if answer.status_code != 202:
            raise SystemExit(f"{job.case} {job.sample}: {answer.status_code} {answer.text}")
        accepted = answer.json()
        job.status_url = accepted.get("statusUrl") or accepted["_links"]["self"]["href"]

    def finish(self, job: Job, folder: Path) -> dict[str, Any]:
        """Wait for ``job``, write its outputs to ``folder``; its scrubbed status body."""
        if job.answer is not None:
            body, ok = job.answer.result(), True
        elif SERVER_CASES[job.case].route.startswith("/lrService/"):
            body = self.server.wait_lightroom(job.status_url, timeout=600)
            ok = body["outputs"][0]["status"] == "succeeded"
        else:
            body = self.server.wait(job.status_url, timeout=600)
            ok = body["status"] == "succeeded"
        if not ok:
            raise SystemExit(f"{job.case} {job.sample}: {json.dumps(body)}")
        hosted = [u for u in dict.fromkeys(_urls(body))
                  if u.startswith(f"{self.server.url}/files/")]
        results = [httpx.get(u, timeout=30).raise_for_status().content for u in hosted]
        results += [self.host.objects[path].data for path in job.puts]
        stem = Path(job.sample).stem
        for n, data in enumerate(results):
            name = stem if len(results) == 1 else f"{stem}-{n}"
            (folder / f"{name}.{_kind(data)}").write_bytes(data)
        if not results:
            raise SystemExit(f"{job.case} {job.sample}: no output in {json.dumps(body)}")
        return {f"{stem}.status": scrub(body)}


def _kind(data: bytes) -> str:
    if b"xmpmeta" in data[:512]:
        return "xmp"
    with Image.open(io.BytesIO(data)) as image:
        return {"JPEG": "jpg"}.get(image.format or "", (image.format or "bin").lower())


@contextmanager
def file_host(files: dict[str, tuple[bytes, str]]) -> Iterator[Any]:
    from lampyris.storage import Blob
    from support.http_server import ScriptedServer, serve

    state = ScriptedServer()
    state.objects.update({f"/in/{name}": Blob(*entry) for name, entry in files.items()})
    yield from serve(state, None)


def run_server_cases(names: list[str], work: Path, say: Callable[[str], None]) -> dict[str, Any]:
    from support.lampyris_server import running_server

    started = time.monotonic()
    files = server_inputs()
    found: dict[str, Any] = {}
    with (running_server(env=server_env(), workers=2) as server, file_host(files) as host,
          ThreadPoolExecutor(4) as pool):
        run = ServerRun(server, host, files)
        say(f"server at {server.url}, file host at {host.url('')}")
        jobs = [Job(name, sample) for name in SERVER_CASES if name in names
                for sample in SERVER_CASES[name].samples]
        for job in jobs:
            run.submit(job, pool)
        for job in jobs:
            folder = work / job.case
            folder.mkdir(parents=True, exist_ok=True)
            found.setdefault(job.case, {}).update(run.finish(job, folder))
    for name in found:
        found[name].update(outputs(work / name))
        say(f"{name}: {len(found[name])} outputs")
    say(f"server cases: {time.monotonic() - started:.1f} s")
    return found


def compare(case: str, got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """One line per output of ``case`` that is missing, new or different."""
    lines = []
    for rel in sorted(set(got) | set(want)):
        if rel not in got:
            lines.append(f"{case}/{rel}: missing (the golden run wrote it)")
        elif rel not in want:
            lines.append(f"{case}/{rel}: new (the golden run did not write it)")
        elif got[rel] != want[rel] and _intended(case, got[rel]) == want[rel]:
            continue  # said once, by ``intended_changes``
        elif got[rel] != want[rel]:
            lines.append(f"{case}/{rel}: differs{_how(got[rel], want[rel])}")
    return lines


# Outputs that changed on purpose since they were recorded: (case prefix, what, why). Each is
# undone by ``_intended`` before comparing, so everything else must still match exactly.
INTENDED = [
    ("server-rb-", "result.outputs[].lampyris added to /v2/remove-background's status",
     "issue 15: the remote batch backend reads the cutout's own report (subject box, "
     "decontamination, cut edges, notices) from it; an extension object Adobe's clients "
     "ignore. Pixels are unchanged."),
]


def _intended(case: str, value: Any) -> Any:
    """``value`` with the intended changes of ``case`` undone."""
    if not any(case.startswith(prefix) for prefix, _, _ in INTENDED):
        return value
    if isinstance(value, dict) and isinstance(value.get("result"), dict):
        outputs = [{k: v for k, v in o.items() if k != "lampyris"}
                   for o in value["result"].get("outputs", [])]
        return {**value, "result": {**value["result"], "outputs": outputs}}
    return value


def intended_changes(cases: list[str]) -> list[str]:
    return [f"changed on purpose: {what} ({why})" for prefix, what, why in INTENDED
            if any(c.startswith(prefix) for c in cases)]


def _how(got: Any, want: Any, path: str = "") -> str:
    """Where two settings reports or status bodies part: the first key added, removed or
    changed (pixel hashes just differ)."""
    if isinstance(got, dict) and isinstance(want, dict):
        for key in sorted(set(got) | set(want), key=str):
            here = f"{path}.{key}" if path else str(key)
            if key not in want:
                return f": {here} added"
            if key not in got:
                return f": {here} removed"
            if got[key] != want[key]:
                return _how(got[key], want[key], here)
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for index, (a, b) in enumerate(zip(got, want, strict=True)):
            if a != b:
                return _how(a, b, f"{path}[{index}]")
    return f": {path} {want!r} -> {got!r}" if path else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["record", "check"])
    parser.add_argument("--only", default="",
                        help="comma-separated case names; 'server' means every server-* case")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(ALL_CASES)
    if "server" in names:
        names = [n for n in names if n != "server"] + [n for n in SERVER_CASES if n not in names]
    unknown = sorted(set(names) - set(ALL_CASES))
    if unknown:
        raise SystemExit(f"unknown case(s) {', '.join(unknown)}: one of "
                         f"{', '.join(ALL_CASES)} (or server)")

    def say(line: str) -> None:
        print(line, file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="lampyris-goldens-") as tmp:
        cli = [n for n in names if n in CASES]
        found = run_cases(cli, Path(tmp), say) if cli else {}
        served = [n for n in names if n in SERVER_CASES]
        if served:
            found |= run_server_cases(served, Path(tmp), say)
    if args.command == "record":
        kept = json.loads(GOLDENS.read_text()) if GOLDENS.exists() else {}
        GOLDENS.write_text(json.dumps({**kept, **found}, indent=1, sort_keys=True) + "\n")
        print(f"recorded {sum(len(v) for v in found.values())} outputs to {GOLDENS}")
        return 0
    golden = json.loads(GOLDENS.read_text())
    changed = [line for case in found for line in compare(case, found[case],
                                                          golden.get(case, {}))]
    for line in intended_changes(list(found)) + changed:
        print(line)
    print(f"{len(changed)} of {sum(len(v) for v in found.values())} outputs differ")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
