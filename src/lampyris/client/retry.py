"""When to try a request again, and how long to wait first.

A 429 means the request was not accepted, so any call may wait ``Retry-After`` and retry; a
5xx on a POST may hide an accepted job, so only idempotent GETs retry those by default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from lampyris.client.errors import RateLimitedError, ServiceConnectionError, ServiceError

T = TypeVar("T")

#: Statuses a GET retries: the gateway or an overloaded backend, not a broken handler.
GATEWAY_STATUSES = frozenset({502, 503, 504})
#: Statuses a submit retries when the caller opts in (it accepts a possible duplicate job).
SERVER_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Backoff:
    """Exponential delays in seconds: ``initial``, then ×``factor`` each time, capped.

    Usage:
        >>> [Backoff(0.5, 1.5, 1.0).delay(n) for n in range(4)]
        [0.5, 0.75, 1.0, 1.0]
    """

    initial: float = 0.5
    factor: float = 1.5
    maximum: float = 5.0

    def __post_init__(self) -> None:
        if self.initial < 0 or self.factor < 1 or self.maximum < self.initial:
            raise ValueError(f"bad backoff {self}: need 0 <= initial <= maximum and factor >= 1")

    def delay(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (0 for the first)."""
        return min(self.maximum, self.initial * self.factor ** min(attempt, 64))

    def delays(self) -> Iterator[float]:
        """Endless delays: the poll loop takes one per round."""
        attempt = 0
        while True:
            yield self.delay(attempt)
            attempt += 1


@dataclass(frozen=True)
class RetryPolicy:
    """How many times a single call retries, and the waits it accepts.

    ``rate_limited``: retries after a 429 (waiting ``Retry-After``, or the backoff when the
    header is missing); a server that asks for more than ``max_retry_after`` seconds gets
    its 429 raised instead of a long sleep. ``server_errors``: retries after a 502/503/504
    or a broken connection (GETs, and submits only when asked).
    """

    rate_limited: int = 5
    server_errors: int = 3
    backoff: Backoff = field(default_factory=lambda: Backoff(1.0, 2.0, 30.0))
    max_retry_after: float = 120.0


def with_retries(
    send: Callable[[], T],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    retry_statuses: frozenset[int] = frozenset(),
) -> T:
    """Call ``send`` until it returns, retrying 429s and the given 5xx statuses per ``policy``.

    Broken connections count as server errors and retry only when ``retry_statuses`` is
    non-empty (the caller said a repeat is safe).
    """
    rate_limited = server_errors = 0
    while True:
        try:
            return send()
        except RateLimitedError as exc:
            rate_limited += 1
            delay = rate_limit_delay(exc, policy, rate_limited - 1)
            if rate_limited > policy.rate_limited or delay is None:
                raise
        except ServiceError as exc:
            retryable = (
                isinstance(exc, ServiceConnectionError) and bool(retry_statuses)
            ) or exc.status in retry_statuses
            server_errors += 1
            if not retryable or server_errors > policy.server_errors:
                raise
            delay = policy.backoff.delay(server_errors - 1)
        sleep(delay)


def rate_limit_delay(exc: RateLimitedError, policy: RetryPolicy, attempt: int) -> float | None:
    """The wait a 429 asks for, the backoff when it names none, ``None`` when it is too long."""
    if exc.retry_after is None:
        return policy.backoff.delay(attempt)
    return exc.retry_after if exc.retry_after <= policy.max_retry_after else None
