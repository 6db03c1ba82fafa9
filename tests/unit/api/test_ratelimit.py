"""The per-client token bucket, on a fake clock."""

from __future__ import annotations

from lampyris.api.ratelimit import RateLimiter


def test_burst_then_refill_per_client():
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == 1.0  # one token per second
    assert limiter.take("b") == 0.0  # another client has its own bucket
    now[0] = 0.5
    assert 0.49 < limiter.take("a") < 0.51
    now[0] = 1.0
    assert limiter.take("a") == 0.0
    now[0] = 100.0
    assert [limiter.take("a") for _ in range(4)][:3] == [0.0] * 3  # never more than the burst
    assert RateLimiter.retry_after(0.2) == "1" and RateLimiter.retry_after(2.1) == "3"


def test_zero_rate_means_no_limit():
    limiter = RateLimiter(per_minute=0, burst=1)
    assert all(limiter.take("a") == 0.0 for _ in range(100))
