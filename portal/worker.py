"""The `labpulse worker` process, and the background loops it runs (``start_loops``, which `serve` also uses when
it runs the relay itself): the outbox relay, the job queue, the minute sweep, the critical-value escalation
timer and the gauges read for ``/metrics``, each supervised (core/supervise.py) so a PostgreSQL or Redis outage is
waited out, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime

from core import critical, operations, supervise
from core.config import Settings
from core.events import events_channel
from core.outbox import Relay, redis_publisher
from core.supervise import Beat
from portal import health_port, jobs
from portal.services import Services, open_services

log = logging.getLogger("labpulse.worker")


class Loops:
    """The background loops of one process and how to stop them: a job in flight is let finish first."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.stop = asyncio.Event()
        self.relay: Relay | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.chain_size: int | None = None  # what the escalation timer last saw: 0 means nobody would be told

    async def close(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        self.stop.set()
        queue = [t for t in self.tasks if t.get_name() == "job-queue"]
        if queue:  # let a job in flight finish (it is handed back to the queue if it cannot)
            await asyncio.wait(queue, timeout=10)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def start_loops(services: Services) -> Loops:
    """Start the relay, job queue, sweep and escalation timer under the services' supervisor."""
    settings, sup = services.settings, services.supervisor
    loops = Loops(services)
    loops.relay = Relay(
        services.pool,
        redis_publisher(services.redis, events_channel(settings.redis_prefix)),
        schema=settings.db_schema,
        poll_interval=settings.relay_poll_ms / 1000,
    )
    loops.tasks.append(sup.loop("outbox-relay", loops.relay.run, stale_after=30))

    async def queue(beat: Beat) -> None:
        await jobs.run(settings, services.pool, loops.stop, notifiers=services.patient_notifiers,
                       staff_notifiers=services.staff_notifiers, beat=beat)  # fmt: skip

    async def sweep(beat: Beat) -> None:
        await jobs.sweep(services.pool, loops.stop, beat)

    async def escalate(beat: Beat) -> None:
        await _escalate(loops, beat)

    loops.tasks.append(sup.loop("job-queue", queue, stale_after=30))
    loops.tasks.append(sup.loop("sweep", sweep, stale_after=180))
    loops.tasks.append(sup.loop("escalation", escalate, stale_after=3 * settings.escalation_tick_seconds + 10))
    loops.tasks.append(sup.loop("gauges", lambda beat: _gauges(loops, beat), stale_after=60))
    sup.add_warning("escalation_chain", lambda: _chain_warning(loops))
    return loops


def _chain_warning(loops: Loops) -> str | None:
    if loops.chain_size == 0:
        return "the escalation chain is empty: critical values reach nobody (labpulse escalation set)"
    return None


async def _escalate(loops: Loops, beat: Beat) -> None:
    """Every ``escalation_tick_seconds`` (30 s): notify the next person about each unacknowledged critical value
    (core/critical.py). An empty chain is said once in the log and raised as an alert for administrators."""
    services = loops.services
    while not loops.stop.is_set():
        async with services.pool.acquire() as conn:
            size = await critical.chain_size(conn)
            if size == 0 and loops.chain_size != 0:
                log.error("the escalation chain is empty: critical values would reach nobody; set it with "
                          "'labpulse escalation set' or PUT /api/admin/escalation")  # fmt: skip
                await critical.report_empty_chain(conn)
            loops.chain_size = size
            await critical.tick(conn, services.vault, services.staff_notifiers, datetime.now(UTC))
        beat()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(loops.stop.wait(), services.settings.escalation_tick_seconds)


GAUGES_SECONDS = 10.0


async def _gauges(loops: Loops, beat: Beat) -> None:
    """Every 10 s: the metrics read from the database (queue depth, dead letters, open critical values)."""
    while not loops.stop.is_set():
        async with loops.services.pool.acquire() as conn:
            await operations.sample_gauges(conn, datetime.now(UTC))
        beat()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(loops.stop.wait(), GAUGES_SECONDS)


async def _redis_probe(services: Services, beat: Beat, every: float = 2.0) -> None:
    """Beats while Redis answers: the worker publishes every event through it."""
    while True:
        await asyncio.wait_for(services.redis.ping(), every * 2)
        beat()
        await asyncio.sleep(every)


async def run(settings: Settings, *, health: int | None = None) -> None:
    """The worker until SIGTERM: the loops above, and a health port (``/healthz``, ``/readyz``, ``/metrics``)."""
    supervise.settle_heap()  # before the loops start: the heap keeper runs in a settled process only
    services = await open_services(settings)
    loops = start_loops(services)
    loops.tasks.append(services.supervisor.loop("redis", lambda beat: _redis_probe(services, beat), stale_after=10))
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    server = await health_port.start(services.supervisor, settings.host, health) if health else None
    where = f"; health on http://{settings.host}:{health}/readyz" if health else ""
    print(f"labpulse worker: outbox relay, job queue, sweep and escalation timer running{where}", flush=True)
    try:
        await done.wait()
    finally:
        await loops.close()
        if server is not None:
            server.close()
            await server.wait_closed()
        await services.close()
