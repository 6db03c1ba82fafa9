"""``lampyris batch SRC DST`` / ``lampyris batch status [LEDGER]`` / ``lampyris run FILE``.

The commands only turn options or a workflow file into a ``BatchSpec``, then drive
``workflows.batch.BatchRunner`` with a progress bar, signals and the summary lines; where the
records live and the backend a run names are ``workflows.records`` and
``workflows.backends.choice``.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer
from rich.markup import escape
from rich.progress import TextColumn

from lampyris.cli import look as look_options
from lampyris.cli import options
from lampyris.cli.batch_status import show_status, status_ledger
from lampyris.cli.console import err as console
from lampyris.cli.console import fail as _fail
from lampyris.cli.console import out, progress_bar
from lampyris.cli.fill import MAX_SEED, FillEngine
from lampyris.cli.look import aim_at_house_look
from lampyris.cli.options import Format, Holes, MirrorPass, UprightMode, cutout_params
from lampyris.errors import LampyrisError
from lampyris.workflows.ledger import Ledger

if TYPE_CHECKING:
    from lampyris.imaging.encode import OutputFormat
    from lampyris.workflows.backends.base import Backend
    from lampyris.workflows.batch import BatchSpec, Event, RunSummary
    from lampyris.workflows.ledger import LedgerItem
    from lampyris.workflows.notify import Notifier
    from lampyris.workflows.records import RecordPaths, RunRecords
    from lampyris.workflows.workflow import WorkflowFile

FILL_PANEL = "Fill step"
NOTIFY = typer.Option(None, "--notify", metavar="URL", help="POST a signed batch.finished "
                      "event here after each pass (docs/webhooks.md).")
NOTIFY_SECRET = typer.Option(None, envvar="LAMPYRIS_WEBHOOK_SECRET",
                             help="The secret --notify's events are signed with. "
                             "[env LAMPYRIS_WEBHOOK_SECRET]")


class BackendName(StrEnum):
    local = "local"
    remote = "remote"
    ray = "ray"


@dataclass(frozen=True)
class Watching:
    """``--watch``: seconds between passes; a line at most every ``heartbeat`` seconds when
    nothing happens (0: never)."""

    interval: float
    heartbeat: float


def dry_run(spec: BatchSpec, outputs: RunRecords) -> None:
    """List what a run would process, skip and still report as failed, on stdout; touches
    neither inputs, outputs nor ledger."""
    # Imported here, not above: help and argument errors need none of the runner.
    from lampyris.workflows.batch import BatchRunner

    # No ledger yet: an empty one in memory, so a dry run leaves no file behind.
    with Ledger(outputs.ledger if outputs.ledger.exists() else Path(":memory:")) as ledger:
        summary, todo = BatchRunner(spec, ledger, _NoBackend()).preview()
    out.print(f"{summary.listed} image(s) in {spec.source.url}: {len(todo)} to process, "
              f"{summary.skipped} already done, {summary.standing + summary.failed} failing "
              f"(ledger: {outputs.ledger})")
    for item in todo[:20]:
        out.print(f"  {item.input_url} → {item.output_url}")
    if len(todo) > 20:
        out.print(f"  … and {len(todo) - 20} more")
    for failure in summary.failures[:20]:
        out.print(f"  ✗ {failure.input_url}: {failure.reason}")


class _NoBackend:
    """A dry run plans only: nothing is ever submitted."""

    name = "none"
    capacity = 0

    def submit(self, item: Any) -> Any:
        raise AssertionError("a dry run submits nothing")

    def close(self, *, cancel: bool = False) -> None:
        pass


def execute(spec: BatchSpec, backend: Backend, outputs: RunRecords, *,
            watching: Watching | None = None, allow_failures: bool = False,
            notifier: Notifier | None = None) -> None:
    """Run (or watch) with a progress bar on a terminal; write summary and report; exit 1
    when an input is failed, new or standing (unless ``allow_failures``), 130 when stopped.
    A watch pass with nothing to do prints nothing and records nothing."""
    # Imported here, not above: help and argument errors need none of the runner.
    from lampyris.workflows.batch import BatchRunner
    from lampyris.workflows.records import forget_new_ledger, missing_folders
    from lampyris.workflows.watch import watch

    stop = threading.Event()
    runner_ref: list[BatchRunner] = []

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()
        for runner in runner_ref:
            runner.stop()
        if signum == signal.SIGINT:
            console.print("[yellow]stopping: finishing the images in progress "
                          "(Ctrl-C again to quit at once)[/yellow]")
            signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    last: RunSummary | None = None
    said = time.monotonic()  # when the last line was printed (for the heartbeat)
    made = missing_folders(outputs.ledger)
    try:
        with Ledger(outputs.ledger) as ledger:
            def once() -> RunSummary:
                nonlocal last, said
                progress = progress_bar("batch", TextColumn("{task.fields[status]}"))
                bar = progress.add_task("batch", total=None, status="")
                counts = {"done": 0, "failed": 0, "skipped": 0}
                started = time.monotonic()

                def on_listed(total: int) -> None:
                    progress.update(bar, total=total)
                    progress.start()

                def on_event(event: Event, item: LedgerItem) -> None:
                    key = {"unchanged": "done", "standing": "failed"}.get(event, event)
                    if key in counts:
                        counts[key] += 1
                        progress.advance(bar)
                    progress.update(bar, status=_status(counts, time.monotonic() - started))

                runner = BatchRunner(spec, ledger, backend, thumbs_dir=outputs.thumbs,
                                     listener=on_event, on_listed=on_listed)
                runner_ref[:] = [runner]
                try:
                    summary = runner.run(watching=watching is not None)
                finally:
                    progress.stop()
                first, last = last is None, summary
                if summary.run_id or first:
                    _finish(summary, ledger, spec, outputs)
                    if notifier is not None and summary.run_id:  # --notify: after each pass
                        notifier.send(summary, spec, outputs)
                    said = time.monotonic()
                elif watching and watching.heartbeat and (
                        time.monotonic() - said >= watching.heartbeat):
                    done = ledger.counts(spec.sink.url).get("done", 0)
                    console.print(f"{time.strftime('%H:%M')} watching {spec.source.url}: "
                                  f"nothing new ({done} done in all)")
                    said = time.monotonic()
                return summary

            if watching is None:
                once()
            else:
                console.print(f"watching {spec.source.url} every {watching.interval:g} s "
                              "(Ctrl-C to stop)")
                watch(once, watching.interval, stop)
    except LampyrisError as exc:
        if last is None:  # refused before anything ran (a collision, a missing bucket)
            forget_new_ledger(outputs.ledger, made)
        raise _fail(str(exc)) from None
    finally:
        backend.close(cancel=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if last is not None and last.stopped:
        raise _fail(f"{last.stopped} (the run stopped; run again to resume)")
    if last is not None and last.interrupted:
        raise typer.Exit(130)
    if last is not None and (last.failed or last.standing) and not allow_failures:
        raise typer.Exit(1)


def _status(counts: dict[str, int], seconds: float) -> str:
    rate = f" · {counts['done'] / seconds:.1f}/s" if counts["done"] and seconds > 0 else ""
    return (f"[green]done {counts['done']}[/green] · [red]failed {counts['failed']}[/red] · "
            f"skipped {counts['skipped']}{rate}")


def _finish(summary: RunSummary, ledger: Ledger, spec: BatchSpec, outputs: RunRecords) -> None:
    # Imported here: the runner is loaded by now; `batch status` needs none of it.
    from lampyris.cli.file_commands import review_count
    from lampyris.workflows.report import review_line

    outputs.write(summary, ledger, spec)
    rate = f", {summary.rate:.2f} images/s" if summary.done else ""
    failing = summary.failed or summary.standing
    console.print(
        f"[green]done {summary.done}[/green] · unchanged {summary.unchanged} · skipped "
        f"{summary.skipped} · [{'red' if failing else 'green'}]failed {summary.failed}[/]"
        + (f" · [red]still failing {summary.standing}[/red]" if summary.standing else "")
        + f" · retries {summary.retries} in {summary.seconds:.1f} s{rate}"
        + (f" · {summary.settling} still being written: left for the next run"
           if summary.settling else "")
        + review_count(summary)
        + (" · [yellow]interrupted: run again to resume[/yellow]" if summary.interrupted else ""))
    for failure in summary.failures[:20]:
        since = (f" (failing since {time.strftime('%Y-%m-%d %H:%M', time.localtime(failure.since))}"
                 "; --retry-failed to try again)" if failure.standing and failure.since else "")
        console.print(f"  [red]✗[/red] {failure.input_url}: {failure.reason}{since}",
                      highlight=False)
    if len(summary.failures) > 20:
        console.print(f"  … and {len(summary.failures) - 20} more (see the report)")
    for notice in summary.notices[:20]:
        console.print(f"  [yellow]![/yellow] {notice.input_url}: {notice.text}", highlight=False)
    if len(summary.notices) > 20:
        console.print(f"  … and {len(summary.notices) - 20} more notices (see the report)")
    flagged = [item for item in itertools.islice(
        ledger.items(status="done", dest=spec.sink.url, worst_first=True), 20) if item.flagged]
    for item in flagged:
        console.print(f"  [yellow]?[/yellow] {escape(review_line(item))}", highlight=False)
    console.print(f"report: {outputs.report}  summary: {outputs.summary}  "
                  f"ledger: {outputs.ledger}", highlight=False)


def _storage_options(pairs: list[str]) -> dict[str, dict[str, Any]]:
    """``s3.endpoint_url=http://…`` → ``{"s3": {"endpoint_url": "http://…"}}``."""
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        protocol, dot, name = key.partition(".")
        if not sep or not dot or not name:
            raise _fail(f"--storage-option takes PROTOCOL.KEY=VALUE, not {pair!r}")
        out.setdefault(protocol, {})[name] = value
    return out


