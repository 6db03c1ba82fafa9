"""House looks (``--consistent``): one exposure and white balance for a whole set of images.

``autotone.measure_look`` takes the median of what auto tone would choose for each image; here
it is fed thumbnails of files or of a batch source (JPEGs DCT-scaled while decoding, so a
24 MP photo costs milliseconds and memory stays flat), saved as JSON so next week's catalog
can be toned toward this week's look, and kept in a batch's ledger so that a resumed or
repeated run tones toward the same look and its fingerprint still matches what is done.

In a batch the look is measured on what the toning step will see: the steps before it run on
each thumbnail first (a cutout's subject, not its studio background).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from lampyris.errors import InputError, InvalidParameterError, StorageError
from lampyris.imaging.autotone import HouseLook, measure_look
from lampyris.imaging.decode import Source, decode
from lampyris.ops.pipeline import run_calls
from lampyris.storage.atomic import write_atomic
from lampyris.storage.locations import Location, list_images
from lampyris.workflows.ledger import Ledger
from lampyris.workflows.steps import Step, execution

MEASURE_SIDE = 384  # auto tone judges a thumbnail of this long side: decoding more is waste
DEFAULT_SAMPLE = 200  # a batch measures at most this many inputs, evenly spread
STATE = "house_look"  # the ledger state the measured look is kept under

Tick = Callable[[], None]


def read_look(path: Path) -> HouseLook:
    """A look saved by ``write_look`` (``{"key": 0.5, "cast": [0.0, 0.0], …}``; other keys
    are notes and ignored)."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise InvalidParameterError(f"look file {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidParameterError(f"look file {path}: not JSON ({exc})") from None
    try:
        return look_of(data)
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"look file {path}: {exc}") from None


def look_of(data: Any) -> HouseLook:
    """The look in a stored JSON object; InvalidParameterError when it holds none."""
    if not isinstance(data, dict) or "key" not in data:
        raise InvalidParameterError('a look is a JSON object with "key" (and "cast")')
    try:
        return HouseLook.model_validate({k: data[k] for k in ("key", "cast") if k in data})
    except ValidationError as exc:
        raise InvalidParameterError("; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None


def write_look(path: Path, look: HouseLook, **notes: Any) -> None:
    """Save ``look`` (and ``notes``, e.g. how many images it was measured over) as JSON."""
    data = {**look.model_dump(mode="json"), **notes}
    write_atomic(path, (json.dumps(data, indent=2) + "\n").encode())


def describe(look: HouseLook) -> str:
    """``key 0.52 · cast R/G +0.03, B/G -0.05 (log2 stops)`` for people."""
    red, blue = look.cast
    return f"key {look.key:.3f} · cast R/G {red:+.3f}, B/G {blue:+.3f} (log2)"


def _thumbnails(sources: Iterable[Callable[[], Source]],
                before: Callable[[Any], np.ndarray] | None, tick: Tick | None,
                counted: list[int]) -> Iterator[np.ndarray]:
    """Small decoded copies, one at a time; the ones that cannot be read (or measured) are left
    out: the main pass reports them with their reason."""
    for open_source in sources:
        try:
            image = decode(open_source(), reduce_to=(MEASURE_SIDE, MEASURE_SIDE))
            pixels = image.pixels if before is None else before(image)
        except (InputError, StorageError, OSError):  # a missing model is not the image's fault
            pixels = None
        if tick is not None:
            tick()
        if pixels is not None and pixels.ndim == 3:
            counted[0] += 1
            yield pixels


def measure_files(paths: Sequence[Path], *, tick: Tick | None = None
                  ) -> tuple[HouseLook | None, int]:
    """The house look of image files, and how many it was measured over (None: none of
    them could be read)."""
    counted = [0]
    opened = (partial(Path, path) for path in paths)
    look = measure_look(_thumbnails(opened, None, tick, counted))
    return (look if counted[0] else None), counted[0]


# --- batches -----------------------------------------------------------------------------


def toning(step: Step) -> bool:
    """Whether ``step`` runs auto tone, so a house look applies to it."""
    return step.name == "auto_tone" or (step.name == "edit" and bool(step.params.get("auto_tone")))


def with_look(steps: Sequence[Step], look: HouseLook) -> tuple[Step, ...]:
    """``steps`` with ``look`` given to every toning step that has none of its own."""
    value = look.model_dump(mode="json")
    return tuple(Step(s.name, {**s.params, "look": value})
                 if toning(s) and s.params.get("look") is None else s for s in steps)


def first_toning(steps: Sequence[Step]) -> int:
    """Where the first toning step is; InvalidParameterError when there is none."""
    for index, step in enumerate(steps):
        if toning(step):
            return index
    raise InvalidParameterError(
        "a house look (--consistent, --look-file) needs an auto_tone step, or an edit step "
        "with auto_tone")


def _before_key(steps: Sequence[Step]) -> str:
    blob = json.dumps([[s.name, s.params] for s in steps], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def measure_source(location: Location, steps: Sequence[Step], *, sample: int = DEFAULT_SAMPLE,
                   on_listed: Callable[[int], None] | None = None, tick: Tick | None = None
                   ) -> tuple[HouseLook | None, int]:
    """The house look of the images at ``location`` as the first toning step of ``steps``
    will see them, from at most ``sample`` of them (0: all) spread evenly over the listing."""
    first = first_toning(steps)
    calls = execution(steps)
    until = [i for i, c in enumerate(calls) if c.op != "finish"][first]  # one per step

    def before(image: Any) -> np.ndarray:
        pixels, _, _ = run_calls(image, calls[:until])
        return pixels

    listing = list(list_images(location))
    if sample and len(listing) > sample:
        listing = [listing[i * len(listing) // sample] for i in range(sample)]
    if on_listed is not None:
        on_listed(len(listing))
    fs, _ = location.open()
    counted = [0]
    opened = (partial(fs.cat_file, f.path) for f in listing)
    look = measure_look(_thumbnails(opened, before if until else None, tick, counted))
    return (look if counted[0] else None), counted[0]


@dataclass(frozen=True)
class BatchLook:
    """The look a batch tones toward, and where it came from."""

    look: HouseLook
    images: int
    measured: bool  # False: found in the ledger, as measured by an earlier run
    remeasured_because: str = ""


def batch_look(source: Location, sink: Location, steps: Sequence[Step], ledger: Ledger, *,
               remeasure: bool = False, sample: int = DEFAULT_SAMPLE,
               on_listed: Callable[[int], None] | None = None, tick: Tick | None = None,
               ) -> BatchLook:
    """The house look for ``source`` → ``sink``: the one kept in the ledger, or measured now
    and kept there (when asked to, or when the steps before the toning step have changed,
    since they change what is measured)."""
    before = _before_key(steps[:first_toning(steps)])
    stored = ledger.get_state(source.url, sink.url, STATE)
    why = ""
    if isinstance(stored, dict) and not remeasure:
        if stored.get("before") == before:
            try:
                return BatchLook(look_of(stored), int(stored.get("images", 0)), measured=False)
            except InvalidParameterError:
                why = "the stored look was unreadable"
        else:
            why = "the steps before auto tone changed"
    look, images = measure_source(source, steps, sample=sample, on_listed=on_listed, tick=tick)
    if look is None:
        raise InvalidParameterError(
            f"{source.url}: no image to measure a house look over (for a source that starts "
            "empty, give a saved look with --look-file)")
    ledger.put_state(source.url, sink.url, STATE, {
        **look.model_dump(mode="json"), "images": images, "before": before,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    return BatchLook(look, images, measured=True, remeasured_because=why)
