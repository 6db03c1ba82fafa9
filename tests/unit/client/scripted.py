"""A scripted Adobe server for the client's unit tests, on ``httpx.MockTransport``.

Each route answers from a queue of replies (the last one repeats), and every request is
recorded, so a test states exactly what the server says and checks exactly what was sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx

Reply = (
    tuple[int, Any] | tuple[int, Any, dict[str, str]] | Callable[[httpx.Request], httpx.Response]
)

IMS = "https://ims.test"
BASE = "https://image.test"


class FakeTime:
    """A clock that moves only when the client sleeps; every sleep is recorded."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedServer:
    """Routes ``(METHOD, path)`` to queued replies; IMS answers ``tok-1``, ``tok-2``… by default."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0
        self.add("POST", "/ims/token/v3", self.issue_token)

    def add(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def issue_token(self, request: httpx.Request, expires_in: float = 86399) -> httpx.Response:
        self.tokens_issued += 1
        body = {
            "access_token": f"tok-{self.tokens_issued}",
            "token_type": "bearer",
            "expires_in": expires_in,
        }
        return httpx.Response(200, json=body)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(404, json={"error_code": "not_found", "message": "no route"})
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(reply):
            return reply(request)
        status, body, *headers = reply
        return httpx.Response(status, json=body, headers=headers[0] if headers else None)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    def service_calls(self) -> list[httpx.Request]:
        """Every request but the token ones."""
        return [r for r in self.requests if r.url.path != "/ims/token/v3"]


def json_body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def form_body(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode(), strict_parsing=True)


def raises(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    """A reply that fails at the transport, as a refused connection does."""

    def reply(request: httpx.Request) -> httpx.Response:
        raise exc

    return reply
