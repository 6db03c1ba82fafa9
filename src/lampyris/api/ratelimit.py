"""Per-client rate limiting: a token bucket per client id, in memory.

Each client may burst up to ``burst`` requests, refilled at ``per_minute``/60 per second. It
protects the server's workers from one runaway script; it is per process, so N replicas allow
N times the rate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """``take(key)`` returns 0 when the request may go ahead, else the seconds to wait."""

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
            tokens, last = self._buckets.get(key, (self.burst, tick))
            tokens = min(self.burst, tokens + (tick - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, tick)
                return 0.0
            self._buckets[key] = (tokens, tick)
            return (1.0 - tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        """The ``Retry-After`` header value: whole seconds, at least 1."""
        return str(max(1, math.ceil(wait)))
