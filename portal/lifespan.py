"""Opens every pool, client and background task the app needs from Settings; closes them in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from starlette.applications import Starlette

from bots import telegram_channel
from bots.engine import Engine
from bots.sessions import SessionStore
from consult import ice
from consult.live import LiveConsults
from consult.transcribe import Transcriber
from core import demo
from core.config import Settings
from core.db.pool import pool_from_settings
from core.events import events_channel
from core.notify import ConsoleNotifier, NoNotifier, Notifier
from core.outbox import Relay, redis_publisher
from core.patients.sessions import PatientSessions
from core.patients.signin import PatientSignIn
from core.reports import content as report_content
from core.staff.service import StaffSessions
from core.vault import Vault
from portal import jobs, oidc
from portal.state import AppState
from realtime.hub import Hub

log = logging.getLogger("labpulse.portal")


def redis_client(settings: Settings) -> aioredis.Redis:
    if settings.redis_url is None:
        raise RuntimeError("REDIS_URL is not resolved")
    return aioredis.from_url(settings.redis_url.reveal(), decode_responses=False, health_check_interval=30)


async def _simulate(settings: Settings, state: AppState) -> None:
    """Demo mode: a simulated lab moves a demo tube every few seconds (one step per interval across processes)."""
    while True:
        await asyncio.sleep(settings.simulate_seconds)
        try:
            if await state["redis"].set(
                f"{settings.redis_prefix}:demo-sim", 1, nx=True, px=settings.simulate_seconds * 900
            ):
                async with state["pool"].acquire() as conn:
                    await demo.simulate_step(conn)
        except Exception:  # a demo nicety must never take the server down
            log.warning("demo simulator step failed", exc_info=True)


def make_lifespan(settings: Settings, notifier: Notifier | None = None):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[AppState]:
        pool = await pool_from_settings(settings)
        redis = redis_client(settings)
        vault = Vault.from_settings(settings)
        patient_sessions = PatientSessions(redis, settings.redis_prefix)
        secret = settings.secret_key.reveal() if settings.secret_key else ""
        hub = Hub(redis, events_channel(settings.redis_prefix))
        engine = Engine(pool, vault, SessionStore(redis, settings.redis_prefix), ambulance=settings.ambulance_number,
                        consult_url=f"{settings.link_base()}/consult/book")  # fmt: skip
        state = AppState(
            settings=settings,
            pool=pool,
            redis=redis,
            vault=vault,
            staff_sessions=StaffSessions(
                redis,
                settings.redis_prefix,
                idle_seconds=settings.staff_session_idle_minutes * 60,
                absolute_seconds=settings.staff_session_absolute_hours * 3600,
            ),
            patient_sessions=patient_sessions,
            signin=PatientSignIn(
                redis=redis,
                prefix=settings.redis_prefix,
                vault=vault,
                secret_key=secret,
                notifier=notifier or (ConsoleNotifier() if settings.mode == "demo" else NoNotifier()),
                sessions=patient_sessions,
            ),
            hub=hub,
            oidc=oidc.client(settings),
            report_key=report_content.signing_key(secret),
            files=jobs.file_store(settings),
            report_links=jobs.report_links(settings),
            bot_engine=engine,
            telegram=telegram_channel.build(settings, engine, pool, vault),
            consults=LiveConsults(
                pool, vault, lambda: Transcriber.from_settings(settings), ice_servers=ice.for_server(settings)
            ),
        )
        tasks = [asyncio.create_task(hub.run(), name="realtime-hub")]
        relay: Relay | None = None
        jobs_stop = asyncio.Event()
        if settings.serve_relay:
            relay = Relay(
                pool,
                redis_publisher(redis, events_channel(settings.redis_prefix)),
                schema=settings.db_schema,
                poll_interval=settings.relay_poll_ms / 1000,
            )
            tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
            # The same switch runs the worker's job queue in-process, so the one-command demo renders reports.
            tasks.append(asyncio.create_task(jobs.run(settings, pool, jobs_stop, redis=redis), name="job-queue"))
        if settings.mode == "demo" and settings.simulate_seconds:
            tasks.append(asyncio.create_task(_simulate(settings, state), name="demo-simulator"))
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hub.ready.wait(), 5)
            yield state
        finally:
            if relay is not None:
                relay.stop()
            jobs_stop.set()
            job_tasks = [t for t in tasks if t.get_name() == "job-queue"]
            if job_tasks:  # let a job in flight finish (it is handed back to the queue if it cannot)
                await asyncio.wait(job_tasks, timeout=10)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await state["consults"].close()  # every peer connection, audio tap and task of a live consult
            if state["telegram"] is not None:
                await state["telegram"].close()
            await redis.aclose()
            await pool.close()

    return lifespan