def batch_command(
    args: list[str] = typer.Argument(..., metavar="SRC DST | status [DST | LEDGER]",
                                     help="Source and destination folders or URLs (local "
                                     "paths, s3://, az://, gs://, dropbox://); or `status` "
                                     "and a destination or ledger file."),
    steps: str = typer.Option("cutout", help="Comma-separated steps, in order: cutout, fill, "
                              "auto_tone (or auto-tone), straighten, edit "
                              "(e.g. cutout,auto_tone,fill)."),
    format: Format = options.BATCH_FORMAT,
    quality: int | None = options.QUALITY,
    lossless: bool = options.LOSSLESS,
    mask_only: bool = options.MASK_ONLY,
    binary: bool = options.BINARY,
    background: str | None = options.BACKGROUND,
    trim: bool = options.TRIM,
    padding: str | None = options.PADDING,
    canvas: str | None = options.CANVAS,
    shadow: bool = options.SHADOW,
    shadow_opacity: float = options.SHADOW_OPACITY,
    decontaminate: float | None = options.DECONTAMINATE,
    max_upscale: float = options.MAX_UPSCALE,
    holes: Holes = options.HOLES,
    model: str = options.MODEL,
    mirror_pass: MirrorPass = options.MIRROR_PASS,
    tone_strength: float = look_options.TONE_STRENGTH,
    tone_mood: bool = look_options.TONE_MOOD,
    consistent: bool = look_options.CONSISTENT,
    remeasure: bool = look_options.REMEASURE,
    look_sample: int = look_options.LOOK_SAMPLE,
    look_file: Path | None = look_options.LOOK_FILE,
    save_look: Path | None = look_options.SAVE_LOOK,
    upright: UprightMode = typer.Option(UprightMode.auto, rich_help_panel=look_options.PANEL,
                                        help="straighten step: level, vertical, full or auto."),
    preset: list[Path] = typer.Option([], dir_okay=False, rich_help_panel=look_options.PANEL,
                                      help="edit step: an XMP preset to apply (repeatable)."),
    prompt: str = typer.Option("", rich_help_panel=FILL_PANEL,
                               help="fill step: the new background to draw, e.g. 'white marble'."),
    negative_prompt: str = typer.Option("", rich_help_panel=FILL_PANEL,
                                        help="fill step: what to keep out (diffusion only)."),
    fill_engine: FillEngine = typer.Option(
        FillEngine.auto, rich_help_panel=FILL_PANEL,
        help="fill step: studio, patch, diffusion, or auto (studio around a cutout)."),
    seed: int = typer.Option(0, min=0, max=MAX_SEED, rich_help_panel=FILL_PANEL,
                             help="fill step: the seed (the same seed draws the same image)."),
    naming: str = typer.Option(
        "stem", help="Output names: stem (a.jpg → a.png; two inputs of one stem are refused), "
        "keep-extension (a.jpg.png), number (a-2.png on a clash), or a template over {dir} "
        "{stem} {name} {ext}."),
    jobs: int = options.JOBS,
    backend: BackendName = typer.Option(BackendName.local, help="Where steps run: local worker "
                                        "processes, a Ray cluster, or remote (a lampyris "
                                        "server / Adobe)."),
    ray_address: str | None = typer.Option(
        None, envvar="LAMPYRIS_RAY_ADDRESS", help="Ray backend: the cluster (auto, HOST:PORT "
        "or ray://HOST:PORT; none: start a Ray on this machine)."),
    server: str | None = typer.Option(None, envvar="LAMPYRIS_SERVER_URL",
                                      help="Remote backend: the lampyris server's URL "
                                      "(none: Adobe's hosts)."),
    client_id: str | None = typer.Option(None, envvar="LAMPYRIS_CLIENT_ID"),
    client_secret: str | None = typer.Option(None, envvar="LAMPYRIS_CLIENT_SECRET"),
    storage_option: list[str] = typer.Option([], help="fsspec option PROTOCOL.KEY=VALUE, "
                                             "e.g. s3.endpoint_url=http://minio:9000."),
    ledger: Path | None = typer.Option(
        None, envvar="LAMPYRIS_LEDGER", show_default=False,
        help="The ledger (SQLite); report and summary go beside it. Default: DST's own, in "
        "DST/.lampyris/ for a folder, in the state directory for a URL (docs/batch.md)."),
    retries: int = typer.Option(2, min=0, help="Extra tries for storage errors, with backoff."),
    retry_failed: bool = typer.Option(False, help="Try inputs that failed before again."),
    allow_failures: bool = typer.Option(False, help="Exit 0 even when inputs failed (they "
                                        "are still reported)."),
    on_success: str = typer.Option("keep", help="What to do with a processed input once its "
                                   "output is verified: keep, delete or move:URL."),
    review_threshold: float | None = options.REVIEW_THRESHOLD,
    on_review: str = options.ON_REVIEW,
    watch_: bool = typer.Option(False, "--watch", help="Keep polling SRC for new files."),
    interval: float = typer.Option(30.0, min=0.1, help="Seconds between --watch passes."),
    heartbeat: float = typer.Option(60.0, min=0.0, help="--watch: minutes between 'nothing "
                                    "new' lines when idle (0: never)."),
    settle: float = typer.Option(2.0, min=0.0, help="Seconds a local file must be left alone "
                                 "before it is read (files still being copied wait)."),
    report: Path | None = typer.Option(None, help="HTML report path."),
    summary: Path | None = typer.Option(None, help="JSON summary path."),
    dry_run_: bool = typer.Option(False, "--dry-run", help="Only list what would be "
                                  "processed and what skipped."),
    json_: bool = typer.Option(False, "--json", help="batch status: print JSON."),
    notify: str | None = NOTIFY,
    notify_secret: str | None = NOTIFY_SECRET,
) -> None:
    """Run steps over every image of a folder or bucket, resumably; `batch status DST`
    shows what its ledger says.

    Usage: lampyris batch s3://shop/in/ s3://shop/out/ --steps cutout --background white
    """
    if args[0] == "status":
        if len(args) > 2:
            raise _fail("usage: lampyris batch status [DST | LEDGER] [--json]")
        show_status(status_ledger(args[1] if len(args) == 2 else None, ledger), as_json=json_)
        return
    if len(args) != 2:
        raise _fail("usage: lampyris batch SRC DST [options]  (or: lampyris batch status DST)")
    # Imported here: help, argument errors and `batch status` need none of the pipeline.
    from lampyris.workflows.records import RecordPaths
    from lampyris.workflows.steps import step_name
    from lampyris.workflows.workflow import RayConfig, RemoteConfig, WorkflowFile, check_on_success

    try:
        check_on_success(on_success)
        options.check_on_review(on_review)
        params = cutout_params(
            model=model, mirror_pass=mirror_pass, mask_only=mask_only, binary=binary,
            decontaminate=decontaminate, background=background, trim=trim, padding=padding,
            canvas=canvas, shadow=shadow, shadow_opacity=shadow_opacity,
            max_upscale=max_upscale, holes=holes.value)
    except (typer.BadParameter, ValueError) as exc:
        raise _fail(str(exc)) from None
    names = [step_name(s) for s in steps.split(",") if s.strip()]
    fmt = cast("OutputFormat", format.value)
    step_params: dict[str, dict[str, Any]] = {
        "cutout": params,
        "auto_tone": {"strength": tone_strength, **({"mood": True} if tone_mood else {})},
        "straighten": {"upright_mode": upright.value},
        "edit": {"presets": [str(p) for p in preset]},
        "fill": {"prompt": prompt, "negative_prompt": negative_prompt,
                 "engine": fill_engine.value, "seed": seed},
    }
    chain = [(n, step_params.get(n, {})) for n in names]
    workflow = WorkflowFile(
        source=args[0], sink=args[1], steps=[{n: p} for n, p in chain],
        output={"format": fmt, "quality": quality, "lossless": lossless},  # type: ignore[arg-type]
        naming=naming, storage_options=_storage_options(storage_option), retries=retries,
        retry_failed=retry_failed, on_success=on_success, concurrency=jobs,
        on_review=on_review, review_threshold=review_threshold,
        backend=backend.value, settle=settle, ray=RayConfig(address=ray_address),
        remote=(RemoteConfig(url=server, client_id=client_id, client_secret=client_secret)
                if backend == BackendName.remote and client_id and client_secret else None),
        consistent=consistent, look_file=str(look_file) if look_file else None,
        look_sample=look_sample,
    )
    _run_workflow(workflow, RecordPaths(ledger, report, summary), Path.cwd(),
                  Watching(interval, heartbeat * 60) if watch_ else None, dry=dry_run_,
                  remeasure=remeasure, save_look=save_look, allow_failures=allow_failures,
                  notify=notify, notify_secret=notify_secret, cli=True)


