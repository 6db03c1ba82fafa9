"""The whole server in this process, for fast route tests: ``create_app(config,
inline_jobs=True)`` behind starlette's ``TestClient``, which runs the lifespan, so the executor
starts and runs each job on a thread of this process. The job store (SQLite in ``data_dir``),
the object store (``data_dir/objects``), the storage settings and every route are a real
server's; only the worker processes are missing. A route that crashes raises in the test
that called it (``TestClient`` re-raises), and a crashed job's traceback is in that test's
captured log.

Usage::

    with inprocess_server(tmp_path) as live:
        status = live.run("/v2/remove-background", {"image": {"source": {"url": url}}})
        png = live.download(status["result"]["outputs"][0]["url"])

``InProcessServer`` speaks like ``support.lampyris_server.LampyrisServer`` (``post``,
``headers``, ``wait``, ``wait_lightroom``, ``add_client``, ``client``), so a test reads the
same against either; it answers with ``httpx2.Response`` objects (starlette's ``TestClient``
is an ``httpx2.Client``), which read like httpx's. Inputs come from a
``support.http_server.ScriptedServer`` on 127.0.0.1 (loopback is allowed, as for the live
``server`` fixture). What only a real process shows (the wire through uvicorn, ``kill -9``,
worker processes and their memory, another process reading the database) stays with the
live-server tests.

The executor keeps its worker's state in module globals, one set per process: one started
in-process server at a time (``inprocess_server`` refuses a second); an app that only answers
routes (``jobs=False``: the lifespan does not run) may sit beside it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from fastapi import FastAPI
from starlette.testclient import TestClient

from lampyris.api import ServerConfig, ServerSettings, create_app
from lampyris.api.services import Services
from lampyris.jobs.settings import JobSettings
from lampyris.storage import StorageSettings
from support.http_server import fast_settings
from support.lampyris_server import Credentials

URL = "http://testserver"  # TestClient's base: every link the app hands out starts with it
UNFINISHED = ("pending", "running", "cancel_pending")

_started: list[InProcessServer] = []


@dataclass
class InProcessServer:
    """A ready app, its client and a registered API client (``client``) with a token."""

    app: FastAPI
    http: TestClient
    data_dir: Path
    client: Credentials
    url: str = URL
    poll: float = 0.02
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def svc(self) -> Services:
        services: Services = self.app.state.services
        return services

    @property
    def database(self) -> str:
        return self.svc.config.server.database

    @property
    def workers(self) -> int:
        return self.svc.executor.workers

    # -- clients and tokens ----------------------------------------------------------------
    def add_client(self, name: str) -> Credentials:
        client, secret = self.svc.clients.add(f"{name}-{time.monotonic_ns()}")
        return Credentials(client.id, secret)

    def token(self, who: Credentials | None = None) -> str:
        """A token from the IMS route, as a client gets one (cached per client)."""
        who = who or self.client
        if who.client_id not in self._tokens:
            answer = self.http.post("/ims/token/v3", data={
                "grant_type": "client_credentials", "client_id": who.client_id,
                "client_secret": who.client_secret, "scope": "openid,AdobeID"})
            assert answer.status_code == 200, answer.text
            self._tokens[who.client_id] = str(answer.json()["access_token"])
        return self._tokens[who.client_id]

    def headers(self, who: Credentials | None = None) -> dict[str, str]:
        who = who or self.client
        return {"Authorization": f"Bearer {self.token(who)}", "x-api-key": who.client_id}

    # -- requests --------------------------------------------------------------------------
    def post(self, path: str, body: Any, who: Credentials | None = None) -> httpx2.Response:
        return self.http.post(path, json=body, headers=self.headers(who))

    def get(self, url: str, who: Credentials | None = None) -> httpx2.Response:
        return self.http.get(url, headers=self.headers(who))

    def put(self, url: str, who: Credentials | None = None) -> httpx2.Response:
        return self.http.put(url, headers=self.headers(who))

    def download(self, url: str) -> bytes:
        """A hosted result by its signed URL (no token, as a browser would fetch it)."""
        answer = self.http.get(url)
        assert answer.status_code == 200, answer.text
        return answer.content

    def upload(self, data: bytes, content_type: str = "image/png",
               who: Credentials | None = None) -> str:
        """``POST /v2/storage/image``: the upload's id."""
        answer = self.http.post("/v2/storage/image", content=data,
                                headers={**self.headers(who), "Content-Type": content_type})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["images"][0]["id"])

    # -- jobs ------------------------------------------------------------------------------
    def submit(self, path: str, body: Any, who: Credentials | None = None) -> str:
        """Post a job, check the 202; returns its status URL, whichever family's shape."""
        accepted = self.post(path, body, who)
        assert accepted.status_code == 202, accepted.text
        assert accepted.headers["content-type"] == "application/json"
        answer = accepted.json()
        return str(answer["statusUrl"] if "statusUrl" in answer
                   else answer["_links"]["self"]["href"])

    def wait(self, status_url: str, timeout: float = 60.0,
             who: Credentials | None = None) -> dict[str, Any]:
        """Poll a Photoshop or Firefly status (200) until the job has ended."""
        return self._poll(status_url, 200, lambda body: body["status"], timeout, who)

    def wait_lightroom(self, status_url: str, timeout: float = 60.0,
                       who: Credentials | None = None) -> dict[str, Any]:
        """Poll a Lightroom status (answered 202) until its output has ended."""
        return self._poll(status_url, 202, lambda body: body["outputs"][0]["status"], timeout,
                          who)

    def run(self, path: str, body: Any, who: Credentials | None = None,
            timeout: float = 60.0) -> dict[str, Any]:
        """Submit and wait: the last status body."""
        status_url = self.submit(path, body, who)
        if path.startswith("/lrService/"):
            return self.wait_lightroom(status_url, timeout, who)
        return self.wait(status_url, timeout, who)

    def _poll(self, status_url: str, code: int, state: Any, timeout: float,
              who: Credentials | None) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            answer = self.get(status_url, who)
            assert answer.status_code == code, answer.text
            body: dict[str, Any] = answer.json()
            if state(body) not in UNFINISHED:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"job still {state(body)} after {timeout} s: {body}")
            time.sleep(self.poll)


