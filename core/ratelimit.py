"""Fixed-window counters in Redis: "at most N of these per key per window", shared by every process."""

from __future__ import annotations

from redis.asyncio import Redis


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def hit(self, bucket: str, key: str, *, limit: int, window_seconds: int) -> int | None:
        """Count one hit. Returns None while within ``limit``, else the seconds until the window reopens."""
        name = f"{self._prefix}:rl:{bucket}:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_seconds, nx=True)
            pipe.ttl(name)
            count, _, ttl = await pipe.execute()
        if int(count) <= limit:
            return None
        return max(int(ttl), 1)

    async def clear(self, bucket: str, key: str) -> None:
        await self._redis.delete(f"{self._prefix}:rl:{bucket}:{key}")
