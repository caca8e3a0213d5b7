"""The worker's job queue, wired from Settings: report rendering and report notices (core/reports/)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from core import once, storage
from core.booking import reminders, slots
from core.booking.service import REMINDER_JOB
from core.config import Settings
from core.hl7 import intake, outbound
from core.jobs import runner
from core.labtime import LAB_TZ
from core.notify import Notifier
from core.reports import delivery, render
from core.reports.links import ReportLinks
from core.reports.service import RENDER_JOB
from core.storage import FileStore, LocalFileStore, PostgresFileStore
from core.supervise import Beat
from core.teleconsult import messages as consult_messages
from core.teleconsult import service as consults
from core.teleconsult import slots as consult_slots
from core.vault import Vault

log = logging.getLogger("labpulse.jobs")
WATCH_SECONDS = 2.0  # how often the queue's connection is looked at (and the loop beats)


def file_store(settings: Settings, db: asyncpg.Pool | asyncpg.Connection) -> LocalFileStore | PostgresFileStore:
    """Where report files live, as the settings say (``LABPULSE_FILE_STORE``)."""
    return storage.file_store(settings.file_store, settings.report_files_dir, db)


def report_links(settings: Settings) -> ReportLinks:
    return ReportLinks(settings.secret_key.reveal() if settings.secret_key else "")


def handlers(
    settings: Settings,
    pool: asyncpg.Pool,
    store: FileStore,
    notifiers: Mapping[str, Notifier],
    staff_notifiers: Mapping[str, Notifier] | None = None,
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

    async def consult_links(payload: dict[str, Any]) -> None:
        staff = staff_notifiers if staff_notifiers is not None else notifiers
        await consult_messages.links(pool, vault, notifiers, staff, str(payload["consult_id"]), settings.link_base())

    async def consult_tests(payload: dict[str, Any]) -> None:
        codes = [str(c) for c in payload["codes"]]
        await consult_messages.tests(pool, vault, notifiers, str(payload["consult_id"]), codes, settings.link_base())

    async def send_results(payload: dict[str, Any]) -> None:
        await outbound.send(pool, vault, int(payload["outbound_id"]))

    return {RENDER_JOB: render_report, outbound.SEND_JOB: send_results, render.DELIVER_JOB: deliver_notice,
            REMINDER_JOB: remind,
            consults.REMINDER_JOB: consult_remind, consults.TESTS_JOB: consult_tests,
            consults.LINKS_JOB: consult_links}  # fmt: skip


async def sweep(pool: asyncpg.Pool, stop: asyncio.Event, beat: Beat = lambda: None, every: float = 60) -> None:
    """Every minute: queue again any report or notice that should have finished and has no job (render.pending),
    and complete any tube whose last results arrived in two messages at once (intake.complete_ready); forget
    expired once-keys (core/once.py). Once a day
    (and at start), the coming week's booking slots and doctors' teleconsult slots. A failure ends the call (the
    supervisor logs it and calls again)."""
    slots_for: date | None = None
    while not stop.is_set():
        async with pool.acquire() as conn:
            if n := await render.pending(conn):
                log.info("re-queued %d report job(s) that had none", n)
            if n := await outbound.pending(conn):
                log.info("re-queued %d outbound result message(s) that had no job", n)
            if n := await intake.complete_ready(conn):
                log.info("completed %d tube(s) whose results arrived together", n)
            await once.purge(conn)
            if slots_for != (today := datetime.now(LAB_TZ).date()):
                await slots.ensure(conn, today)
                await consult_slots.ensure(conn, today)
                slots_for = today
        beat()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def run(
    settings: Settings,
    pool: asyncpg.Pool,
    stop: asyncio.Event,
    *,
    notifiers: Mapping[str, Notifier],
    staff_notifiers: Mapping[str, Notifier] | None = None,
    policy: runner.RetryPolicy | None = None,
    concurrency: int = 4,
    poll_seconds: float = 2.0,
    beat: Beat = lambda: None,
) -> None:
    """Process jobs until ``stop`` is set; each job finishes (or is handed back) before this returns. If the queue's
    connection to PostgreSQL is lost, this raises (after handing back what it can) and the supervisor starts it
    again on a new connection."""
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL is not resolved")
    store = file_store(settings, pool)
    store.sweep_partials()
    # A plain connection (no jsonb codec): PgQueuer encodes its own JSON, and it LISTENs on this one, so it is a
    # session of its own (LABPULSE_LISTEN_DATABASE_URL: never through a transaction pooler).
    listener = await asyncpg.connect(
        (settings.listen_database_url or settings.database_url).reveal(),
        server_settings={"search_path": settings.db_schema, "application_name": "labpulse-jobs"},
    )
    qm = runner.build(
        listener,
        pool,
        handlers(settings, pool, store, notifiers, staff_notifiers),
        policy or runner.RetryPolicy(max_retries=settings.job_retries),
    )
    heartbeat = timedelta(seconds=settings.job_heartbeat_seconds)
    task = asyncio.create_task(
        qm.run(
            dequeue_timeout=timedelta(seconds=poll_seconds),  # wakes for a retry whose delay is over
            batch_size=concurrency,
            max_concurrent_tasks=2 * concurrency,
            heartbeat_timeout=heartbeat,
        )
    )
    stopped = asyncio.create_task(stop.wait())
    try:
        while True:
            beat()
            await asyncio.wait({task, stopped}, timeout=WATCH_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            if stopped.done():
                break
            if task.done():
                task.result()  # its own exception, if it has one
                raise ConnectionError("the job queue stopped on its own")
            if listener.is_closed():
                raise ConnectionError("the job queue's connection to PostgreSQL was lost")
        qm.shutdown.set()
        await task
    finally:
        stopped.cancel()
        if not task.done():
            qm.shutdown.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await listener.close(timeout=2)