def run_command(
    workflow_file: Path = typer.Argument(..., help="A workflow YAML file."),
    watch_: bool = typer.Option(False, "--watch", help="Keep polling the source."),
    interval: float = typer.Option(30.0, min=0.1, help="Seconds between --watch passes."),
    heartbeat: float = typer.Option(60.0, min=0.0, help="--watch: minutes between 'nothing "
                                    "new' lines when idle (0: never)."),
    dry_run_: bool = typer.Option(False, "--dry-run", help="Only list what would be "
                                  "processed and what skipped."),
    allow_failures: bool = typer.Option(False, help="Exit 0 even when inputs failed (they "
                                        "are still reported)."),
    remeasure: bool = look_options.REMEASURE,
    save_look: Path | None = look_options.SAVE_LOOK,
    notify: str | None = NOTIFY,
    notify_secret: str | None = NOTIFY_SECRET,
) -> None:
    """Run a workflow file (source, steps, sink, naming, concurrency, backend).

    Usage: lampyris run catalog.yaml
    """
    # Imported here, not above: help and argument errors need none of the pipeline.
    from lampyris.workflows.records import RecordPaths
    from lampyris.workflows.workflow import load_workflow

    try:
        workflow = load_workflow(workflow_file)
    except LampyrisError as exc:
        raise _fail(str(exc)) from None
    base = workflow_file.parent

    def beside_file(name: str | None) -> Path | None:
        return Path(os.path.normpath(base / name)) if name else None

    records = RecordPaths(beside_file(workflow.ledger), beside_file(workflow.report),
                          beside_file(workflow.summary),
                          legacy=base / f"{workflow_file.stem}.ledger.db")
    _run_workflow(workflow, records, base,
                  Watching(interval, heartbeat * 60) if watch_ else None, dry=dry_run_,
                  remeasure=remeasure, save_look=save_look, allow_failures=allow_failures,
                  notify=notify, notify_secret=notify_secret)


