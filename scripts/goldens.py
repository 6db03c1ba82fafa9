"""Golden outputs of the command line on the bundled samples: record them, then prove a
refactor kept them.

Every file command (``cutout`` in several finishes, ``auto-tone``, ``straighten``, ``edit``,
``fill``, ``expand``, ``composite``) and two ``batch`` step chains run in this process on
``samples/``; each output is reduced to the sha256 of its decoded pixels (with mode and size),
each XMP sidecar to the settings it holds. ``record`` writes them to ``scripts/goldens.json``;
``check`` runs everything again and lists what differs (exit 1).

Why a script and not a CI test: the hashes pin ONNX Runtime's arithmetic on this CPU and the
lockfile's Pillow/OpenCV builds, so they are compared on one machine, before and after a
change (``record`` on the old commit, ``check`` on the new), not across machines. The server's
routes are not covered yet: they need a storage service and a running server.

Usage:
    .venv/bin/python scripts/goldens.py record   # before the change
    .venv/bin/python scripts/goldens.py check    # after it
    .venv/bin/python scripts/goldens.py check --only cutout,edit
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

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


def compare(case: str, got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """One line per output of ``case`` that is missing, new or different."""
    lines = []
    for rel in sorted(set(got) | set(want)):
        if rel not in got:
            lines.append(f"{case}/{rel}: missing (the golden run wrote it)")
        elif rel not in want:
            lines.append(f"{case}/{rel}: new (the golden run did not write it)")
        elif got[rel] != want[rel]:
            lines.append(f"{case}/{rel}: differs")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["record", "check"])
    parser.add_argument("--only", default="", help="comma-separated case names")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(CASES)
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        raise SystemExit(f"unknown case(s) {', '.join(unknown)}: one of {', '.join(CASES)}")
    with tempfile.TemporaryDirectory(prefix="lampyris-goldens-") as tmp:
        found = run_cases(names, Path(tmp), lambda line: print(line, file=sys.stderr))
    if args.command == "record":
        kept = json.loads(GOLDENS.read_text()) if GOLDENS.exists() else {}
        GOLDENS.write_text(json.dumps({**kept, **found}, indent=1, sort_keys=True) + "\n")
        print(f"recorded {sum(len(v) for v in found.values())} outputs to {GOLDENS}")
        return 0
    golden = json.loads(GOLDENS.read_text())
    changed = [line for case in found for line in compare(case, found[case],
                                                          golden.get(case, {}))]
    for line in changed:
        print(line)
    print(f"{len(changed)} of {sum(len(v) for v in found.values())} outputs differ")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
