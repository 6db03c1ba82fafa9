"""What the routes share: the stores, the token signer, the executor, metrics and links.

Built once by ``create_app`` and kept on ``app.state``; routes get it through the
``services`` dependency, so nothing reads globals or the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from lampyris.api.clients import ClientRegistry
from lampyris.api.metrics import Metrics
from lampyris.api.ratelimit import RateLimiter, TokenThrottle
from lampyris.api.settings import ServerConfig
from lampyris.api.tokens import TokenSigner
from lampyris.api.uploads import UploadRegistry
from lampyris.jobs import JobExecutor, SqlJobStore
from lampyris.jobs.webhooks import WebhookDispatcher
from lampyris.storage import ObjectStore


@dataclass
class Services:
    config: ServerConfig
    store: SqlJobStore
    clients: ClientRegistry
    signer: TokenSigner
    limiter: RateLimiter
    token_throttle: TokenThrottle
    objects: ObjectStore
    executor: JobExecutor
    metrics: Metrics
    uploads: UploadRegistry
    webhooks: WebhookDispatcher  # job events to callbacks (``api.callbacks``)

    def base_url(self, request: Request) -> str:
        """Absolute base for links: the configured public URL, else the request's own."""
        configured = self.config.server.public_url
        return (configured or str(request.base_url)).rstrip("/")

    def file_url(self, request: Request, key: str, ttl: int | None = None) -> str:
        """A signed URL to a hosted object, valid ``ttl`` seconds (default: the server's
        ``result_url_ttl``)."""
        return self.objects.url(key, ttl or self.config.server.result_url_ttl,
                                self.base_url(request))


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc
