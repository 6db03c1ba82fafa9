"""The FastAPI application: ``create_app()`` wires stores, executor and routers.

Usage:
    app = create_app(ServerConfig())   # then serve it with uvicorn

    # Tests: every route in this process, jobs on a thread of it (no worker processes)
    with TestClient(create_app(config, inline_jobs=True)) as http: ...
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lampyris import __version__
from lampyris.api import (
    callbacks,
    console,
    console_jobs,
    console_reports,
    firefly,
    firefly_generate,
    firefly_legacy,
    hosted_files,
    ims,
    lightroom,
    photoshop,
    photoshop_masking,
    photoshop_pie,
)
from lampyris.api.adobe_paths import adobe_operation
from lampyris.api.auth import authenticate
from lampyris.api.clients import ClientRegistry
from lampyris.api.errors import (
    ApiError,
    error_body,
    family_of,
    http_error,
    install_handlers,
    not_implemented,
    respond,
)
from lampyris.api.firefly import UPLOAD_PATH
from lampyris.api.metrics import CONTENT_TYPE, Metrics
from lampyris.api.ratelimit import RateLimiter, TokenThrottle
from lampyris.api.server_state import engine as server_engine
from lampyris.api.server_state import server_state
from lampyris.api.services import Services, services
from lampyris.api.settings import ServerConfig
from lampyris.api.tokens import TokenSigner, server_secret
from lampyris.api.uploads import UploadRegistry
from lampyris.jobs import JobExecutor, Outcome, SqlJobStore, WorkerEnv

log = logging.getLogger(__name__)


class CollapseSlashes:
    """Adobe's Lightroom SDK 1.0.0 requests ``//lrService/...``: treat ``//`` as ``/``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("//"):
            scope = dict(scope, path="/" + scope["path"].lstrip("/"))
        await self.app(scope, receive, send)


