"""The batch runner: every input of a source through the steps into a sink, once.

It lists the source page by page into an on-disk spool (``spool``), names every output as it
goes and refuses the run when two inputs would share one (``naming``), asks the ledger what is
already done (same input, same steps), hands the rest to a backend with at most ``capacity``
items in flight, retries storage hiccups with backoff, records every outcome in the
ledger as it happens, and applies ``on_success`` to an input only once its own output is
verified written. An input that failed before and has not changed is reported again on every
run (a standing failure), not hidden as skipped. A local file still being written (modified
less than ``settle`` seconds ago) is waited for, not failed. Ctrl-C stops submitting, lets what
is running finish for a moment, and leaves the rest for the next run. Nothing is held per
input but the spool's rows on disk and the ledger's, so the driver's memory is the same for a
thousand inputs and for a million (``bench/scale_bench.py``; docs/benchmarks.md).

The file commands (``cutout``, ``auto-tone``, … ``composite``) run through it too: they hand
it their inputs already expanded and named (``Entry``: ``workflows.inputs``) instead of a
source to list, with a ledger in memory unless one is named, and existing outputs kept
(``BatchSpec.skip_existing``) unless ``--overwrite``.

Every result's review (its confidence score and flag: ``item.review_of``) is kept in the
ledger and counted; ``on_review`` ``move:URL`` writes a flagged result there instead of the
sink, at the same relative path, so the sink holds only what needs no look.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import posixpath
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from lampyris.errors import InvalidParameterError, LampyrisError
from lampyris.storage.atomic import write_atomic
from lampyris.storage.locations import Location, SourceFile, list_images, local_file, probe
from lampyris.storage.translate import translate
from lampyris.workflows.backends.base import Backend
from lampyris.workflows.item import ExtraImage, ItemOutcome, WorkItem
from lampyris.workflows.ledger import Ledger, LedgerItem
from lampyris.workflows.naming import TEMPLATES, Naming, collision_message, numbered
from lampyris.workflows.spool import Spool, Spooled
from lampyris.workflows.steps import OutputSpec, Step, fingerprint

log = logging.getLogger(__name__)

Event = Literal["done", "unchanged", "skipped", "failed", "standing", "retry"]
SETTLE_MAX_WAIT = 120.0  # a one-shot run waits this long at most for files still being written


@dataclass(frozen=True)
class BatchSpec:
    """What to run. ``naming`` is ``stem``, ``keep-extension`` or ``number`` (see
    ``workflows.naming``), or a template over ``{dir}`` (the input's folder below the source,
    with a trailing slash, or empty), ``{stem}``, ``{name}`` and ``{ext}``.
    ``on_success`` is ``keep``, ``delete`` or ``move:URL`` (processed inputs go there).
    ``settle``: seconds a local input must have been left alone before it is read.
    ``skip_existing``: an output already there (whoever wrote it) is kept and its input
    skipped, as the file commands do without ``--overwrite``. ``images``: extra images every
    item gets (a fill's mask)."""

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
    settle: float = 2.0
    skip_existing: bool = False
    images: tuple[ExtraImage, ...] = ()
    on_review: str = "keep"  # or move:URL: flagged results are written there instead
    review_threshold: float | None = None  # None: the ops' own (``REVIEW_THRESHOLD``)

    def __post_init__(self) -> None:
        """A review location in or around the sink would have results deleted as stale."""
        review = self.review_sink
        if review is not None and _overlap(review, self.sink):
            raise InvalidParameterError(review_outside_message(review))

    @property
    def review_sink(self) -> Location | None:
        """Where flagged results go (``on_review`` ``move:URL``), or None: the sink. It
        shares the sink's storage options when it is on the same kind of storage."""
        if not self.on_review.startswith("move:"):
            return None
        review = Location(self.on_review[len("move:"):])
        if review.protocol == self.sink.protocol:
            review = Location(review.url, self.sink.options)
        return review

    @property
    def template(self) -> str:
        return TEMPLATES[Naming(self.naming)] if self.naming in set(Naming) else self.naming

    @property
    def numbered(self) -> bool:
        """Colliding outputs get numbered names instead of refusing the run."""
        return self.naming == Naming.number

    def output_rel(self, rel: str) -> str:
        path = PurePosixPath(rel)
        folder = "" if str(path.parent) == "." else f"{path.parent}/"
        try:
            name = self.template.format(dir=folder, stem=path.stem, name=path.name,
                                        ext=self.output.extension)
        except (AttributeError, KeyError, IndexError, ValueError) as exc:
            raise InvalidParameterError(f"naming template {self.naming!r}: {exc}") from None
        return name.lstrip("/")


@dataclass(frozen=True)
class Entry:
    """One input its caller listed and named itself, instead of the runner listing
    ``spec.source``: the file commands' inputs (files, folders, globs), already expanded and
    named by ``workflows.inputs``. ``key`` is the input's name in the ledger, the summary and
    the report, unique per entry (a variation of one file has its own: ``path#seed=5``);
    ``path`` is where it is on ``spec.source``'s filesystem and ``stamp`` changes when it
    does; ``output_rel`` is the output's path below the sink; ``output`` its own settings
    (None: ``spec.output``) and ``seed`` the seed of its variation."""

    key: str
    path: str
    stamp: str
    output_rel: str
    output: OutputSpec | None = None
    seed: int | None = None


@dataclass
class RunSummary:
    """Counts for one pass; ``failures`` keeps (input, reason) for the report."""

    run_id: int
    listed: int = 0
    done: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    standing: int = 0  # failed on an earlier run, unchanged since: reported, not retried
    retries: int = 0
    settling: int = 0  # still being written: left for the next pass
    flagged: int = 0  # done this run and flagged for review
    routed: int = 0  # of those, written to the review location instead of the sink
    review_threshold: float | None = None  # the threshold the flags were decided by
    stopped: str | None = None  # why the run stopped early (refused credentials)
    interrupted: bool = False
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Notice:
    """Something a person should know about an output that was written (a subject kept
    smaller than the canvas asked for, prompt words not used): one line, and its input."""

    input_url: str
    text: str


@dataclass(frozen=True)
class Failure:
    """An input that is failed after this run: its reason, when it first failed, and whether
    it failed on an earlier run (standing) rather than in this one."""

    input_url: str
    reason: str
    since: float | None = None
    standing: bool = False


Listener = Callable[[Event, LedgerItem], None]


class BatchRunner:
    """Run ``spec`` on ``backend``, recording in ``ledger``.

    Usage:
        with Ledger(path) as ledger:
            summary = BatchRunner(spec, ledger, LocalBackend()).run()
    """

    def __init__(self, spec: BatchSpec, ledger: Ledger, backend: Backend, *,
                 thumbs_dir: Path | None = None, listener: Listener | None = None,
                 on_listed: Callable[[int], None] | None = None,
                 entries: Sequence[Entry] | None = None) -> None:
        self.spec = spec
        self.on_listed = on_listed or (lambda total: None)
        self.ledger = ledger
        self.backend = backend
        self.thumbs_dir = thumbs_dir
        self.listener = listener or (lambda event, item: None)
        self.fingerprint = fingerprint(list(spec.steps), spec.output, self._extra(None))
        # inputs listed by the caller (``Entry``), by key; None: list ``spec.source``
        self._entries = None if entries is None else {e.key: e for e in entries}
        if self._entries is not None and len(self._entries) != len(entries or ()):
            raise InvalidParameterError("two entries of one batch share a key")
        self._fingerprints = {key: self._entry_fingerprint(e)
                              for key, e in (self._entries or {}).items()}
        check_review_location(spec, None if entries is None else [e.path for e in entries])
        known = {self.fingerprint, *self._fingerprints.values()}
        self._stop = False
        self._single = False  # the source is one file, not a folder
        self._run_id = 0  # this pass's run, once started: refusals are recorded at once
        self._clashed: list[LedgerItem] = []  # refusals planned before the run started
        self._young: list[tuple[Spooled, LedgerItem | None]] = []  # still being written
        # thumbnails already kept for these steps (older steps' results are being replaced)
        self._sampled = ledger.sampled(spec.sink.url, known)

    def stop(self) -> None:
        """Ask the run to stop submitting (a signal handler may call this)."""
        self._stop = True

    def preview(self) -> tuple[RunSummary, list[LedgerItem]]:
        """What ``run`` would do, without doing it or writing to the ledger: the summary
        counts ``listed``, ``skipped`` and standing failures; the list holds the inputs it
        would process. Refuses, as ``run`` does, two inputs that would share an output."""
        summary = RunSummary(run_id=0)
        self._run_id = 0
        with self._spool() as spool:
            planned = [record for _, record in self._plan(spool, summary)]
        planned += [self._record_for(row, prior) for row, prior in self._young]
        return summary, planned

    def run(self, *, watching: bool = False) -> RunSummary:
        """One pass. ``watching``: a pass of ``--watch``, which records no run when it has
        nothing to do and leaves files still being written to the next pass instead of
        waiting for them."""
        start = time.perf_counter()
        self._run_id = 0
        # two inputs for one output: refused while spooling, before anything runs
        with self._spool() as spool:
            return self._run(spool, start, watching)

    def _run(self, spool: Spool, start: float, watching: bool) -> RunSummary:
        """The pass over the spooled inputs (``run`` deletes the spool after it)."""
        spec = self.spec
        _, source_root = spec.source.open()
        _, sink_root = spec.sink.open()
        summary = RunSummary(0)
        todo = self._plan(spool, summary)
        first = next(todo, None)
        if watching and first is None and not summary.failed:
            summary.settling = len(self._young)
            summary.seconds = time.perf_counter() - start
            return summary  # an idle pass leaves no trace: run_id stays 0
        if first is not None or self._young:
            probe(spec.sink)  # a wrong sink is one error now, not one per input
        run_id = self.ledger.start_run(spec.source.url, spec.sink.url,
                                       [s.name for s in spec.steps])
        summary.run_id = self._run_id = run_id
        for record in self._clashed:
            record.run_id = run_id
            self.ledger.put(record)
        self._clashed = []
        self.on_listed(len(spool))
        todo = itertools.chain([first] if first else [], todo,
                               self._settled(summary, wait=not watching))
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
                    retry = self._record(future.result(), record, work, summary)
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
    def _extra(self, seed: int | None) -> dict[str, Any]:
        """What else a result depends on: its seed, the extra images (none for a batch's)."""
        extra: dict[str, Any] = {} if seed is None else {"seed": seed}
        if self.spec.images:
            extra["images"] = [[i.name, i.url, i.stamp] for i in self.spec.images]
        return extra

    def _entry_fingerprint(self, entry: Entry) -> str:
        return fingerprint(list(self.spec.steps), entry.output or self.spec.output,
                           self._extra(entry.seed))

    def _fingerprint_of(self, url: str) -> str:
        return self._fingerprints.get(url, self.fingerprint)

    def _spool(self) -> Spool:
        """The inputs, listed (or the caller's entries) and named into a new spool; a run
        refused while naming leaves none behind."""
        spool = Spool()
        try:
            self._name_outputs(self._listing(), spool)
        except BaseException:
            spool.close()
            raise
        return spool

    def _listing(self) -> Iterator[SourceFile]:
        """The inputs as they are listed: ``spec.source`` page by page, or the entries."""
        self._single = False
        if self._entries is not None:  # listed by the caller: the key stands for the rel
            for e in self._entries.values():
                yield SourceFile(path=e.path, rel=e.key, size=0, stamp=e.stamp)
            return
        _, source_root = self.spec.source.open()
        for n, source in enumerate(list_images(self.spec.source)):
            if n == 0:  # a file's path is its root only when the source names that one file
                self._single = source.path == source_root
            yield source

    def _input_url(self, source: SourceFile) -> str:
        if self._entries is not None:
            return source.rel
        return self.spec.source.url if self._single else self.spec.source.url_of(source.rel)

    def _name_outputs(self, listing: Iterator[SourceFile], spool: Spool) -> None:
        """Name every input's output into ``spool``, or refuse the run when two inputs of
        the listing would share one. An output the ledger records for another input, no
        longer listed (moved away, say), is not overwritten either: with ``number`` naming the
        input takes the next free name; otherwise it fails with the reason. With ``number``,
        an input keeps the name it was given before, so names stay stable across runs. Every
        "is it taken?" is an indexed lookup, in the spool (this listing) or the ledger
        (earlier runs), so naming holds nothing per input in memory."""
        spec, dest = self.spec, self.spec.sink.url
        for source in listing:
            url = self._input_url(source)
            base = (self._entries[url].output_rel if self._entries is not None
                    else spec.output_rel(source.rel))
            output, clash = spec.sink.url_of(base), None
            if spec.numbered:
                before = self.ledger.output_of(url, dest)
                if before is not None and spool.owner(before) is None:
                    output = before
            n = 1
            while True:
                taken = spool.owner(output)  # by an input of this listing
                if taken is not None:
                    if not spec.numbered:
                        raise InvalidParameterError(collision_message(output, taken, url))
                else:
                    recorded = self.ledger.owner_of(dest, output)  # done on an earlier run
                    if recorded is None or recorded == url:
                        break
                    if not spec.numbered:  # the ledger's: fail this input, not the run
                        clash = collision_message(output, recorded, url) + (
                            f" ({recorded} was processed on an earlier run)")
                        break
                n += 1
                output = spec.sink.url_of(numbered(base, n))
            spool.add(source, url, output, clash)

    def _plan(self, spool: Spool, summary: RunSummary
              ) -> Iterator[tuple[SourceFile, LedgerItem]]:
        """Inputs that need work, lazily, read back from the spool a chunk at a time. Local
        files modified less than ``settle`` seconds ago wait in ``self._young``."""
        spec = self.spec
        self._young, self._clashed = [], []
        now = time.time()
        sink_fs, sink_root = spec.sink.open()
        for row in spool:
            source, url = row.source, row.input_url
            summary.listed += 1
            prior = self.ledger.get(url, spec.sink.url)
            same = prior is not None and prior.fingerprint == self._fingerprint_of(url)
            unchanged = prior is not None and same and prior.stamp == source.stamp
            if unchanged and prior is not None and prior.status == "done":
                summary.skipped += 1
                self.listener("skipped", prior)
                continue
            # A failure stands while the input is unchanged; one of a clash only while the
            # clash does (another naming resolves it at once, with no --retry-failed).
            clash = row.clash is not None
            failed_before = (unchanged and prior is not None and prior.status == "failed"
                             and bool(prior.details.get("clash")) == clash)
            if failed_before and prior is not None and (clash or not spec.retry_failed):
                summary.standing += 1
                summary.failures.append(Failure(
                    url, prior.error or "failed", prior.details.get("failed_since"),
                    standing=True))
                self.listener("standing", prior)
                continue
            if row.clash is not None:
                self._refuse(row, prior, row.clash, summary)
                continue
            if spec.skip_existing and self._exists(sink_fs, sink_root, row.output_url):
                summary.skipped += 1
                self.listener("skipped", self._record_for(row, prior))
                continue
            if (spec.settle > 0 and source.modified is not None
                    and now - source.modified < spec.settle):
                self._young.append((row, prior))
                continue
            yield source, self._record_for(row, prior)

    def _exists(self, sink_fs: Any, sink_root: str, output_url: str) -> bool:
        """The output is there already: in the sink, or in the review location when a
        flagged result went there (a re-run does not redo it)."""
        rel = self._output_rel(output_url)
        if sink_fs.exists(posixpath.join(sink_root, rel)):
            return True
        review = self.spec.review_sink
        if review is None:
            return False
        review_fs, review_root = review.open()
        return bool(review_fs.exists(posixpath.join(review_root, rel)))

    def _record_for(self, row: Spooled, prior: LedgerItem | None) -> LedgerItem:
        url, source = row.input_url, row.source
        same = prior is not None and prior.fingerprint == self._fingerprint_of(url)
        record = LedgerItem(
            input_url=url, dest=self.spec.sink.url, rel=source.rel,
            fingerprint=self._fingerprint_of(url), stamp=source.stamp,
            output_url=row.output_url,
            content_hash=prior.content_hash if prior else None,
            attempts=0, details=prior.details if prior and same else {},
            review=prior.review if prior and same else None,
        )
        record.details["known_hash"] = (prior.content_hash if prior and same
                                        and prior.status == "done" else None)
        if prior is not None and prior.details.get("routed_to") and not same:
            record.details["routed_to"] = prior.details["routed_to"]  # it is still there
        record.details["earlier"] = _earlier_output(prior)
        return record

    def _refuse(self, row: Spooled, prior: LedgerItem | None, reason: str,
                summary: RunSummary) -> None:
        """An input whose output belongs to another: failed with ``reason``, never read;
        recorded now once the run has started, else when it starts (a dry run: never)."""
        record = self._record_for(row, prior)
        record.details.pop("known_hash", None)
        record.details.pop("earlier", None)
        record.status, record.error, record.finished = "failed", reason, time.time()
        record.details.setdefault("failed_since", record.finished)
        record.details["clash"] = True
        summary.failed += 1
        summary.failures.append(Failure(record.input_url, reason,
                                        record.details["failed_since"]))
        self.listener("failed", record)
        if self._run_id:
            record.run_id = self._run_id
            self.ledger.put(record)
        else:
            self._clashed.append(record)

    def _settled(self, summary: RunSummary, *, wait: bool
                 ) -> Iterator[tuple[SourceFile, LedgerItem]]:
        """The young files once nobody has written them for ``settle`` seconds. Without
        ``wait`` (a watch pass), or past ``SETTLE_MAX_WAIT``, they are left for the next run
        (counted in ``summary.settling``), never failed."""
        waiting = list(self._young)
        deadline = time.monotonic() + SETTLE_MAX_WAIT
        while waiting and wait and not self._stop and time.monotonic() < deadline:
            time.sleep(min(self.spec.settle, 0.5))
            still = []
            for row, prior in waiting:
                source = row.source
                try:
                    stat = os.stat(source.path)
                except OSError:
                    continue  # gone meanwhile: the next listing decides
                if stat.st_mtime != source.modified or stat.st_size != source.size:
                    row = replace(row, source=local_file(source.path, source.rel, stat))
                if time.time() - stat.st_mtime >= self.spec.settle:
                    yield row.source, self._record_for(row, prior)
                else:
                    still.append((row, prior))
            waiting = still
        summary.settling = len(waiting)

    def _work(self, source: SourceFile, record: LedgerItem, source_root: str,
              sink_root: str) -> WorkItem:
        # an input redone keeps its place in the report's sample, with thumbnails of its new
        # content
        kept = "thumb_after" in record.details
        sample = self.thumbs_dir is not None and (kept or self._sampled < self.spec.report_sample)
        if sample and not kept:
            self._sampled += 1
        known = record.details.pop("known_hash", None)
        earlier = record.details.pop("earlier", None)
        entry = None if self._entries is None else self._entries[record.input_url]
        output = entry.output if entry is not None and entry.output else self.spec.output
        rel = self._output_rel(record.output_url)
        return WorkItem(
            source=self.spec.source, source_path=source.path, sink=self.spec.sink,
            output_path=posixpath.join(sink_root, rel),
            steps=self.spec.steps, output=output, known_hash=known, thumbs=sample,
            seed=entry.seed if entry is not None else None, images=self.spec.images,
            review_threshold=self.spec.review_threshold, review_sink=self.spec.review_sink,
            review_rel=rel, earlier=earlier,
        )

    def _output_rel(self, output_url: str | None) -> str:
        """The output's path below the sink, from the URL ``_name_outputs`` chose."""
        # a whole bucket's or Dropbox's sink (``dropbox://``) leaves a leading slash
        return (output_url or "")[len(self.spec.sink.url.rstrip("/")) + 1:].lstrip("/")

    # -- outcomes --------------------------------------------------------------------------
    def _record(self, outcome: ItemOutcome, record: LedgerItem, work: WorkItem,
                summary: RunSummary) -> bool:
        """Write the outcome to the ledger; True when the item should be tried again. Refused
        credentials stop the run: the input stays pending, not failed (it is not at fault)."""
        record.timings, record.finished = outcome.timings, time.time()
        if outcome.fatal:
            record.status, record.error = "pending", outcome.error
            self.ledger.put(record)
            summary.stopped = summary.stopped or outcome.error
            self._stop = True
            return False
        record.seconds = record.finished - (record.started or record.finished)
        if outcome.ok:
            record.status, record.error = "done", None
            record.details.pop("failed_since", None)
            record.details.pop("clash", None)
            record.content_hash = outcome.content_hash
            if not outcome.unchanged:
                kept = {k: v for k, v in record.details.items()  # not the old content's
                        if k not in ("thumb_before", "thumb_after", "notices", "routed_to")}
                record.details = {**kept, **outcome.details}
                record.review = outcome.review
                self._count_review(record, outcome, summary)
                summary.notices.extend(Notice(record.input_url, text)
                                       for text in outcome.details.get("notices", ()))
                self._save_thumbs(record, outcome)
            self.ledger.put(record)
            event: Event = "unchanged" if outcome.unchanged else "done"
            if outcome.unchanged:
                summary.unchanged += 1
            else:
                summary.done += 1
            self._after_success(record, work)
            self.listener(event, record)
            return False
        if outcome.retryable and record.attempts <= self.spec.retries and not self._stop:
            record.status, record.error = "pending", outcome.error
            self.ledger.put(record)
            summary.retries += 1
            self.listener("retry", record)
            return True
        record.status, record.error = "failed", outcome.error
        record.details.setdefault("failed_since", record.finished)
        self.ledger.put(record)
        summary.failed += 1
        summary.failures.append(Failure(record.input_url, outcome.error or "failed",
                                        record.details["failed_since"]))
        self.listener("failed", record)
        return False

    def _count_review(self, record: LedgerItem, outcome: ItemOutcome,
                      summary: RunSummary) -> None:
        """Count a flagged result, and say where it went when it left the sink."""
        review = outcome.review or {}
        if isinstance(review.get("threshold"), int | float):
            summary.review_threshold = float(review["threshold"])
        if review.get("flag"):
            summary.flagged += 1
        if outcome.routed_to is not None:
            record.details["routed_to"] = outcome.routed_to
            summary.routed += 1

    def _drain(self, inflight: dict[Future[ItemOutcome], tuple[LedgerItem, WorkItem]],
               summary: RunSummary, grace: float = 30.0) -> None:
        """After Ctrl-C: wait for what is running, then give the rest back as pending."""
        finished, unfinished = wait(inflight, timeout=grace)
        for future in finished:
            record, work = inflight[future]
            self._record(future.result(), record, work, summary)
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

    def _after_success(self, record: LedgerItem, work: WorkItem) -> None:
        """``on_success``: keep the input, delete it, or move it (never processed twice), but
        only once its own output is verified written; a moved input never replaces another
        file at the target (it takes a numbered name there)."""
        action = self.spec.on_success
        if action == "keep":
            return
        fs, root = self.spec.source.open()
        path = (work.source_path if self._entries is not None
                else root if self._single else posixpath.join(root, record.rel))
        try:
            problem = self._output_problem(record, work)
            if problem is not None:
                record.details["on_success_error"] = f"{problem}: the input was kept"
                self.ledger.put(record)
                log.warning("%s: %s: the input was kept", record.input_url, problem)
                return
            if action == "delete":
                fs.rm_file(path)
            elif action.startswith("move:"):
                data = fs.cat_file(path)
                target = Location(action[len("move:"):], self.spec.source.options)
                target_fs, target_root = target.open()
                rel = (PurePosixPath(path).name if self._single or self._entries is not None
                       else record.rel)
                moved = _free_target(target_fs, posixpath.join(target_root, rel), data)
                if moved is not None:
                    write_atomic(moved, data, target_fs)  # makes the folders a local target needs
                    if int(target_fs.info(moved)["size"]) != len(data):
                        raise OSError(f"the copy at {moved} is incomplete")
                fs.rm_file(path)
            record.details["input_moved"] = action
            self.ledger.put(record)
        except Exception as exc:  # the output is safe; say why the input stayed
            error = exc if isinstance(exc, OSError | LampyrisError) else translate(exc, path)
            if error is None:
                raise
            record.details["on_success_error"] = str(error)
            self.ledger.put(record)
            log.warning("%s: on-success %s failed: %s", record.input_url, action, exc)

    def _output_problem(self, record: LedgerItem, work: WorkItem) -> str | None:
        """Why the output cannot be trusted yet (missing, or not the size written), or None."""
        fs_out, path = self.spec.sink.open()[0], work.output_path
        url = record.details.get("routed_to") or record.output_url
        if record.details.get("routed_to") and work.review_sink is not None:
            fs_out, root = work.review_sink.open()
            path = posixpath.join(root, work.review_rel)
        try:
            size = int(fs_out.info(path)["size"])
        except FileNotFoundError:
            return f"the output {url} is missing"
        expected = record.details.get("output_bytes")
        if expected is not None and size != expected:
            return f"the output {url} has {size} bytes, not the {expected} written"
        return None


def check_review_location(spec: BatchSpec, inputs: Sequence[str] | None = None) -> None:
    """Refuse (``InvalidParameterError``) a review location that is, holds or lies in the sink,
    or the source a batch lists; with ``inputs`` (the file commands' own files, on the
    source's storage), one that holds an input. Results and inputs there could be deleted."""
    review = spec.review_sink
    if review is None:
        return
    if _overlap(review, spec.sink) or (inputs is None and _overlap(review, spec.source)):
        raise InvalidParameterError(review_outside_message(review))
    if inputs is not None and review.protocol == spec.source.protocol:
        folder = _place(review)[1]
        for path in inputs:
            if _inside(_place(Location(path, spec.source.options))[1], folder):
                raise InvalidParameterError(review_outside_message(review))


def review_outside_message(review: Location) -> str:
    return (f"--on-review move:{review.url} must name a folder outside --output and the "
            "inputs")


def _place(location: Location) -> tuple[str, str]:
    """Which storage a location is on and its path there, without slashes at either end,
    so two locations compare without opening either (a local path with links resolved)."""
    protocol = "file" if location.protocol in ("file", "local") else location.protocol
    if protocol == "dropbox":
        return protocol, location.url.split(":", 1)[1].strip("/")
    path = location.url.split("://", 1)[1] if "://" in location.url else location.url
    if protocol == "file":
        path = os.path.realpath(path)
    return protocol, path.strip("/")


def _inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or lies below it (an empty folder is the whole storage)."""
    return not folder or path == folder or path.startswith(folder + "/")


def _overlap(a: Location, b: Location) -> bool:
    """One of the two locations is the other or holds it."""
    (pa, a_path), (pb, b_path) = _place(a), _place(b)
    return pa == pb and (_inside(a_path, b_path) or _inside(b_path, a_path))


def _earlier_output(prior: LedgerItem | None) -> str | None:
    """Where this input's last output is, by its own ledger record (None: none known): the
    review location it was routed to, else its name in the sink once it was done there."""
    if prior is None:
        return None
    routed = prior.details.get("routed_to")
    if routed:
        return str(routed)
    return prior.output_url if prior.content_hash is not None else None


def check_on_review(value: str) -> str:
    """``keep`` (flagged results stay in the sink) or ``move:URL``."""
    if value == "keep" or (value.startswith("move:") and len(value) > 5):
        return value
    raise ValueError("on_review is keep or move:URL (where flagged results go instead)")


def _free_target(fs: Any, path: str, data: bytes) -> str | None:
    """Where a moved input goes: ``path``, or ``name-2.ext``… when another file is there
    already; None when the very same bytes are there (nothing to copy)."""
    candidate, n = path, 1
    while fs.exists(candidate):
        if fs.cat_file(candidate) == data:
            return None
        n += 1
        candidate = numbered(path, n)
    return candidate
