"""The batch runner: every input of a source through the steps into a sink, once.

It lists the source, asks the ledger what is already done (same input, same steps), hands the
rest to a backend with at most ``capacity`` items in flight (backpressure: memory stays flat
however many inputs there are), retries storage hiccups with backoff, records every outcome in
the ledger as it happens, and applies ``on_success`` to processed inputs. Ctrl-C stops
submitting, lets what is running finish for a moment, and leaves the rest for the next run.
"""

from __future__ import annotations

import heapq
import logging
import posixpath
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from lampyris.errors import InvalidParameterError
from lampyris.workflows.backends.base import Backend
from lampyris.workflows.item import ItemOutcome, WorkItem, write_output
from lampyris.workflows.ledger import Ledger, LedgerItem
from lampyris.workflows.locations import Location, SourceFile, list_images
from lampyris.workflows.steps import OutputSpec, Step, fingerprint

log = logging.getLogger(__name__)

Event = Literal["done", "unchanged", "skipped", "failed", "retry"]


@dataclass(frozen=True)
class BatchSpec:
    """What to run. ``naming`` is a template over ``{dir}`` (the input's folder below the
    source, with a trailing slash, or empty), ``{stem}``, ``{name}`` and ``{ext}``.
    ``on_success`` is ``keep``, ``delete`` or ``move:URL`` (processed inputs go there)."""

    source: Location
    sink: Location
    steps: tuple[Step, ...]
    output: OutputSpec = field(default_factory=OutputSpec)
    naming: str = "{dir}{stem}.{ext}"
    retries: int = 2
    retry_failed: bool = False
    on_success: str = "keep"
    report_sample: int = 200
    backoff: float = 1.0

    def output_rel(self, rel: str) -> str:
        path = PurePosixPath(rel)
        folder = "" if str(path.parent) == "." else f"{path.parent}/"
        try:
            name = self.naming.format(dir=folder, stem=path.stem, name=path.name,
                                      ext=self.output.extension)
        except (AttributeError, KeyError, IndexError, ValueError) as exc:
            raise InvalidParameterError(f"naming template {self.naming!r}: {exc}") from None
        return name.lstrip("/")


@dataclass
class RunSummary:
    """Counts for one pass; ``failures`` keeps (input, reason) for the report."""

    run_id: int
    listed: int = 0
    done: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    retries: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


Listener = Callable[[Event, LedgerItem], None]