def _run_workflow(workflow: WorkflowFile, records: RecordPaths, base: Path,
                  watching: Watching | None, *, dry: bool = False, remeasure: bool = False,
                  save_look: Path | None = None, allow_failures: bool = False,
                  notify: str | None = None, notify_secret: str | None = None,
                  cli: bool = False) -> None:
    """Run (or watch) ``workflow``; ``cli``: it came from ``batch``'s options, so a refusal
    names them (``--padding``) rather than the file's keys."""
    # Imported here, not above: help and argument errors need none of the backends.
    from lampyris.workflows.backends.choice import open_backend
    from lampyris.workflows.backends.remote import check_chain
    from lampyris.workflows.batch import check_review_location
    from lampyris.workflows.notify import Notifier

    try:
        notifier = Notifier.checked(notify, notify_secret) if notify else None
        spec = workflow.batch_spec(base, cli=cli)
        check_review_location(spec)  # one line now, not results deleted later
        if workflow.backend == "remote":  # a chain it cannot run as the local one: refused
            check_chain(spec.steps, spec.source,
                        adobe=workflow.remote is not None and workflow.remote.url is None)
        outputs, note = records.resolve(spec.sink.url)
        if note:
            console.print(f"note: {note}")
        spec = aim_at_house_look(spec, workflow, outputs.ledger, base, console,
                                 remeasure=remeasure, save_look=save_look, dry=dry)
        if dry:
            dry_run(spec, outputs)
            return
        backend = open_backend(workflow.backend, workflow.concurrency, spec.steps,
                               workflow.remote, workflow.ray)
    except LampyrisError as exc:
        raise _fail(str(exc)) from None
    execute(spec, backend, outputs, watching=watching, allow_failures=allow_failures,
            notifier=notifier)


