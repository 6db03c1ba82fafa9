"""Webhooks: tell other systems when a job (or a batch) is done, signed, at least once.

``send`` makes one signed POST through the storage layer's guarded fetch (the SSRF guard,
pinned address, byte cap and deadline every outbound request obeys) and classifies what came
back: delivered (2xx), worth another try (5xx, 408, 429, a timeout, a refused connection) or
not (any other 4xx, a URL the guard refuses). ``retry_delay`` is the backoff; the server's
``WebhookDispatcher`` and a batch's ``notify`` share both, so an event is retried the same way
wherever it comes from. The dispatcher is a thread beside the job executor: it writes the
events of finished jobs into the delivery log (``webhook_log``) and sends what is due.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lampyris.client.webhooks import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)
from lampyris.errors import ForbiddenUrlError, StorageDeniedError, StorageError
from lampyris.jobs.record import now
from lampyris.jobs.webhook_log import Delivery, DeliveryState, EventBuilder, WebhookLog
from lampyris.storage.fetch import HttpFetcher, redact
from lampyris.storage.settings import StorageSettings

log = logging.getLogger(__name__)

_ANSWERED = re.compile(r"answered (\d{3})")
_RETRYABLE_4XX = frozenset({408, 429})


class WebhookSettings(BaseSettings):
    """``LAMPYRIS_WEBHOOK_*``. Attempt ``n`` (from 1) that fails is retried after
    ``backoff · 2^(n-1)`` seconds, at most ``backoff_max``, each ±50 % jitter: with the
    defaults 22 attempts span about a day (5 s, 10 s, … 85 min, then every 2 h)."""

    model_config = SettingsConfigDict(env_prefix="LAMPYRIS_WEBHOOK_", extra="ignore")

    max_attempts: int = Field(default=22, ge=1)
    backoff: float = Field(default=5.0, ge=0)
    backoff_max: float = Field(default=7200.0, ge=0)
    timeout: float = Field(default=10.0, gt=0)  # one attempt, connect to last byte
    poll_interval: float = Field(default=1.0, gt=0)
    senders: int = Field(default=4, ge=1)  # attempts in flight at once


@dataclass(frozen=True)
class Attempt:
    """What one POST came to; ``status`` is the receiver's HTTP status when it answered."""

    delivered: bool
    retry: bool
    status: int | None
    error: str | None
    seconds: float

    def entry(self) -> dict[str, Any]:
        """The attempt as the delivery log keeps it."""
        return {"at": now().isoformat(), "status": self.status, "error": self.error,
                "seconds": round(self.seconds, 3),
                "outcome": "delivered" if self.delivered else "retry" if self.retry else
                "refused"}


