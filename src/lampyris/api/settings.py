"""Server configuration (``LAMPYRIS_*``), composed with the jobs and storage settings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from lampyris.imaging.fill.engines import EngineChoice
from lampyris.jobs.database import sqlite_url
from lampyris.jobs.settings import JobSettings
from lampyris.jobs.webhooks import WebhookSettings
from lampyris.storage import StorageSettings
from lampyris.storage.settings import split_csv


class ServerSettings(BaseSettings):
    """``data_dir`` holds the SQLite database (unless ``database_url`` names another) and the
    hosted result files. ``public_url`` is the base of the links the server hands out (status
    and result URLs); by default the URL the request came in on. A ``rate_limit_per_minute``
    of 0 turns the per-client limit off."""

    model_config = SettingsConfigDict(env_prefix="LAMPYRIS_", extra="ignore")

    data_dir: Path = Path("lampyris-data")
    database_url: str | None = None
    public_url: str | None = None
    token_ttl: int = Field(default=86399, gt=0)
    rate_limit_per_minute: float = Field(default=1200, ge=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    # ``/ims/token/v3``: failed attempts (a success gives its token back) per client id and
    # per remote address; 0 per minute turns one off. A client with the right secret is never
    # held back; one retrying a wrong secret gets 10 tries, then one every 6 s. An address gets
    # 30, then one a second: at ~50–90 ms of scrypt each, at most a tenth of a core.
    token_rate_limit_per_minute: float = Field(default=10, ge=0)
    token_rate_limit_burst: int = Field(default=10, ge=1)
    token_address_rate_limit_per_minute: float = Field(default=60, ge=0)
    token_address_rate_limit_burst: int = Field(default=30, ge=1)
    result_url_ttl: int = Field(default=3600, gt=0)
    # Where hosted results and uploads live: None = ``data_dir/objects``; a directory; or
    # ``s3://bucket/prefix`` (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
    # ``objects_endpoint_url`` for a non-AWS S3), whose result URLs are S3's own pre-signed ones.
    objects_url: str | None = None
    objects_endpoint_url: str | None = None
    # Firefly: how long an upload id stays usable, how long a synchronous call waits for its
    # job, and the fill engine when a request names none (auto: studio around a subject,
    # patch for holes inside a picture).
    upload_ttl: int = Field(default=7 * 24 * 3600, gt=0)
    sync_timeout: float = Field(default=300.0, gt=0)
    fill_engine: EngineChoice = "auto"
    # The largest request body (413 past it): a Lightroom /xmp body carries a preset of up to
    # 1 MiB inline, everything else is a few KiB of JSON. Firefly uploads have their own cap,
    # the storage byte cap (LAMPYRIS_STORAGE_MAX_BYTES), as any image the server reads.
    max_request_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # ONNX files in this directory may be named (by file name) in a request's
    # ``lampyris.model``; None: the registry's models only. Paths are never taken over the API.
    model_dir: Path | None = None
    # The web console (``/console`` and its ``/lampyris/v1`` routes); false: both answer 404.
    console: bool = True
    # Folders (searched to a depth of 3) whose batch ledgers the console may open for review;
    # the environment gives them comma-separated or as a JSON list. Empty: no reports.
    console_reports: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    # The client ids that may use those reports (``/lampyris/v1/reports*``), given as
    # ``console_reports`` is; empty: every authenticated client may.
    console_report_clients: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("console_reports", "console_report_clients", mode="before")
    @classmethod
    def _folders(cls, value: Any) -> Any:
        """``a,b`` or ``["a", "b"]`` from the environment, a list from code."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError as exc:
                    raise ValueError(f"not a JSON list ({exc}): give the values as "
                                     '["a", "b"] or comma-separated') from None
        return split_csv(value)

    @property
    def database(self) -> str:
        return self.database_url or sqlite_url(self.data_dir)

    @property
    def objects_dir(self) -> Path:
        return self.data_dir / "objects"


@dataclass
class ServerConfig:
    """Everything ``create_app`` needs; each part reads its own environment variables."""

    server: ServerSettings = field(default_factory=ServerSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
