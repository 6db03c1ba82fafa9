"""What every file command (``cutout``, ``auto-tone``, ``straighten``, ``edit``, ``fill``,
``expand``, ``composite``) shares: input expansion and output naming
(``workflows.inputs``), then one run of the batch runner (``workflows.batch.BatchRunner``)
over those entries on the local backends, with the progress bar, the summary, the exit codes
(0 all done, 1 some file failed, 2 bad options), ``--report``, ``--summary`` and ``--ledger``.

Without ``--ledger`` the runner's ledger lives in memory for the one command: an existing
output is skipped unless ``--overwrite``, so a re-run resumes. With ``--ledger FILE`` it is
kept there, so a re-run also skips what the ledger records as done with the same settings
from the unchanged input (``--overwrite`` or not), and the report shows the whole history.

Results a person should check (their review flag: ``--review-threshold``) are counted on the
summary line and listed, lowest score first; ``--on-review move:URL`` writes them there
instead of the output folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import typer
from rich.markup import escape

from lampyris.cli.console import err as console
from lampyris.cli.console import fail, progress_bar
from lampyris.cli.options import check_format
from lampyris.errors import InvalidParameterError, LampyrisError
from lampyris.imaging.encode import OutputFormat, extension
from lampyris.models import ModelStore, resolve_spec
from lampyris.ops.pipeline import OutputSpec
from lampyris.ops.pool import available_cores
from lampyris.storage.locations import Location
from lampyris.workflows.backends.base import Backend
from lampyris.workflows.backends.inline import InlineBackend
from lampyris.workflows.backends.local import LocalBackend
from lampyris.workflows.batch import (
    BatchRunner,
    BatchSpec,
    Event,
    RunSummary,
    check_review_location,
)
from lampyris.workflows.inputs import FileTask, InputProblem, entries, expand_inputs, same_format
from lampyris.workflows.item import ExtraImage
from lampyris.workflows.ledger import Ledger, LedgerItem
from lampyris.workflows.naming import Naming
from lampyris.workflows.report import review_line, summary_json, write_html_report, write_json
from lampyris.workflows.steps import Step

MAX_LISTED = 20  # results to review listed under the summary line; the report has them all
_COUNTED: frozenset[Event] = frozenset({"done", "unchanged", "skipped", "failed", "standing"})


@dataclass(frozen=True)
class FileOptions:
    """What a file command's options say about writing its outputs and running.

    ``format`` None keeps each input's format where it can be written (``same_format``);
    ``xmp`` also writes the develop settings applied as ``<output stem>.xmp``; ``jobs`` 0 is
    one worker per core, 1 runs in this process. ``layer_mask`` (a cutout's PSD): the mask
    the step makes becomes the photo's layer mask, over a layer of ``flatten``'s colour when
    given (``workflows.steps.layered_psd`` sets both)."""

    format: OutputFormat | None = "png"
    quality: int | None = None
    lossless: bool = False
    keep_metadata: bool = False
    xmp: bool = False
    overwrite: bool = False
    jobs: int = 0
    report: Path | None = None
    ledger: Path | None = None
    review_threshold: float | None = None
    on_review: str = "keep"
    summary: Path | None = None
    layer_mask: bool = False
    flatten: tuple[int, int, int, float] | None = None

    def output(self, destination: Path | None = None) -> OutputSpec:
        """How the output at ``destination`` is written (None: the run's default, which only
        the ledger's fingerprint of the run as a whole reads)."""
        fmt = self.format or (same_format(destination) if destination is not None else "png")
        return OutputSpec(fmt, self.quality,
                          self.lossless, sidecar="also" if self.xmp else "none",
                          keep_metadata=self.keep_metadata, layer_mask=self.layer_mask,
                          flatten=self.flatten)


def expand(inputs: list[str], output: Path, naming: Naming, options: FileOptions
           ) -> tuple[list[FileTask], list[InputProblem]]:
    """Tasks for ``inputs`` under ``output``, named as ``options`` write them (a ``.xmp``
    sidecar must not clash either). Two inputs that would share an output (or a sidecar) stop
    the command here, before anything runs (exit 2), unless ``naming`` resolves it; so does
    a format that cannot hold what the options ask for (``check_format``)."""
    fmt = options.format
    check_format(fmt, keep_metadata=options.keep_metadata)
    suffix: str | Callable[[Path], str] = (
        extension(fmt) if fmt is not None else (lambda name: extension(same_format(name))))
    try:
        return expand_inputs(inputs, output, suffix, naming=naming,
                             sidecar=".xmp" if options.xmp else None)
    except InvalidParameterError as exc:
        raise fail(str(exc)) from None


def run_files(label: str, step: Step, tasks: list[FileTask], problems: list[InputProblem],
              output: Path, options: FileOptions, *, images: tuple[ExtraImage, ...] = (),
              model: str | None = None) -> None:
    """Run ``step`` over ``tasks`` (written below ``output``) through the batch runner with a
    progress bar, print the summary, write the report if asked, and exit 1 when a file
    failed or an input named nothing usable. ``model``: located and verified first, so a
    missing one is one clear error rather than every worker failing to start."""
    workers = min(options.jobs or available_cores(), max(1, len(tasks)))
    by_key = {task.key: task for task in tasks}
    sink = Location(str(output.resolve()))
    folders = [str(task.source.parent) for task in tasks]
    try:  # a review folder in or around the output or an input: one line, before any work
        spec = BatchSpec(
            source=Location(os.path.commonpath(folders) if folders else sink.url), sink=sink,
            steps=(step,), output=options.output(), retry_failed=True,
            settle=0.0, skip_existing=not options.overwrite, images=images,
            on_review=_absolute(options.on_review), review_threshold=options.review_threshold)
        check_review_location(spec, [str(task.source) for task in tasks])
    except LampyrisError as exc:
        raise fail(str(exc)) from None
    thumbs = _thumbs_dir(options)
    backend: Backend | None = None
    try:
        if model is not None:
            ModelStore().path(resolve_spec(model))
        backend = InlineBackend() if workers <= 1 else LocalBackend(workers, model=model)
        with Ledger(options.ledger or Path(":memory:")) as ledger:
            summary = _run(label, step, spec, ledger, backend, tasks, output, options, thumbs,
                           by_key)
            flagged = list(islice(_to_review(ledger, sink.url), MAX_LISTED))
            more = ledger.flagged(sink.url) - len(flagged)
            if options.report is not None and thumbs is not None:
                write_html_report(options.report, ledger, sink.url, thumbs, summary,
                                  title=f"lampyris {label} report")
            if options.summary is not None:
                write_json(options.summary, summary_json(summary, ledger, sink.url))
    except LampyrisError as exc:
        raise fail(str(exc)) from None
    finally:
        if backend is not None:
            backend.close(cancel=True)
        if thumbs is not None and options.ledger is None:
            shutil.rmtree(thumbs, ignore_errors=True)
    _summary(summary, step, by_key, problems, flagged, more)
    if options.report is not None:
        console.print(f"report: {options.report}", highlight=False)
    if options.summary is not None:
        console.print(f"summary: {options.summary}", highlight=False)
    if summary.stopped:
        raise fail(f"{summary.stopped} (the run stopped; run again to resume)")
    if summary.interrupted:
        raise typer.Exit(130)
    if problems or summary.failed or summary.standing:
        raise typer.Exit(1)


def _absolute(on_review: str) -> str:
    """``move:folder`` with a local folder made absolute, so the ledger names it fully."""
    target = on_review[len("move:"):] if on_review.startswith("move:") else None
    if target is None or "://" in target:
        return on_review
    return "move:" + os.path.abspath(target)


def _to_review(ledger: Ledger, dest: str) -> Iterator[LedgerItem]:
    """The flagged results, lowest score first (the ledger's review order)."""
    for item in ledger.items(status="done", dest=dest, worst_first=True):
        if not item.flagged:
            return
        yield item


def _thumbs_dir(options: FileOptions) -> Path | None:
    """Where the report's thumbnails go: beside a named ledger (later reports show them
    too), else a temporary folder, removed once the report is written; None: no report."""
    if options.report is None:
        return None
    if options.ledger is not None:
        return Path(f"{options.ledger}.thumbs")
    return Path(tempfile.mkdtemp(prefix="lampyris-thumbs-"))


def _run(label: str, step: Step, spec: BatchSpec, ledger: Ledger, backend: Backend,
         tasks: list[FileTask], output: Path, options: FileOptions, thumbs: Path | None,
         by_key: dict[str, FileTask]) -> RunSummary:
    with progress_bar(label) as bar:
        task = bar.add_task(label, total=len(tasks))

        def on_event(event: Event, record: LedgerItem) -> None:
            if event == "done":
                report = record.details.get("steps", {}).get(step.name, {})
                if "engine" in report:  # how it was made, where it was written
                    destination = (record.details.get("routed_to")
                                   or by_key[record.input_url].destination)
                    console.print(f"  [green]✓[/green] {escape(str(destination))}: "
                                  f"{escape(_said(report))}", highlight=False)
            if event in _COUNTED:
                bar.advance(task)

        runner = BatchRunner(spec, ledger, backend, thumbs_dir=thumbs, listener=on_event,
                             entries=entries(tasks, output, options.output))
        return runner.run()


def _said(report: dict[str, object]) -> str:
    return f"engine {report['engine']} · fidelity guard held"


def _summary(summary: RunSummary, step: Step, by_key: dict[str, FileTask],
             problems: list[InputProblem], flagged: list[LedgerItem], more: int) -> None:
    def source(key: str) -> str:
        return str(by_key[key].source) if key in by_key else key

    failed = summary.failed + summary.standing
    done, seconds = summary.done, summary.seconds
    rate = f", {done / seconds:.2f} images/s" if done and seconds > 0 else ""
    console.print(
        f"[green]done {done}[/green] · skipped {summary.skipped + summary.unchanged} · "
        f"[{'red' if failed or problems else 'green'}]failed {failed + len(problems)}"
        f"[/]{review_count(summary)} in {seconds:.1f} s{rate}", highlight=False,
    )
    for p in problems:
        console.print(f"  [red]✗[/red] {p.source}: {p.reason}")
    for f in summary.failures:
        console.print(f"  [red]✗[/red] {source(f.input_url)}: {f.reason}")
    # one line per input and notice: several seeds of one input share their prompt's words
    noticed = list(dict.fromkeys((source(n.input_url), n.text.removeprefix(f"{step.name}: "))
                                 for n in summary.notices))
    for path, notice in noticed[:20]:
        console.print(f"  [yellow]![/yellow] {path}: {notice}", highlight=False)
    if len(noticed) > 20:
        console.print(f"  … and {len(noticed) - 20} more notices")
    for item in flagged:
        console.print(f"  [yellow]?[/yellow] {escape(review_line(item, source(item.input_url)))}",
                      highlight=False)
    if more > 0:
        console.print(f"  … and {more} more to review (see the report)")


def review_count(summary: RunSummary) -> str:
    """`` · 7 to review (score < 0.5)`` once a result was scored, else nothing."""
    if summary.review_threshold is None:
        return ""
    moved = f", {summary.routed} moved" if summary.routed else ""
    return (f" · [yellow]{summary.flagged} to review[/yellow] "
            f"(score < {summary.review_threshold:g}{moved})")