def config(data_dir: Path, *, storage: StorageSettings | None = None,
           jobs: JobSettings | None = None, **server: Any) -> ServerConfig:
    """A server's configuration on ``data_dir``: ``server`` overrides ``ServerSettings``
    (the per-client rate limit is off unless given: a test's polling is not a client's
    traffic); storage allows loopback with a short backoff (``support.http_server``)."""
    settings = ServerSettings(data_dir=data_dir, **{"rate_limit_per_minute": 0, **server})
    return ServerConfig(server=settings, jobs=jobs or JobSettings(),
                        storage=storage or fast_settings())


@contextmanager
def inprocess_server(data_dir: Path, *, jobs: bool = True, **options: Any) -> Iterator[
        InProcessServer]:
    """A ready in-process server on ``data_dir`` (``options``: see ``config``), its client
    registered; ``jobs=False`` serves the routes only (submitted jobs stay pending)."""
    if jobs and _started:
        raise RuntimeError("one in-process server with running jobs at a time: the executor's "
                           "worker state is per process")
    app = create_app(config(data_dir, **options), inline_jobs=True)
    services: Services = app.state.services
    client, secret = services.clients.add(f"tests-{time.monotonic_ns()}")
    http = TestClient(app, base_url=URL)
    live = InProcessServer(app, http, data_dir, Credentials(client.id, secret))
    started = False
    try:
        if jobs:
            http.__enter__()  # the lifespan: the executor starts
            started = True
            _started.append(live)
        yield live
    finally:
        if started:
            _started.remove(live)
            http.__exit__(None, None, None)  # the executor stops, as a server's does
        else:
            http.close()
        services.store.engine.dispose()