class BatchRunner:
    """Run ``spec`` on ``backend``, recording in ``ledger``.

    Usage:
        with Ledger(path) as ledger:
            summary = BatchRunner(spec, ledger, LocalBackend()).run()
    """

    def __init__(self, spec: BatchSpec, ledger: Ledger, backend: Backend, *,
                 thumbs_dir: Path | None = None, listener: Listener | None = None,
                 on_listed: Callable[[int], None] | None = None) -> None:
        self.spec = spec
        self.on_listed = on_listed or (lambda total: None)
        self.ledger = ledger
        self.backend = backend
        self.thumbs_dir = thumbs_dir
        self.listener = listener or (lambda event, item: None)
        self.fingerprint = fingerprint(list(spec.steps), spec.output)
        self._stop = False
        self._single = False  # the source is one file, not a folder
        # thumbnails already kept for these steps (older steps' results are being replaced)
        self._sampled = sum(1 for done in ledger.items(status="done", dest=spec.sink.url)
                            if done.fingerprint == self.fingerprint
                            and "thumb_after" in done.details)

    def stop(self) -> None:
        """Ask the run to stop submitting (a signal handler may call this)."""
        self._stop = True

    def preview(self) -> tuple[RunSummary, list[LedgerItem]]:
        """What ``run`` would do, without doing it or writing to the ledger: the summary
        counts ``listed`` and ``skipped``; the list holds the inputs it would process."""
        _, source_root = self.spec.source.open()
        listing = list(list_images(self.spec.source))
        self._single = len(listing) == 1 and listing[0].path == source_root
        summary = RunSummary(run_id=0)
        return summary, [record for _, record in self._plan(iter(listing), summary)]

    def run(self) -> RunSummary:
        spec = self.spec
        start = time.perf_counter()
        _, source_root = spec.source.open()
        _, sink_root = spec.sink.open()
        listing = list(list_images(spec.source))  # ~0.4 KB a file: 40 MB for 100,000
        # a file's path is its root only when the source names that one file
        self._single = len(listing) == 1 and listing[0].path == source_root
        run_id = self.ledger.start_run(spec.source.url, spec.sink.url,
                                       [s.name for s in spec.steps])
        summary = RunSummary(run_id)
        self.on_listed(len(listing))
        todo = self._plan(iter(listing), summary)
        inflight: dict[Future[ItemOutcome], tuple[LedgerItem, WorkItem]] = {}
        delayed: list[tuple[float, int, LedgerItem, WorkItem]] = []  # retries, by due time
        counter = 0
        try:
            while True:
                while not self._stop and len(inflight) < self.backend.capacity:
                    if delayed and delayed[0][0] <= time.monotonic():
                        _, _, record, work = heapq.heappop(delayed)
                    else:
                        planned = next(todo, None)
                        if planned is None:
                            break
                        source, record = planned
                        work = self._work(source, record, source_root, sink_root)
                    record.status, record.started = "running", time.time()
                    record.attempts += 1
                    record.run_id = run_id
                    self.ledger.put(record)
                    try:
                        future = self.backend.submit(work)
                    except BaseException:  # Ctrl-C inside an inline item, a refused item
                        record.status = "pending"
                        self.ledger.put(record)
                        raise
                    inflight[future] = (record, work)
                if not inflight:
                    if delayed and not self._stop:
                        time.sleep(max(0.0, delayed[0][0] - time.monotonic()))
                        continue
                    break
                finished, _ = wait(inflight, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    record, work = inflight.pop(future)
                    retry = self._record(future.result(), record, summary)
                    if retry:
                        counter += 1
                        due = time.monotonic() + spec.backoff * 2 ** (record.attempts - 1) * (
                            0.5 + random.random())
                        heapq.heappush(delayed, (due, counter, record, work))
        except KeyboardInterrupt:
            self._stop = True
        finally:
            if self._stop:
                summary.interrupted = True
                self._drain(inflight, summary)
                for _, _, record, _ in delayed:
                    record.status = "pending"
                    self.ledger.put(record)
            summary.seconds = time.perf_counter() - start
            self.ledger.finish_run(run_id, "interrupted" if summary.interrupted else "finished")
        return summary

    # -- planning --------------------------------------------------------------------------
    def _plan(self, sources: Iterator[SourceFile], summary: RunSummary
              ) -> Iterator[tuple[SourceFile, LedgerItem]]:
        """Inputs that need work, lazily (a 100,000-file bucket is never held twice)."""
        spec = self.spec
        for source in sources:
            summary.listed += 1
            url = spec.source.url if self._single else spec.source.url_of(source.rel)
            prior = self.ledger.get(url, spec.sink.url)
            same = prior is not None and prior.fingerprint == self.fingerprint
            if prior is not None and same and prior.stamp == source.stamp and (
                prior.status == "done"
                or (prior.status == "failed" and not spec.retry_failed)
            ):
                summary.skipped += 1
                self.listener("skipped", prior)
                continue
            record = LedgerItem(
                input_url=url, dest=spec.sink.url, rel=source.rel, fingerprint=self.fingerprint,
                stamp=source.stamp, output_url=spec.sink.url_of(spec.output_rel(source.rel)),
                content_hash=prior.content_hash if prior else None,
                attempts=0, details=prior.details if prior and same else {},
            )
            record.details["known_hash"] = (prior.content_hash if prior and same
                                            and prior.status == "done" else None)
            yield source, record

    def _work(self, source: SourceFile, record: LedgerItem, source_root: str,
              sink_root: str) -> WorkItem:
        # an input redone keeps its place in the report's sample, with thumbnails of its new
        # content
        kept = "thumb_after" in record.details
        sample = self.thumbs_dir is not None and (kept or self._sampled < self.spec.report_sample)
        if sample and not kept:
            self._sampled += 1
        known = record.details.pop("known_hash", None)
        return WorkItem(
            source=self.spec.source, source_path=source.path, sink=self.spec.sink,
            output_path=posixpath.join(sink_root, self.spec.output_rel(source.rel)),
            steps=self.spec.steps, output=self.spec.output, known_hash=known, thumbs=sample,
        )

    # -- outcomes --------------------------------------------------------------------------
    def _record(self, outcome: ItemOutcome, record: LedgerItem, summary: RunSummary,
) -> bool:
        """Write the outcome to the ledger; True when the item should be tried again."""
        record.timings, record.finished = outcome.timings, time.time()
        record.seconds = record.finished - (record.started or record.finished)
        if outcome.ok:
            record.status, record.error = "done", None
            record.content_hash = outcome.content_hash
            if not outcome.unchanged:
                kept = {k: v for k, v in record.details.items()  # not the old content's thumbs
                        if k not in ("thumb_before", "thumb_after")}
                record.details = {**kept, **outcome.details}
                self._save_thumbs(record, outcome)
            self.ledger.put(record)
            event: Event = "unchanged" if outcome.unchanged else "done"
            if outcome.unchanged:
                summary.unchanged += 1
            else:
                summary.done += 1
            self._after_success(record)
            self.listener(event, record)
            return False
        if outcome.retryable and record.attempts <= self.spec.retries and not self._stop:
            record.status, record.error = "pending", outcome.error
            self.ledger.put(record)
            summary.retries += 1
            self.listener("retry", record)
            return True
        record.status, record.error = "failed", outcome.error
        self.ledger.put(record)
        summary.failed += 1
        summary.failures.append((record.input_url, outcome.error or "failed"))
        self.listener("failed", record)
        return False

    def _drain(self, inflight: dict[Future[ItemOutcome], tuple[LedgerItem, WorkItem]],
               summary: RunSummary, grace: float = 30.0) -> None:
        """After Ctrl-C: wait for what is running, then give the rest back as pending."""
        finished, unfinished = wait(inflight, timeout=grace)
        for future in finished:
            record, _ = inflight[future]
            self._record(future.result(), record, summary)
        for future in unfinished:
            future.cancel()
            record, _ = inflight[future]
            record.status = "pending"
            self.ledger.put(record)
        inflight.clear()

    def _save_thumbs(self, record: LedgerItem, outcome: ItemOutcome) -> None:
        if not outcome.thumbs or self.thumbs_dir is None:
            return
        self.thumbs_dir.mkdir(parents=True, exist_ok=True)
        for kind, data in outcome.thumbs.items():
            name = f"{(outcome.content_hash or 'x')[:20]}-{kind}.jpg"
            (self.thumbs_dir / name).write_bytes(data)
            record.details[f"thumb_{kind}"] = name
        self.ledger.put(record)

    def _after_success(self, record: LedgerItem) -> None:
        """``on_success``: keep the input, delete it, or move it (never processed twice)."""
        action = self.spec.on_success
        if action == "keep":
            return
        fs, root = self.spec.source.open()
        path = root if self._single else posixpath.join(root, record.rel)
        try:
            if action == "delete":
                fs.rm_file(path)
            elif action.startswith("move:"):
                target = Location(action[len("move:"):], self.spec.source.options)
                target_fs, target_root = target.open()
                write_output(target_fs, posixpath.join(target_root, record.rel),
                             fs.cat_file(path))  # makes the folders a local target needs
                fs.rm_file(path)
            record.details["input_moved"] = action
            self.ledger.put(record)
        except OSError as exc:  # the output is safe; say why the input stayed
            record.details["on_success_error"] = str(exc)
            self.ledger.put(record)
            log.warning("%s: on-success %s failed: %s", record.input_url, action, exc)
