"""The fixed-window counter in real Redis: within the limit, over it (with the seconds to wait), a new window, and
the same after Redis lost its scripts (a restart, SCRIPT FLUSH)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from core.config import Settings
from core.ratelimit import RateLimiter


async def test_a_window_counts_hits_and_says_how_long_to_wait(redis: aioredis.Redis, settings: Settings) -> None:
    limiter = RateLimiter(redis, settings.redis_prefix)
    got = [await limiter.hit("b", "k", limit=3, window_seconds=60) for _ in range(5)]
    assert got[:3] == [None, None, None]
    assert all(w is not None and 1 <= w <= 60 for w in got[3:])
    assert 0 < await redis.ttl(f"{settings.redis_prefix}:rl:b:k") <= 60  # the window started with the first hit
    assert await limiter.hit("b", "other", limit=3, window_seconds=60) is None  # its own window


async def test_a_new_window_opens_and_a_lost_script_is_loaded_again(redis: aioredis.Redis, settings: Settings) -> None:
    limiter = RateLimiter(redis, settings.redis_prefix)
    assert await limiter.hit("b", "k", limit=1, window_seconds=1) is None
    assert await limiter.hit("b", "k", limit=1, window_seconds=1) == 1
    await asyncio.sleep(1.1)
    await redis.script_flush()  # as after a restart
    assert await limiter.hit("b", "k", limit=1, window_seconds=1) is None
    await redis.persist(f"{settings.redis_prefix}:rl:b:k")  # a counter left without a window gets one
    assert await limiter.hit("b", "k", limit=1, window_seconds=1) == 1
    assert await redis.ttl(f"{settings.redis_prefix}:rl:b:k") == 1
