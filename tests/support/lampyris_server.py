"""A real ``lampyris serve`` process on 127.0.0.1 for the server tests, plus small wire helpers.

The server runs as its own process (own process group), exactly as a user starts it, so tests
can kill -9 it and start it again on the same data dir.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from lampyris.api.clients import ClientRegistry
from lampyris.jobs.database import make_engine, sqlite_url
from support.procs import (
    free_port,
    register_cleanup,
    remove_tree,
    short_tempdir,
    spawn,
    stop_group,
    tail,
    unregister_cleanup,
    wait_until,
)


@dataclass
class Credentials:
    client_id: str
    client_secret: str


@dataclass
class LampyrisServer:
    """``start()``/``stop()``/``kill()``; ``headers()`` holds a valid token for ``client``."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 2
    database_url: str | None = None
    executor: str | None = None  # "ray": jobs on the actors of the cluster at ray_address
    ray_address: str | None = None
    port: int = field(default_factory=free_port)
    proc: Any = None
    client: Credentials | None = None
    _token: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir / "server.log"

    def start(self, timeout: float = 60.0) -> LampyrisServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "lampyris.cli.app", "serve", "--port", str(self.port),
                "--data-dir", str(self.data_dir), "--workers", str(self.workers)]
        if self.database_url:
            argv += ["--database-url", self.database_url]
        if self.executor:
            argv += ["--executor", self.executor]
        if self.ray_address:
            argv += ["--ray-address", self.ray_address]
        env = {**os.environ, "LAMPYRIS_ALLOW_PRIVATE_URLS": "", **self.env}
        self.proc = spawn(argv, log=self.log, env=env)
        register_cleanup(self.proc.pid, self.stop)
        wait_until(self._healthy, timeout=timeout, what="lampyris serve", alive=[self.proc],
                   log=self.log)
        if self.client is None:
            self.client = self.add_client("tests")
        return self

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def database(self) -> str:
        return self.database_url or sqlite_url(self.data_dir)

    def add_client(self, name: str) -> Credentials:
        engine = make_engine(self.database)
        try:
            client, secret = ClientRegistry(engine).add(f"{name}-{time.monotonic_ns()}")
        finally:
            engine.dispose()
        return Credentials(client.id, secret)

    def stop(self) -> None:
        if self.proc is not None:
            unregister_cleanup(self.proc.pid)
            stop_group(self.proc.pid, sig=signal.SIGTERM, grace=20)
            self.proc.wait(5)
            self.proc = None

    def kill(self) -> None:
        """SIGKILL the server process alone (as the OOM killer would), then its orphans."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        stop_group(self.proc.pid, sig=signal.SIGKILL, grace=5)
        unregister_cleanup(self.proc.pid)
        self.proc = None

    def tail(self) -> str:
        return tail(self.log, 40)

    # -- wire helpers ----------------------------------------------------------------------
    def token(self, who: Credentials | None = None) -> str:
        who = who or self.client
        assert who is not None
        answer = httpx.post(
            f"{self.url}/ims/token/v3",
            data={"grant_type": "client_credentials", "client_id": who.client_id,
                  "client_secret": who.client_secret, "scope": "openid,AdobeID"},
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def headers(self, who: Credentials | None = None) -> dict[str, str]:
        if who is not None:
            return {"Authorization": f"Bearer {self.token(who)}", "x-api-key": who.client_id}
        if self._token is None:
            self._token = self.token()
        assert self.client is not None
        return {"Authorization": f"Bearer {self._token}", "x-api-key": self.client.client_id}

    def post(self, path: str, body: Any, who: Credentials | None = None) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, headers=self.headers(who), timeout=30)

    def wait(self, status_url: str, timeout: float = 120.0,
             who: Credentials | None = None) -> dict[str, Any]:
        """Poll until the job is succeeded or failed; returns the last status body."""
        deadline = time.monotonic() + timeout
        headers = self.headers(who)
        while True:
            answer = httpx.get(status_url, headers=headers, timeout=30)
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            if body["status"] in ("succeeded", "failed"):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"job still {body['status']} after {timeout} s: {body}")
            time.sleep(0.2)

    def wait_lightroom(self, status_url: str, timeout: float = 120.0,
                       who: Credentials | None = None) -> dict[str, Any]:
        """Poll a Lightroom status (answered 202) until its output is succeeded or failed."""
        deadline = time.monotonic() + timeout
        headers = self.headers(who)
        while True:
            answer = httpx.get(status_url, headers=headers, timeout=30)
            assert answer.status_code == 202, answer.text
            body: dict[str, Any] = answer.json()
            if body["outputs"][0]["status"] in ("succeeded", "failed"):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"job still running after {timeout} s: {body}")
            time.sleep(0.2)


@contextmanager
def running_server(prefix: str = "lampyris-srv-", **options: Any) -> Iterator[LampyrisServer]:
    """A started server on a fresh short data dir (``options``: ``env``, ``workers``, …),
    stopped and its directory removed afterwards, also when the block fails."""
    data = short_tempdir(prefix)
    try:
        live = LampyrisServer(data, **options).start()
        try:
            yield live
        finally:
            live.stop()
    finally:
        remove_tree(data)
