"""Opens every pool, client and background task the app needs from Settings; closes them in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from bots import telegram_channel
from bots.engine import Engine
from bots.sessions import SessionStore
from consult import ice
from consult.live import LiveConsults
from consult.owners import RENEW_SECONDS, RoomOwners
from consult.transcribe import Transcriber
from core import demo
from core.config import Settings
from core.events import events_channel, revocations_channel
from core.notify import Notifier
from core.patients.sessions import PatientSessions
from core.patients.signin import PatientSignIn
from core.ratelimit import RateLimiter
from core.reports import content as report_content
from core.staff.service import StaffSessions
from core.supervise import Beat
from core.triage import nlp as triage_nlp
from portal import jobs, oidc
from portal.services import open_services
from portal.state import AppState
from portal.worker import start_loops
from realtime.hub import Hub
from realtime.staff_socket import BoardWatch

log = logging.getLogger("labpulse.portal")


async def _simulate(settings: Settings, state: AppState, beat: Beat) -> None:
    """Demo mode: a simulated lab takes one step every few seconds (one step per interval across processes)."""
    signing = demo.ReportSigning(state["report_key"], settings.link_base())
    while True:
        beat()
        await asyncio.sleep(settings.simulate_seconds)
        if await state["redis"].set(
            f"{settings.redis_prefix}:demo-sim", 1, nx=True, px=settings.simulate_seconds * 900
        ):
            async with state["pool"].acquire() as conn:
                await demo.simulate_step(conn, state["vault"], signing)


def make_lifespan(settings: Settings, notifier: Notifier | None = None):  # type: ignore[no-untyped-def]
    """``notifier`` replaces every messaging channel (tests hand in a recorder)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[AppState]:
        services = await open_services(settings, notifiers=None if notifier is None else {"sms": notifier})
        pool, redis, vault, sup = services.pool, services.redis, services.vault, services.supervisor
        patient_sessions = PatientSessions(redis, settings.redis_prefix)
        secret = settings.secret_key.reveal() if settings.secret_key else ""
        hub = Hub(redis, events_channel(settings.redis_prefix), revocations_channel(settings.redis_prefix))
        engine = Engine(pool, vault, SessionStore(redis, settings.redis_prefix), ambulance=settings.ambulance_number,
                        consult_url=f"{settings.link_base()}/consult/book")  # fmt: skip
        state = AppState(
            settings=settings,
            pool=pool,
            redis=redis,
            vault=vault,
            supervisor=sup,
            staff_sessions=StaffSessions(
                redis,
                settings.redis_prefix,
                idle_seconds=settings.staff_session_idle_minutes * 60,
                absolute_seconds=settings.staff_session_absolute_hours * 3600,
            ),
            patient_sessions=patient_sessions,
            rate_limiter=RateLimiter(redis, settings.redis_prefix),
            signin=PatientSignIn(
                redis=redis,
                prefix=settings.redis_prefix,
                vault=vault,
                secret_key=secret,
                notifier=notifier or services.signin,
                sessions=patient_sessions,
            ),
            hub=hub,
            board=BoardWatch(pool),
            oidc=oidc.client(settings),
            report_key=report_content.signing_key(secret),
            files=jobs.file_store(settings, pool),
            report_links=jobs.report_links(settings),
            bot_engine=engine,
            telegram=telegram_channel.build(settings, engine, pool, vault),
            consults=LiveConsults(
                pool,
                vault,
                lambda: Transcriber.from_settings(settings),
                ice_servers=ice.for_server(settings),
                owners=RoomOwners(services.redis, settings.redis_prefix, settings.node_name),
            ),
        )
        consults = state["consults"]
        tasks = [sup.loop("realtime-hub", hub.run, stale_after=90),
                 sup.loop("critical-board", state["board"].run, stale_after=60),
                 sup.loop("consult-owners", lambda beat: consults.owners.keep(consults.ids, beat),
                          stale_after=3 * RENEW_SECONDS)]  # fmt: skip
        sup.add_check("event-bus", lambda: None if hub.ready.is_set() else "not subscribed to Redis")
        # The same switch runs the worker's loops in-process, so the one-command demo renders reports.
        loops = start_loops(services) if settings.serve_relay else None
        if settings.mode == "demo" and settings.simulate_seconds:
            tasks.append(sup.loop("demo-simulator", lambda beat: _simulate(settings, state, beat),
                                  stale_after=3 * settings.simulate_seconds + 30))  # fmt: skip
        # Symptom triage reads with a pipeline that takes about a second to build: built off the event loop now.
        warming = asyncio.get_running_loop().run_in_executor(None, triage_nlp.pipeline)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hub.ready.wait(), 5)
            yield state
        finally:
            warming.cancel()  # a build still running finishes in its thread; nobody waits for it
            if loops is not None:
                await loops.close()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await state["consults"].close()  # every peer connection, audio tap and task of a live consult
            if state["telegram"] is not None:
                await state["telegram"].close()
            await services.close()

    return lifespan
