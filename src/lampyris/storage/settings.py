"""Storage limits and the SSRF allow-list, read from the environment once.

Every outbound fetch obeys these, so they live beside the storage code (STYLE #5). The object
is plain data (it pickles), because batch runners hand it to worker processes.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IpNetwork = IPv4Network | IPv6Network


def split_csv(value: Any) -> Any:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``; lists (from code or JSON) pass through."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class StorageSettings(BaseSettings):
    """``LAMPYRIS_*`` environment variables for reading and writing referenced objects.

    Usage::

        LAMPYRIS_ALLOW_PRIVATE_URLS=127.0.0.0/8,10.0.0.0/8  # comma-separated networks
        LAMPYRIS_STORAGE_MAX_BYTES=52428800                   # 50 MiB read cap

    Nothing private, loopback or link-local is reachable unless its network is listed in
    ``allow_private_urls`` — the default keeps a hostile ``href`` away from the cloud metadata
    service and from anything else inside the network.
    """

    model_config = SettingsConfigDict(env_prefix="LAMPYRIS_", extra="ignore")

    # Networks the SSRF guard lets through even though they are not public. A single address
    # (``127.0.0.1``) means its /32 (or /128); host bits are tolerated (``10.1.2.3/8``).
    allow_private_urls: Annotated[list[IpNetwork], NoDecode] = Field(default_factory=list)
    # Cap on any object read, checked on Content-Length and again while streaming.
    storage_max_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    # Seconds for each of connect, read, write (one value: a stalled peer fails as fast as a
    # dead one).
    storage_timeout: float = Field(default=30.0, gt=0)
    # Retries after the first attempt, on connect errors, timeouts, 5xx and 429.
    storage_retries: int = Field(default=3, ge=0)
    # Base of the exponential backoff in seconds: ~base, 2*base, 4*base… each with jitter.
    storage_backoff: float = Field(default=0.5, ge=0)
    # Longest ``Retry-After`` (seconds) a 429/503 answer may make a worker wait.
    storage_retry_after_max: float = Field(default=30.0, ge=0)
    # Seconds one transfer (a GET, or an output PUT/POST; its retries and redirects included)
    # may take in all. The per-read timeout alone let a peer sending one byte every 10 s hold
    # a worker for 170 s and more; 120 s still moves the 200 MiB cap at 1.7 MB/s.
    storage_transfer_deadline: float = Field(default=120.0, gt=0)
    # Bytes per second a body must average once it has moved for ``storage_min_rate_grace``
    # seconds (0 turns the check off): a trickling peer lets go of the worker after ~10 s
    # instead of at the deadline, while a slow but honest link (≥ 128 kbit/s) gets through.
    storage_min_transfer_rate: int = Field(default=16 * 1024, ge=0)
    storage_min_rate_grace: float = Field(default=10.0, ge=0)
    allowed_schemes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http", "https"]
    )

    @field_validator("allow_private_urls", mode="before")
    @classmethod
    def _parse_networks(cls, value: Any) -> Any:
        items = split_csv(value)
        if not isinstance(items, list):
            return items
        networks: list[IpNetwork] = []
        for item in items:
            if isinstance(item, IPv4Network | IPv6Network):
                networks.append(item)
                continue
            try:
                networks.append(ip_network(str(item).strip(), strict=False))
            except ValueError as exc:
                raise ValueError(
                    f"{item!r} is not an IP network (expected e.g. 127.0.0.0/8 or ::1/128)"
                ) from exc
        return networks

    @field_validator("allowed_schemes", mode="before")
    @classmethod
    def _parse_schemes(cls, value: Any) -> Any:
        items = split_csv(value)
        if isinstance(items, list):
            return [str(item).strip().lower() for item in items]
        return items
