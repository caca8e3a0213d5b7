"""The `labpulse worker` process: the outbox relay, the job queue and the critical-value escalation timer, until
SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime

import asyncpg

from core import critical
from core.config import Settings
from core.db.pool import pool_from_settings
from core.errors import DomainError
from core.events import events_channel
from core.notify import ConsoleNotifier, NoNotifier
from core.outbox import Relay, redis_publisher
from core.vault import Vault
from portal import jobs
from portal.lifespan import redis_client


async def run(settings: Settings) -> None:
    """The outbox relay, the job queue (reports, notices) and the critical-value escalation timer, until SIGTERM."""
    pool = await pool_from_settings(settings)
    redis = redis_client(settings)
    relay = Relay(
        pool,
        redis_publisher(redis, events_channel(settings.redis_prefix)),
        schema=settings.db_schema,
        poll_interval=settings.relay_poll_ms / 1000,
    )
    stop = asyncio.Event()

    def _stop() -> None:
        relay.stop()
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _stop)
    escalation = asyncio.create_task(_escalate(settings, pool))
    queue = asyncio.create_task(jobs.run(settings, pool, stop, redis=redis))
    print("labpulse worker: outbox relay, job queue and escalation timer running", flush=True)
    try:
        await asyncio.gather(relay.run(), queue)
    finally:
        _stop()
        escalation.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await escalation
        await redis.aclose()
        await pool.close()


async def _escalate(settings: Settings, pool: asyncpg.Pool) -> None:
    """Every 30 s: notify the next person about each unacknowledged critical value (core/critical.py)."""
    vault = Vault.from_settings(settings)
    notifier = ConsoleNotifier() if settings.mode == "demo" else NoNotifier()
    while True:
        try:
            async with pool.acquire() as conn:
                await critical.tick(conn, vault, notifier, datetime.now(UTC))
        except (DomainError, asyncpg.PostgresError, OSError) as exc:
            logging.getLogger("labpulse.critical").error("critical-value escalation failed; retrying", exc_info=exc)
        await asyncio.sleep(30)
