"""``lampyris serve``: the Adobe-compatible HTTP server (uvicorn), jobs run on local workers or
on a Ray cluster."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError


def serve_command(
    host: str = typer.Option("127.0.0.1", envvar="LAMPYRIS_HOST",
                             help="Address to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(8000, envvar="LAMPYRIS_PORT", help="Port to listen on."),
    data_dir: Path | None = typer.Option(
        None, help="Database (SQLite) and hosted results. [env LAMPYRIS_DATA_DIR; "
                   "default ./lampyris-data]"),
    workers: int | None = typer.Option(
        None, min=0, help="Worker processes running jobs; 0 = one per core. "
                          "[env LAMPYRIS_JOBS_WORKERS]"),
    executor: str | None = typer.Option(
        None, help="Where jobs run: local (worker processes) or ray (the actors of a Ray "
                   "cluster). [env LAMPYRIS_JOBS_EXECUTOR; default local]"),
    ray_address: str | None = typer.Option(
        None, help="The Ray cluster for --executor ray: auto, HOST:PORT or ray://HOST:PORT "
                   "(none: start a Ray on this machine). [env LAMPYRIS_RAY_ADDRESS]"),
    database_url: str | None = typer.Option(
        None, help="SQLAlchemy URL of the job store, e.g. postgresql+psycopg://u@h/db "
                   "(replicas share it). [env LAMPYRIS_DATABASE_URL; default SQLite in the "
                   "data dir]"),
    public_url: str | None = typer.Option(
        None, help="Base URL clients reach this server on, for status and result links. "
                   "[env LAMPYRIS_PUBLIC_URL; default the request's own]"),
    log_level: str = typer.Option("info", help="debug, info, warning or error."),
    access_log: bool = typer.Option(False, help="Log every request."),
) -> None:
    """Serve Adobe's routes so existing Firefly Services scripts and Adobe's SDKs work by
    changing only the host: /ims/token/v3 (tokens), /sensei/* (cutout, mask), /v2/* (Photoshop
    remove background, edit; Firefly uploads), /v1/* (auto crop, refine mask, fill masked
    areas; Firefly's legacy fill and expand), /pie/psdService/* (product crop, renditions,
    depth blur), /v3/* (Firefly fill, expand, object composite, generate), /lrService/*
    (Lightroom auto tone, straighten, presets, edits), /files/* (signed result links),
    /console (the web console), /health and /metrics. Adobe operations not served answer 501.
    OpenAPI docs at /docs."""
    # Imported here, not above: help and argument errors need none of the server.
    import uvicorn

    from lampyris.api import create_app
    from lampyris.api.settings import ServerConfig, ServerSettings
    from lampyris.jobs.settings import JobSettings

    given = {"data_dir": data_dir, "database_url": database_url, "public_url": public_url}
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    jobs: dict[str, Any] = {k: v for k, v in {"workers": workers, "executor": executor,
                              "ray_address": ray_address}.items() if v is not None}
    try:
        config = ServerConfig(server=ServerSettings(**overrides), jobs=JobSettings(**jobs))
    except ValidationError as exc:
        raise typer.BadParameter(exc.errors()[0]["msg"]) from None
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    uvicorn.run(create_app(config), host=host, port=port, log_level=log_level,
                access_log=access_log, timeout_graceful_shutdown=15)
