"""Where a batch run keeps its records — the ledger and, beside it, the HTML report, the JSON
summary and the report's thumbnails — and writing them after a pass.

The ledger belongs to the destination (``ledger.default_path``) unless the user names one; an
older ledger found at the legacy place is adopted once. A run refused before it started leaves
none of it behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lampyris.workflows.batch import BatchSpec, RunSummary
from lampyris.workflows.ledger import LEGACY_BATCH_LEDGER, Ledger, adopt, default_path
from lampyris.workflows.report import summary_json, write_html_report, write_json


@dataclass
class RunRecords:
    """The ledger, and the report and summary written beside it."""

    ledger: Path
    report: Path
    summary: Path

    @classmethod
    def beside(cls, ledger: Path, report: Path | None = None,
               summary: Path | None = None) -> RunRecords:
        if ledger.name == "ledger.db":  # a destination's own: .lampyris/{report.html,…}
            return cls(ledger, report or ledger.with_name("report.html"),
                       summary or ledger.with_name("summary.json"))
        stem = ledger.with_suffix("").with_suffix("") if ledger.suffix == ".db" else ledger
        return cls(ledger, report or Path(f"{stem}.report.html"),
                   summary or Path(f"{stem}.summary.json"))

    @property
    def thumbs(self) -> Path:
        return Path(f"{self.ledger}.thumbs")

    def write(self, summary: RunSummary, ledger: Ledger, spec: BatchSpec) -> None:
        """The pass's JSON summary and the HTML report (the whole ledger for this sink)."""
        write_json(self.summary, summary_json(summary, ledger, spec.sink.url))
        write_html_report(self.report, ledger, spec.sink.url, self.thumbs, summary)


@dataclass(frozen=True)
class RecordPaths:
    """What the user said about a run's records (None: the default), and where an older
    version kept the ledger (``legacy``)."""

    ledger: Path | None = None
    report: Path | None = None
    summary: Path | None = None
    legacy: Path = LEGACY_BATCH_LEDGER

    def resolve(self, dest: str) -> tuple[RunRecords, str | None]:
        """The records of a run into ``dest``, and a note for the user when an older ledger
        was adopted (copied to its new place) on the way."""
        ledger, note = self.ledger, None
        if ledger is None:
            ledger = default_path(dest)
            if adopt(self.legacy, ledger, dest):
                note = (f"the ledger of {dest} now lives at {ledger} (copied from "
                        f"{self.legacy}, which can go)")
        return RunRecords.beside(ledger, self.report, self.summary), note


def missing_folders(ledger: Path) -> list[Path]:
    """The ledger itself and the folders that opening it will create, innermost first."""
    made, folder = [], ledger.absolute()
    while not folder.exists():
        made.append(folder)
        folder = folder.parent
    return made


def forget_new_ledger(ledger: Path, made: list[Path]) -> None:
    """A run refused before it started leaves nothing behind: no ledger, no empty folder in
    a destination that did not exist (``made``: what ``missing_folders`` said before)."""
    if not made or made[0] != ledger.absolute():
        return  # the ledger was there before: it keeps its history
    for suffix in ("", "-wal", "-shm"):
        Path(f"{ledger}{suffix}").unlink(missing_ok=True)
    for folder in made[1:]:
        try:
            folder.rmdir()
        except OSError:
            break