class BodyTooLarge(HTTPException):
    """Raised while a body streams in past the limit. FastAPI lets an ``HTTPException`` from
    reading the body through to the handlers, which answer in the route family's shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit:,} bytes")


class LimitBodies:
    """Refuse request bodies over ``limit`` bytes with 413 before they are parsed or stored:
    at once when Content-Length says so, else as soon as the streamed bytes pass it (chunked
    bodies). ``exempt`` routes read their body as a stream under a cap of their own (the
    Firefly upload: the storage byte cap)."""

    def __init__(self, app: ASGIApp, limit: int, exempt: frozenset[str] = frozenset()) -> None:
        self.app, self.limit, self.exempt = app, limit, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        limit = self.limit
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            error = BodyTooLarge(limit)
            body = error_body(family_of(scope["path"]), 413, "request_too_large",
                              str(error.detail), [])
            await JSONResponse(body, status_code=413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


async def answer_unserved(request: Request, exc: Exception) -> JSONResponse:
    """No route answered: an operation of Adobe's is a 501 ``not_implemented`` once the caller
    passes the gateway's checks (Adobe's gateway checks the key and token before the route;
    the rate limit is not taken), anything else keeps Starlette's 404 or 405. A route added
    later answers before this is asked."""
    assert isinstance(exc, HTTPException)
    unrouted = exc.status_code == 404 and "endpoint" not in request.scope
    if (unrouted or exc.status_code == 405) and adobe_operation(request.method,
                                                                 request.url.path):
        try:
            authenticate(request, request.app.state.services)
        except ApiError as refused:
            return respond(request, refused)
        return respond(request, not_implemented(request.method, request.url.path))
    error = http_error(exc)
    if unrouted:
        error.message = (f"lampyris has no route {request.method} {request.url.path}: check "
                         "the base URL and the path")
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow") or "another method"
        error.message = f"{request.method} is not allowed on {request.url.path}: use {allowed}"
    return respond(request, error)


def build_services(config: ServerConfig, *, inline_jobs: bool = False) -> Services:
    """Open the store (creating tables and secrets on first use) and prepare the executor.
    ``inline_jobs``: see ``create_app``."""
    settings = config.server
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = SqlJobStore(settings.database)
    objects_secret = server_secret(store.engine, "objects")
    metrics = Metrics(store)
    env = WorkerEnv(storage=config.storage, objects_dir=settings.objects_dir,
                    objects_secret=objects_secret, objects_url=settings.objects_url,
                    objects_endpoint_url=settings.objects_endpoint_url)
    # Inline, one job runs at a time (the InlinePool has one thread): claim no more than that,
    # so a second job stays pending, as it would behind a busy worker process.
    jobs = config.jobs.model_copy(update={"workers": 1}) if inline_jobs else config.jobs
    webhooks = callbacks.dispatcher(config, store, env.objects())

    def finished(outcome: Outcome) -> None:
        metrics.job_finished(outcome)
        webhooks.wake()  # its event goes out now, not at the next poll

    executor = JobExecutor(
        store, jobs, env, on_finish=finished,
        # SQLite lives in this server's data dir: whatever is running there is ours, from a
        # previous life. A shared PostgreSQL store waits for the lease to run out instead.
        recover_all=settings.database.startswith("sqlite"),
        inline=inline_jobs,
    )
    return Services(
        config=config, store=store, clients=ClientRegistry(store.engine),
        signer=TokenSigner(server_secret(store.engine, "tokens"), settings.token_ttl),
        limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        token_throttle=TokenThrottle(
            RateLimiter(settings.token_rate_limit_per_minute, settings.token_rate_limit_burst),
            RateLimiter(settings.token_address_rate_limit_per_minute,
                        settings.token_address_rate_limit_burst)),
        objects=env.objects(), executor=executor, metrics=metrics,
        uploads=UploadRegistry(store.engine, settings.upload_ttl),
        webhooks=webhooks,
    )


def create_app(config: ServerConfig | None = None, *, inline_jobs: bool = False) -> FastAPI:
    """The server: every route, and (from the lifespan's start) the executor.

    ``inline_jobs=True`` is for tests: the executor runs jobs on one thread of this process
    (``JobExecutor(inline=True)``) instead of worker processes, so a ``TestClient`` serves the
    whole app, jobs included, in one process with tracebacks where the test sees them; the
    store, object store, storage settings and routes are the ones a real server uses. One job
    runs at a time, a crash in native code takes the process with it, and the executor's
    per-worker state is this process's: one such app with running jobs at a time. Only code
    can ask for it (no setting or option reads it), so a deployment never runs this way.
    """
    config = config or ServerConfig()
    svc = build_services(config, inline_jobs=inline_jobs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc.executor.start()
        svc.webhooks.start()
        engine = server_engine()  # now, so that /health never waits for a first measurement
        log.info("the default model runs on %s %s: %s", engine["runtime"], engine["precision"],
                 engine["reason"])
        if inline_jobs:
            log.info("lampyris serving with jobs inline, on a thread of this process")
        else:
            log.info("lampyris serving with %d %s worker(s)", svc.executor.workers,
                     svc.executor.kind)
        try:
            yield
        finally:
            svc.executor.stop()
            svc.webhooks.stop()

    app = FastAPI(
        title="lampyris", version=__version__, lifespan=lifespan,
        description="Self-hosted, wire-compatible Adobe Firefly Services image APIs.",
    )
    app.state.services = svc
    install_handlers(app)
    app.add_exception_handler(HTTPException, answer_unserved)
    app.include_router(ims.router)
    app.include_router(photoshop.router)
    app.include_router(photoshop_masking.router)
    app.include_router(photoshop_pie.router)
    app.include_router(lightroom.router)
    app.include_router(firefly.router)
    app.include_router(firefly_legacy.router)
    app.include_router(firefly_generate.router)
    app.include_router(hosted_files.router)
    app.include_router(console.router)
    app.include_router(console_jobs.router)
    app.include_router(console_reports.router)

    @app.get("/health", tags=["Server"], summary="Liveness and queue state")
    def health(svc: Services = Depends(services)) -> dict[str, Any]:
        return {"status": "ok", **server_state(svc)}

    @app.get("/metrics", tags=["Server"], summary="Prometheus metrics")
    def metrics(svc: Services = Depends(services)) -> Response:
        return Response(svc.metrics.render(), media_type=CONTENT_TYPE)

    app.add_middleware(LimitBodies, limit=config.server.max_request_bytes,
                       exempt=frozenset({UPLOAD_PATH}))
    app.add_middleware(CollapseSlashes)  # outermost: the limit sees the collapsed path
    return app
