"""The worker's job queue, wired from Settings: report rendering and report notices (core/reports/)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
from redis.asyncio import Redis

from bots import telegram_channel, twilio_channel, twilio_sender
from core.booking import reminders, slots
from core.booking.service import REMINDER_JOB
from core.config import Settings
from core.hl7 import intake
from core.jobs import runner
from core.labtime import LAB_TZ
from core.notify import ConsoleNotifier, Notifier, RateLimitedNotifier
from core.ratelimit import RateLimiter
from core.reports import delivery, render
from core.reports.links import ReportLinks
from core.reports.service import RENDER_JOB
from core.storage import FileStore, LocalFileStore
from core.teleconsult import messages as consult_messages
from core.teleconsult import service as consults
from core.teleconsult import slots as consult_slots
from core.vault import Vault

log = logging.getLogger("labpulse.jobs")


def file_store(settings: Settings) -> LocalFileStore:
    return LocalFileStore(settings.report_files_dir)


def report_links(settings: Settings) -> ReportLinks:
    return ReportLinks(settings.secret_key.reveal() if settings.secret_key else "")


def default_notifiers(
    settings: Settings, redis: Redis | None = None, pool: asyncpg.Pool | None = None
) -> dict[str, Notifier]:
    """Twilio's SMS and WhatsApp, and Telegram, once configured; until then demo mode prints, and production lists
    no channel (a notice for it is recorded as skipped)."""
    out: dict[str, Notifier] = {}
    if settings.mode == "demo":
        console = ConsoleNotifier()
        out.update(sms=console, whatsapp=console)
    if settings.twilio_account_sid and settings.twilio_auth_token:
        out.update(twilio_notifiers(settings, redis))
    if pool is not None and (telegram := telegram_channel.build(settings, None, pool, Vault.from_settings(settings))):
        out["telegram"] = telegram_channel.TelegramNotifier(telegram)
    if redis is None:
        return out
    limiter, vault = RateLimiter(redis, settings.redis_prefix), Vault.from_settings(settings)

    def lookup(phone: str) -> str:
        return vault.lookup.digest("phone", phone).hex()

    return {channel: RateLimitedNotifier(n, limiter, lookup, channel) for channel, n in out.items()}


def twilio_notifiers(settings: Settings, redis: Redis | None) -> dict[str, Notifier]:
    assert settings.twilio_account_sid and settings.twilio_auth_token  # noqa: S101 - checked by the caller
    api = twilio_sender.client(
        settings.twilio_account_sid, settings.twilio_auth_token.reveal(), settings.twilio_api_base
    )
    callback = f"{settings.link_base()}/bots/twilio/status"
    vault = Vault.from_settings(settings)
    out: dict[str, Notifier] = {}
    if settings.twilio_sms_from:
        out["sms"] = twilio_sender.TwilioNotifier(api, "sms", settings.twilio_sms_from, status_callback=callback)
    if settings.twilio_whatsapp_from:
        window = (
            twilio_channel.window_checker(redis, settings.redis_prefix, lambda p: vault.lookup.digest("phone", p).hex())
            if redis is not None
            else None
        )
        out["whatsapp"] = twilio_sender.TwilioNotifier(
            api, "whatsapp", settings.twilio_whatsapp_from, status_callback=callback,
            template_sid=settings.whatsapp_template_sid, window_open=window,
        )  # fmt: skip
    return out


def handlers(
    settings: Settings, pool: asyncpg.Pool, store: FileStore, notifiers: Mapping[str, Notifier]
) -> dict[str, runner.Handler]:
    vault = Vault.from_settings(settings)
    links = report_links(settings)

    async def render_report(payload: dict[str, Any]) -> None:
        await render.render(pool, vault, store, str(payload["report_id"]), verify_base=settings.link_base())

    async def deliver_notice(payload: dict[str, Any]) -> None:
        await delivery.deliver(pool, vault, notifiers, links, settings.link_base(), int(payload["delivery_id"]))

    async def remind(payload: dict[str, Any]) -> None:
        await reminders.remind(
            pool, vault, notifiers, str(payload["booking_id"]), int(payload["slot_id"]), str(payload["kind"])
        )  # its outcome is audited

    async def consult_remind(payload: dict[str, Any]) -> None:
        await consult_messages.remind(pool, vault, notifiers, str(payload["consult_id"]), settings.link_base())

    async def consult_tests(payload: dict[str, Any]) -> None:
        codes = [str(c) for c in payload["codes"]]
        await consult_messages.tests(pool, vault, notifiers, str(payload["consult_id"]), codes, settings.link_base())

    return {RENDER_JOB: render_report, render.DELIVER_JOB: deliver_notice, REMINDER_JOB: remind,
            consults.REMINDER_JOB: consult_remind, consults.TESTS_JOB: consult_tests}  # fmt: skip


async def _sweep(pool: asyncpg.Pool, stop: asyncio.Event, every: float = 60) -> None:
    """Every minute: queue again any report or notice that should have finished and has no job (render.pending),
    and complete any tube whose last results arrived in two messages at once (intake.complete_ready). Once a day
    (and at start), the coming week's booking slots and doctors' teleconsult slots."""
    slots_for: date | None = None
    while not stop.is_set():
        try:
            async with pool.acquire() as conn:
                if n := await render.pending(conn):
                    log.info("re-queued %d report job(s) that had none", n)
                if n := await intake.complete_ready(conn):
                    log.info("completed %d tube(s) whose results arrived together", n)
                if slots_for != (today := datetime.now(LAB_TZ).date()):
                    await slots.ensure(conn, today)
                    await consult_slots.ensure(conn, today)
                    slots_for = today
        except Exception as exc:  # noqa: BLE001 - the sweep must outlive any one failure
            log.warning("job sweep failed; trying again in a minute (%s)", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def run(
    settings: Settings,
    pool: asyncpg.Pool,
    stop: asyncio.Event,
    *,
    notifiers: Mapping[str, Notifier] | None = None,
    policy: runner.RetryPolicy | None = None,
    concurrency: int = 4,
    poll_seconds: float = 2.0,
    redis: Redis | None = None,
) -> None:
    """Process jobs until ``stop`` is set; each job finishes (or is handed back) before this returns."""
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL is not resolved")
    store = file_store(settings)
    store.sweep_partials()
    # A plain connection (no jsonb codec): PgQueuer encodes its own JSON, and it LISTENs on this one.
    listener = await asyncpg.connect(
        settings.database_url.reveal(),
        server_settings={"search_path": settings.db_schema, "application_name": "labpulse-jobs"},
    )
    qm = runner.build(
        listener,
        pool,
        handlers(
            settings, pool, store, notifiers if notifiers is not None else default_notifiers(settings, redis, pool)
        ),
        policy or runner.RetryPolicy(max_retries=settings.job_retries),
    )
    sweeper = asyncio.create_task(_sweep(pool, stop))
    heartbeat = timedelta(seconds=settings.job_heartbeat_seconds)
    task = asyncio.create_task(
        qm.run(
            dequeue_timeout=timedelta(seconds=poll_seconds),  # wakes for a retry whose delay is over
            batch_size=concurrency,
            max_concurrent_tasks=2 * concurrency,
            heartbeat_timeout=heartbeat,
        )
    )
    try:
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        qm.shutdown.set()
        await task
    finally:
        sweeper.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await listener.close()
