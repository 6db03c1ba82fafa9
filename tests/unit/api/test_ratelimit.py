"""The per-client token bucket, on a fake clock."""

from __future__ import annotations

from lampyris.api.ratelimit import RateLimiter, TokenThrottle


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


def test_refund_and_peek():
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert limiter.peek("a") == 0.0  # an unknown key is a full bucket
    assert limiter.take("a") == 0.0 and limiter.take("a") == 0.0
    assert limiter.peek("a") == 1.0 and limiter.peek("a") == 1.0  # peeking takes nothing
    limiter.refund("a")
    assert limiter.peek("a") == 0.0 and limiter.take("a") == 0.0
    limiter.refund("a")
    limiter.refund("a")
    limiter.refund("a")
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 1.0]  # never above the burst


def test_made_up_keys_do_not_grow_memory_without_bound(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(RateLimiter, "MAX_KEYS", 100)
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    for i in range(100):
        limiter.take(f"guess-{i}")
    now[0] = 10.0  # all of them have refilled: as good as new, so they can go
    limiter.take("one-more")
    assert len(limiter._buckets) == 1


def test_token_throttle_counts_failures_per_client_and_per_address():
    now = [0.0]
    throttle = TokenThrottle(RateLimiter(60, 2, clock=lambda: now[0]),
                             RateLimiter(60, 3, clock=lambda: now[0]))
    assert throttle.take("victim", "10.0.0.1") == 0.0
    assert throttle.take("victim", "10.0.0.2") == 0.0
    assert throttle.take("victim", "10.0.0.3") == 1.0  # the id's bucket: many addresses
    assert throttle.blocked("victim", "10.0.0.9") == 1.0
    assert throttle.take(None, "10.0.0.1") == 0.0  # made-up ids: the address's bucket alone
    assert throttle.take(None, "10.0.0.1") == 0.0
    assert throttle.take(None, "10.0.0.1") == 1.0
    assert throttle.take("other", "10.0.0.1") == 1.0  # refused by the address...
    assert throttle.per_client.peek("other") == 0.0  # ...which does not cost the id
    throttle.succeeded(None, "10.0.0.1")  # a success gives its tokens back
    assert throttle.take("other", "10.0.0.1") == 0.0
