"""Webhooks on the wire: ``lampyris.callback: {url}`` on every submit route, the client's own
webhook, and the event a finished job sends (``docs/webhooks.md``).

Submit checks a callback URL with the same SSRF guard as every fetch (a private address is a
400 naming the field unless ``LAMPYRIS_ALLOW_PRIVATE_URLS`` allows its network) and logs one
delivery per URL with the job, in its transaction. The event is built when the job has
finished, by the dispatcher (``jobs.webhooks``), with the links the status route would give.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import Field

from lampyris.api.client_webhooks import ClientWebhooks
from lampyris.api.errors import ApiError, describe_failure
from lampyris.api.settings import ServerConfig
from lampyris.api.wire_common import Wire
from lampyris.errors import StorageError
from lampyris.jobs import JobRecord, SqlJobStore
from lampyris.jobs.record import now
from lampyris.jobs.webhook_log import Event, WebhookLog
from lampyris.jobs.webhooks import WebhookDispatcher
from lampyris.storage import ObjectStore
from lampyris.storage.guard import UrlGuard

log = logging.getLogger(__name__)

FIELD = "lampyris.callback.url"
EVENT_TYPES = {"succeeded": "job.succeeded", "failed": "job.failed",
               "cancelled": "job.cancelled", "timeout": "job.failed"}
# Where each route family answers a job's status (the ``kind`` of its row).
STATUS_PATHS = {"sensei": "/sensei/status", "v2": "/v2/status", "masking": "/v1/status",
                "pie": "/pie/psdService/status", "lightroom": "/lrService/status",
                "firefly": "/v3/status"}


def status_url(base_url: str, job: JobRecord) -> str:
    """Where the job's own family answers its status, as its SDK would poll it."""
    return f"{base_url}{STATUS_PATHS.get(job.kind, '/v2/status')}/{job.id}"


class Callback(Wire):
    """Where to POST the job's event when it finishes."""

    url: str = Field(min_length=1, max_length=8192)


class CallbackExtension(Wire):
    """The part of every route's ``lampyris`` extension object that asks for a callback."""

    callback: Callback | None = None


def requested_callback(request: dict[str, Any]) -> str | None:
    """The callback URL of a request record (its body as the wire model validated it)."""
    extension = request.get("lampyris")
    callback = extension.get("callback") if isinstance(extension, dict) else None
    url = callback.get("url") if isinstance(callback, dict) else None
    return url if isinstance(url, str) else None


def webhook_urls(config: ServerConfig, hooks: ClientWebhooks, client_id: str,
                 request: dict[str, Any]) -> list[str]:
    """The URLs a new job's event goes to: its callback (checked now: 400 naming the field)
    and the client's webhook. A client without a signing secret cannot ask for a callback."""
    callback = requested_callback(request)
    hook = hooks.get(client_id)
    if callback is not None:
        try:
            UrlGuard(config.storage).check(callback)
        except StorageError as exc:
            raise ApiError(400, "validation_error", f"{FIELD}: {exc}",
                           details=[{"name": FIELD, "reason": str(exc)}]) from None
        if hook is None:
            raise ApiError(400, "validation_error", f"{FIELD}: this client has no webhook "
                           "secret to sign events with; ask the server's operator to run "
                           "`lampyris clients webhook <client> --rotate`")
    return [url for url in (callback, hook.url if hook else None) if url]


def job_event(job: JobRecord, base_url: str, event_id: str, objects: ObjectStore,
              url_ttl: int) -> Event:
    """A finished job's event: ``(type, JSON body)``."""
    result = job.outcome()
    outputs: list[dict[str, Any]] = []
    for out in result.outputs:
        entry: dict[str, Any] = {"mediaType": out.mediaType, "width": out.width,
                                 "height": out.height, "bytes": out.bytes}
        if out.key and base_url:
            entry["url"] = objects.url(out.key, url_ttl, base_url)
        if out.seed is not None:
            entry["seed"] = out.seed
        outputs.append(entry)
    body: dict[str, Any] = {
        "id": job.id, "op": job.op, "state": job.state,
        "statusUrl": status_url(base_url, job),
        "created": job.created.isoformat(), "finished": job.modified.isoformat(),
        "outputs": outputs, "error": None,
    }
    if job.state != "succeeded":
        failure = describe_failure(job.error or {})
        body["error"] = {"code": failure.code, "status": failure.status,
                         "message": failure.message}
    if "review" in result.metadata:
        body["review"] = result.metadata["review"]
    event_type = EVENT_TYPES.get(job.state, "job.failed")
    event = {"id": event_id, "type": event_type, "created": now().isoformat(), "job": body}
    return event_type, json.dumps(event, separators=(",", ":"))


def dispatcher(config: ServerConfig, store: SqlJobStore, objects: ObjectStore
               ) -> WebhookDispatcher:
    """The server's webhook thread over its job store, signing with each client's secret."""
    hooks = ClientWebhooks(store.engine)
    ttl = config.server.result_url_ttl

    def event_for(job: JobRecord, base_url: str, event_id: str) -> Event:
        return job_event(job, base_url, event_id, objects, ttl)

    return WebhookDispatcher(WebhookLog(store.engine), config.webhooks,
                             config.storage, event_for, hooks.secret,
                             config.jobs.retention_hours)
