"""Per-client rate limiting: a token bucket per client id, in memory.

Each client may burst up to ``burst`` requests, refilled at ``per_minute``/60 per second. It
protects the server's workers from one runaway script; it is per process, so N replicas allow
N times the rate. ``TokenThrottle`` applies two such limiters to the token route's failed
attempts: per client id and per remote address.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """``take(key)`` returns 0 when the request may go ahead, else the seconds to wait."""

    # Buckets are kept per key; past this many, the ones that have refilled (and so are
    # indistinguishable from a new key) are dropped, so keys made up by a client (addresses,
    # ids) cannot grow memory without bound.
    MAX_KEYS = 10_000

    def __init__(
        self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        if self.rate <= 0:
            return 0.0
        with self._lock:
            tick = self._clock()
            if key not in self._buckets and len(self._buckets) >= self.MAX_KEYS:
                self._prune(tick)
            tokens, last = self._buckets.get(key, (self.burst, tick))
            tokens = min(self.burst, tokens + (tick - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, tick)
                return 0.0
            self._buckets[key] = (tokens, tick)
            return (1.0 - tokens) / self.rate

    def peek(self, key: str) -> float:
        """What ``take`` would answer, without taking anything."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            entry = self._buckets.get(key)
            if entry is None:
                return 0.0
            tokens = min(self.burst, entry[0] + (self._clock() - entry[1]) * self.rate)
            return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def refund(self, key: str) -> None:
        """Give back the token a request took (it turned out not to count)."""
        with self._lock:
            if key in self._buckets:
                tokens, last = self._buckets[key]
                self._buckets[key] = (min(self.burst, tokens + 1.0), last)

    def _prune(self, tick: float) -> None:
        full = [k for k, (tokens, last) in self._buckets.items()
                if tokens + (tick - last) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]

    @staticmethod
    def retry_after(wait: float) -> str:
        """The ``Retry-After`` header value: whole seconds, at least 1."""
        return str(max(1, math.ceil(wait)))


class TokenThrottle:
    """Failed token requests, limited per client id and per remote address.

    Every attempt that would cost a secret check takes a token from its client id's bucket
    (known ids only: made-up ids are limited by address alone) and from its address's bucket;
    a success gives both back, so only failures count and a client that knows its secret is
    never slowed down. The id's bucket stops guessing at one client from many addresses, the
    address's stops one address from guessing at many clients; both bound the CPU the route's
    hashing can take.
    """

    def __init__(self, per_client: RateLimiter, per_address: RateLimiter) -> None:
        self.per_client = per_client
        self.per_address = per_address

    def blocked(self, client_id: str, address: str) -> float:
        """What ``take`` would answer for an empty bucket, without taking anything: lets the
        route refuse a burst before it looks the client up."""
        return max(self.per_client.peek(client_id), self.per_address.peek(address))

    def take(self, client_id: str | None, address: str) -> float:
        """0 when the attempt may go ahead, else the seconds to wait."""
        if client_id is not None:
            wait = self.per_client.take(client_id)
            if wait:
                return wait
        wait = self.per_address.take(address)
        if wait and client_id is not None:
            self.per_client.refund(client_id)  # the address's fault, not the client's
        return wait

    def succeeded(self, client_id: str | None, address: str) -> None:
        if client_id is not None:
            self.per_client.refund(client_id)
        self.per_address.refund(address)
