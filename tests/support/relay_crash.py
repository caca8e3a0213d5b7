"""Run the real relay, but die by SIGKILL right after the first batch reaches Redis and before it is marked.

Used by tests/core/test_outbox.py: ``python -m tests.support.relay_crash DATABASE_URL SCHEMA REDIS_URL CHANNEL``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence

import redis.asyncio as aioredis

from core.db.pool import create_pool
from core.events import Event
from core.outbox import Relay, redis_publisher


async def main(database_url: str, schema: str, redis_url: str, channel: str) -> None:
    pool = await create_pool(database_url, schema, min_size=1, max_size=2)
    redis = aioredis.from_url(redis_url)
    publish = redis_publisher(redis, channel)

    async def publish_then_die(events: Sequence[Event]) -> None:
        await publish(events)
        os.kill(os.getpid(), signal.SIGKILL)

    await Relay(pool, publish_then_die, schema=schema, poll_interval=0.01).run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
