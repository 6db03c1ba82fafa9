"""Python SDK for Adobe's image routes, against Adobe's hosts or a lampyris server alike."""

from __future__ import annotations

from lampyris.client.auth import (
    DEFAULT_IMS_URL,
    DEFAULT_SCOPES,
    StaticToken,
    TokenProvider,
    TokenSource,
)
from lampyris.client.base import DEFAULT_BASE_URL, ServiceClient
from lampyris.client.errors import (
    AuthenticationError,
    ClientError,
    ForbiddenError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    RateLimitedError,
    RequestRejectedError,
    ServerError,
    ServiceConnectionError,
    ServiceError,
)
from lampyris.client.firefly import FIREFLY_SCOPES, FireflyClient, source
from lampyris.client.jobs import Job, JobRef
from lampyris.client.lightroom import LightroomClient
from lampyris.client.photoshop import PhotoshopClient
from lampyris.client.retry import Backoff, RetryPolicy
from lampyris.client.transfer import download
from lampyris.client.webhooks import WebhookSignatureError, verify_webhook

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_IMS_URL",
    "DEFAULT_SCOPES",
    "FIREFLY_SCOPES",
    "AuthenticationError",
    "Backoff",
    "ClientError",
    "FireflyClient",
    "ForbiddenError",
    "Job",
    "JobFailedError",
    "JobRef",
    "JobTimeoutError",
    "LightroomClient",
    "NotFoundError",
    "PhotoshopClient",
    "RateLimitedError",
    "RequestRejectedError",
    "RetryPolicy",
    "ServerError",
    "ServiceClient",
    "ServiceConnectionError",
    "ServiceError",
    "StaticToken",
    "TokenProvider",
    "TokenSource",
    "WebhookSignatureError",
    "download",
    "source",
    "verify_webhook",
]
