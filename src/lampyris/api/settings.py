"""Server configuration (``LAMPYRIS_*``), composed with the jobs and storage settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lampyris.imaging.fill.engines import EngineChoice
from lampyris.jobs.database import sqlite_url
from lampyris.jobs.settings import JobSettings
from lampyris.storage import StorageSettings


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
