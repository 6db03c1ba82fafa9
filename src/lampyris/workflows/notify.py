"""``batch --notify URL``: a signed ``batch.finished`` event after each pass that ran.

The batch process delivers it itself, with the server's signer, guard and backoff
(``jobs.webhooks``), but fewer attempts (``BATCH_ATTEMPTS``): a command should not wait a day
for a receiver. Every attempt is written beside the run's summary (``<summary>.notify.json``),
so the run's records say whether the receiver heard.

Usage:
    notifier = Notifier.checked("https://pim.example.com/hooks", secret)
    notifier.send(summary, spec, records)
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lampyris.errors import InvalidParameterError, StorageError
from lampyris.jobs.record import now
from lampyris.jobs.webhook_log import new_event_id
from lampyris.jobs.webhooks import Attempt, WebhookSettings, deliver
from lampyris.storage.guard import UrlGuard
from lampyris.storage.settings import StorageSettings
from lampyris.workflows.batch import BatchSpec, RunSummary
from lampyris.workflows.records import RunRecords
from lampyris.workflows.report import write_json

log = logging.getLogger(__name__)

# 6 attempts: 5, 10, 20, 40 and 80 s apart (±50 %), about 2.5 minutes in all at most.
BATCH_ATTEMPTS = 6
EVENT_TYPE = "batch.finished"


def run_state(summary: RunSummary) -> str:
    """``succeeded``, ``failed`` (an input failed, or the run stopped) or ``cancelled``."""
    if summary.interrupted:
        return "cancelled"
    return "failed" if summary.failed or summary.standing or summary.stopped else "succeeded"


def batch_event(event_id: str, summary: RunSummary, spec: BatchSpec,
                records: RunRecords) -> dict[str, Any]:
    """The event: what ran, its counts, and where its report and summary are."""
    return {
        "id": event_id, "type": EVENT_TYPE, "created": now().isoformat(),
        "batch": {
            "run": summary.run_id, "state": run_state(summary), "source": spec.source.url,
            "sink": spec.sink.url, "listed": summary.listed, "done": summary.done,
            "unchanged": summary.unchanged, "skipped": summary.skipped,
            "failed": summary.failed, "standing": summary.standing,
            "flagged": summary.flagged, "seconds": round(summary.seconds, 3),
            "stopped": summary.stopped, "report": str(records.report),
            "summary": str(records.summary),
            "failures": [{"input": f.input_url, "reason": f.reason}
                         for f in summary.failures[:20]],
        },
    }


@dataclass
class Notifier:
    """Where a run's events go and the secret they are signed with."""

    url: str
    secret: str
    storage: StorageSettings = field(default_factory=StorageSettings)
    settings: WebhookSettings = field(default_factory=lambda: WebhookSettings(
        max_attempts=min(WebhookSettings().max_attempts, BATCH_ATTEMPTS)))

    @classmethod
    def checked(cls, url: str, secret: str | None) -> Notifier:
        """Refuse now, before anything runs, what would be refused at the end."""
        if not secret:
            raise InvalidParameterError("--notify needs a signing secret: --notify-secret or "
                                        "LAMPYRIS_WEBHOOK_SECRET")
        notifier = cls(url, secret)
        try:
            UrlGuard(notifier.storage).check(url)
        except StorageError as exc:
            raise InvalidParameterError(f"--notify: {exc}") from None
        return notifier

    def send(self, summary: RunSummary, spec: BatchSpec, records: RunRecords) -> bool:
        """Deliver the pass's event, record every attempt; True when it got through."""
        event_id = new_event_id()
        body = json.dumps(batch_event(event_id, summary, spec, records), separators=(",", ":"))
        attempts = deliver(self.url, body, self.secret, event_id, EVENT_TYPE, self.storage,
                           self.settings)
        delivered = attempts[-1].delivered
        write_json(notify_path(records), {
            "event_id": event_id, "url": self.url, "delivered": delivered,
            "attempts": [_entry(a) for a in attempts]})
        if not delivered:
            log.warning("--notify: the event %s was not delivered: %s", event_id,
                        attempts[-1].error)
        return delivered


def _entry(attempt: Attempt) -> dict[str, Any]:
    return {**asdict(attempt), **attempt.entry()}


def notify_path(records: RunRecords) -> Path:
    """Beside the summary: ``summary.json`` → ``summary.notify.json``."""
    return records.summary.with_suffix(".notify.json")