def retry_delay(attempt: int, settings: WebhookSettings) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (from 1)."""
    base = min(settings.backoff * 2 ** (attempt - 1), settings.backoff_max)
    return base * random.uniform(0.5, 1.5)


def send(url: str, body: str, secret: str, event_id: str, event_type: str,
         storage: StorageSettings, timeout: float) -> Attempt:
    """One signed POST of ``body`` to ``url`` (signed afresh: a retry carries a new
    timestamp, the same event id)."""
    headers = {"Content-Type": "application/json", "User-Agent": "lampyris-webhooks",
               SIGNATURE_HEADER: signature_header(secret, body), EVENT_ID_HEADER: event_id,
               EVENT_TYPE_HEADER: event_type}
    one_try = storage.model_copy(update={
        "storage_retries": 0, "storage_timeout": timeout,
        "storage_transfer_deadline": timeout, "storage_max_bytes": 1024 * 1024})
    started = time.perf_counter()
    fetcher = HttpFetcher(one_try)
    try:
        with fetcher:
            fetcher.request("POST", url, content=body.encode(), headers=headers)
    except StorageError as exc:
        status = fetcher.last_status
        if status is not None and 200 <= status < 300:  # accepted: its body does not matter
            return Attempt(True, False, status, None, time.perf_counter() - started)
        return _failed(exc, time.perf_counter() - started)
    return Attempt(True, False, None, None, time.perf_counter() - started)


def _failed(exc: StorageError, seconds: float) -> Attempt:
    """What a send that raised comes to: worth another try or not."""
    if isinstance(exc, ForbiddenUrlError):
        return Attempt(False, False, None, str(exc), seconds)
    if isinstance(exc, StorageDeniedError):  # a 4xx (or a redirect a POST cannot follow)
        status = exc.storage_status
        return Attempt(False, status in _RETRYABLE_4XX, status, str(exc), seconds)
    # 5xx, 429, timeouts, refused or reset connections, DNS
    answered = _ANSWERED.search(str(exc))
    return Attempt(False, True, int(answered.group(1)) if answered else None, str(exc), seconds)


def deliver(url: str, body: str, secret: str, event_id: str, event_type: str,
            storage: StorageSettings, settings: WebhookSettings,
            sleep: Callable[[float], None] = time.sleep) -> list[Attempt]:
    """Send until delivered, refused, or out of attempts, waiting between tries: for a
    process with no delivery log of its own (a batch run). Returns every attempt."""
    attempts: list[Attempt] = []
    for number in range(1, settings.max_attempts + 1):
        attempt = send(url, body, secret, event_id, event_type, storage, settings.timeout)
        attempts.append(attempt)
        if attempt.delivered or not attempt.retry or number == settings.max_attempts:
            break
        sleep(retry_delay(number, settings))
    return attempts


class WebhookDispatcher:
    """Arms the events of finished jobs and sends what is due, on a thread of the server.

    ``event_for(job, base_url, event_id)`` builds a job's event (the API's shapes);
    ``secret_for(owner)`` is the signing secret of the client who owns it (None: the delivery
    fails, logged).

    Usage:
        dispatcher = WebhookDispatcher(WebhookLog(store.engine), settings, storage,
                                       event_for, secret_for)
        dispatcher.start(); …; dispatcher.stop()
    """

    def __init__(self, deliveries: WebhookLog, settings: WebhookSettings,
                 storage: StorageSettings, event_for: EventBuilder,
                 secret_for: Callable[[str], str | None], retention_hours: float = 168.0
                 ) -> None:
        self.log = deliveries
        self.settings = settings
        self.storage = storage
        self._event_for = event_for
        self._secret_for = secret_for
        self._retention = retention_hours * 3600
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._senders: ThreadPoolExecutor | None = None
        self._purged: float | None = None

    def start(self) -> None:
        self._senders = ThreadPoolExecutor(self.settings.senders,
                                           thread_name_prefix="lampyris-webhook")
        self._thread = threading.Thread(target=self._loop, name="lampyris-webhooks",
                                        daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job finished (or an event was queued): look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming; attempts in flight finish (each is bounded by its timeout). A
        delivery claimed but not sent is due again once its claim runs out."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        if self._senders is not None:
            self._senders.shutdown(wait=True)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.step()
            except Exception:  # the database may be briefly unreachable: keep going
                log.exception("webhook dispatcher step failed; retrying")
            self._wake.wait(self.settings.poll_interval)
            self._wake.clear()

    def step(self) -> int:
        """One round: arm finished jobs' events, send the due ones (waiting for them);
        returns how many attempts were made."""
        try:
            self.log.arm(self._event_for)
        except Exception:  # arming is not sending: what is already due still goes out
            log.exception("webhook dispatcher could not arm finished jobs' events")
        due = self.log.claim(self.settings.senders * 2, lease=self.settings.timeout * 3 + 5)
        if due:
            senders = self._senders
            if senders is None:
                for delivery in due:
                    self.attempt(delivery)
            else:
                list(senders.map(self.attempt, due))
        tick = time.monotonic()
        if self._purged is None or tick - self._purged > 3600:
            self._purged = tick
            self.log.purge(now() - timedelta(seconds=self._retention))
        return len(due)

    def attempt(self, delivery: Delivery) -> Attempt:
        """Send one due delivery and record the attempt."""
        secret = self._secret_for(delivery.owner)
        if secret is None:
            attempt = Attempt(False, False, None, "the client has no webhook secret (removed?)",
                              0.0)
        else:
            attempt = send(delivery.url, delivery.body or "", secret, delivery.event_id,
                           delivery.event_type or "", self.storage, self.settings.timeout)
        number = delivery.attempts + 1
        state: DeliveryState
        if attempt.delivered:
            state, retry_at = "delivered", None
        elif attempt.retry and number < self.settings.max_attempts:
            state = "pending"
            retry_at = now() + timedelta(seconds=retry_delay(number, self.settings))
        else:
            state, retry_at = "failed", None
        self.log.attempted(delivery, attempt.entry(), state, retry_at)
        where = redact(delivery.url)
        if state == "failed":
            log.warning("webhook %s to %s failed for good after %d attempt(s): %s",
                        delivery.event_id, where, number, attempt.error)
        elif state == "pending":
            log.info("webhook %s to %s: attempt %d failed (%s); retrying", delivery.event_id,
                     where, number, attempt.error)
        return attempt
