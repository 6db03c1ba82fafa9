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
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    ClientError,
    ForbiddenError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from lampyris.client.jobs import Job, JobRef
from lampyris.client.lightroom import LightroomClient
from lampyris.client.photoshop import PhotoshopClient
from lampyris.client.retry import Backoff, RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_IMS_URL",
    "DEFAULT_SCOPES",
    "ApiConnectionError",
    "ApiError",
    "AuthenticationError",
    "Backoff",
    "ClientError",
    "ForbiddenError",
    "Job",
    "JobFailedError",
    "JobRef",
    "JobTimeoutError",
    "LightroomClient",
    "NotFoundError",
    "PhotoshopClient",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "ServiceClient",
    "StaticToken",
    "TokenProvider",
    "TokenSource",
    "ValidationError",
]
