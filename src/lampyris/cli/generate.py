"""What ``fill``, ``expand`` and ``composite`` add to the file commands: one optional mask
for every input, and one output per seed (``<stem>-<seed>.<ext>`` when there are several),
each a task of its own through the same file engine (``cli.files.run_files``). A fill whose
fidelity guard did not hold fails that output with the guard's reason; the other seeds go on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError

from lampyris.cli.files import expand, fail, run_files
from lampyris.cli.options import Format
from lampyris.errors import LampyrisError
from lampyris.imaging.decode import DecodedImage, decode
from lampyris.imaging.encode import OutputFormat
from lampyris.ops import CATALOG
from lampyris.workflows.filejob import FileJob
from lampyris.workflows.files import FileTask
from lampyris.workflows.naming import Naming

MAX_SEED = 2**32 - 1
OPTION_NAMES = {"horizontal": "--align-x", "vertical": "--align-y"}


def generation(op: str, params: dict[str, Any], *, seed: int, variations: int,
               mask: Path | None, format: Format, quality: int | None, lossless: bool,
               overwrite: bool) -> tuple[FileJob, tuple[int, ...]]:
    """The job the options ask for and its seeds, the parameters validated by the op's own
    model for every seed (a bad option stops before any image is read: exit 2)."""
    seeds = tuple(range(seed, seed + variations))
    if seeds[-1] > MAX_SEED:
        raise fail(f"--seed {seed} with --variations {variations} passes the largest seed "
                   f"({MAX_SEED})")
    try:
        CATALOG[op].params.model_validate({**params, "seed": seeds[-1]})
    except ValidationError as exc:
        raise fail("; ".join(
            f"{OPTION_NAMES.get(str(e['loc'][0]), '--' + str(e['loc'][0]).replace('_', '-'))}: "
            f"{e['msg']}" for e in exc.errors())) from None
    decoded: DecodedImage | None = None
    if mask is not None:
        try:
            decoded = decode(mask)
        except LampyrisError as exc:
            raise fail(f"--mask {mask}: {exc}") from None
        except OSError as exc:
            raise fail(f"--mask {mask}: {exc.strerror or exc}") from None
    job = FileJob(op, params, cast(OutputFormat, format.value), quality, lossless,
                  overwrite=overwrite, mask=decoded, mask_sized_like_input=op != "expand")
    return job, seeds


def run_generation(label: str, inputs: list[str], output: Path, naming: Naming, job: FileJob,
                   seeds: tuple[int, ...], jobs: int) -> None:
    """Run ``job`` over ``inputs`` into ``output`` (outputs named by ``naming``), once per
    seed; exit 1 when an output failed, 2 before anything runs when two inputs would share an
    output."""
    tasks, problems = expand(inputs, output, job.format, naming)
    if len(seeds) > 1:
        tasks = [FileTask(t.source, t.destination.with_name(
                 f"{t.destination.stem}-{seed}{t.destination.suffix}"), seed)
                 for t in tasks for seed in seeds]
    else:
        tasks = [FileTask(t.source, t.destination, seeds[0]) for t in tasks]
    run_files(label, tasks, problems, job, jobs)
