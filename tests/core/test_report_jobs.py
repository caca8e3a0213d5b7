"""Exactly-once report rendering and notices through the real job queue (PgQueuer on the test's PostgreSQL):
duplicated and concurrent jobs, backoff on provider errors, the dead-letter table, the sweep."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import asyncpg
import pytest

from core.config import Settings
from core.identity import Actor, Role
from core.jobs import queue as jobs
from core.jobs import runner
from core.notify import Message
from core.reports import render
from core.reports import service as reports
from core.storage import LocalFileStore
from core.vault import Vault
from portal import jobs as worker
from portal.drill.run import held_notices
from tests.core.test_reports import KEY, PHONE, _completed

ADMIN = Actor("staff:admin-1", Role.ADMIN)
FAST = runner.RetryPolicy(max_retries=3, initial_delay=timedelta(milliseconds=50), max_delay=timedelta(seconds=1))


class Phone:
    """A notifier that records what it was asked to send and can be told to fail the first n times."""

    def __init__(self, fail_first: int = 0, error: Exception | None = None) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.calls = 0
        self.fail_first = fail_first
        self.error = error or RuntimeError(f"provider said 503 for {PHONE}")

    async def send(self, phone: str, message: Message, *, media_url: str | None = None) -> None:
        self.calls += 1
        if self.calls <= self.fail_first:
            raise self.error
        self.sent.append((phone, message.text, message.kind))


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def start_worker(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    stops: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    async def start(phone: Phone, policy: runner.RetryPolicy = FAST) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(
            worker.run(settings, pool, stop, notifiers={"sms": phone}, policy=policy, poll_seconds=0.1)
        )
        stops.append((stop, task))

    yield start
    for stop, task in stops:
        stop.set()
        await asyncio.wait_for(task, 15)


async def _approved(pool: asyncpg.Pool, vault: Vault) -> tuple[str, str]:
    async with pool.acquire() as conn:
        barcode, pathologist = await _completed(conn, vault)
        out = await reports.issue(conn, vault, KEY, barcode=barcode, actor=pathologist, verify_base="https://lab.ex")
    return barcode, str(out["report_id"])


async def _one(pool: asyncpg.Pool, sql: str, *args: object) -> object:
    async with pool.acquire() as conn:
        return await conn.fetchval(sql, *args)


async def test_the_worker_renders_releases_and_tells_the_patient_once(
    pool: asyncpg.Pool, vault: Vault, start_worker: Callable[..., Awaitable[None]]
) -> None:
    phone = Phone()
    barcode, report_id = await _approved(pool, vault)
    async with pool.acquire() as conn, conn.transaction():  # a duplicated job, under another key
        await jobs.enqueue(conn, reports.RENDER_JOB, {"report_id": report_id}, key="a-duplicate")
    await start_worker(phone)
    await until(lambda: _one(pool, "SELECT count(*) = 1 FROM deliveries WHERE status = 'sent'"))  # type: ignore[arg-type]
    await until(lambda: _one(pool, "SELECT count(*) = 0 FROM pgqueuer"))  # type: ignore[arg-type]
    assert await _one(pool, "SELECT state FROM samples WHERE barcode = $1", barcode) == "reported"
    assert await _one(pool, "SELECT count(*) FROM sample_transitions WHERE to_state = 'reported'") == 1
    live = "SELECT count(*) FROM outbox WHERE type = 'sample.state_changed' AND payload ->> 'to' = 'reported'"
    assert await _one(pool, live) == 1  # the live "report ready" event, once
    assert len(phone.sent) == 1
    to, text, purpose = phone.sent[0]
    assert to == PHONE and purpose == "report.ready" and barcode in text
    assert re.search(r"https?://\S+/reports/download/\S+", text)
    assert "10.1" not in text and "Haemoglobin" not in text  # a message never carries a result
    assert await _one(pool, "SELECT count(*) FROM audit_log WHERE action = 'report.render'") == 1
    assert await _one(pool, "SELECT count(*) FROM audit_log WHERE action = 'report.notify'") == 1


async def test_concurrent_render_runs_release_once(pool: asyncpg.Pool, vault: Vault, files: LocalFileStore) -> None:
    _, report_id = await _approved(pool, vault)
    outcomes = await asyncio.gather(*(render.render(pool, vault, files, report_id) for _ in range(4)))
    assert sorted(outcomes) == [False, False, False, True]
    assert await _one(pool, "SELECT count(*) FROM sample_transitions WHERE to_state = 'reported'") == 1
    assert await _one(pool, "SELECT count(*) FROM deliveries") == 1
    name = await _one(pool, "SELECT file_name FROM reports WHERE id = $1", report_id)
    assert files.path(str(name)).exists()  # the file on record is the winner's; the others' are unreferenced
    assert await render.render(pool, vault, files, report_id) is False  # and a late duplicate changes nothing


async def test_a_provider_error_is_retried_with_backoff_and_sent_once(
    pool: asyncpg.Pool, vault: Vault, start_worker: Callable[..., Awaitable[None]]
) -> None:
    phone = Phone(fail_first=2)
    await _approved(pool, vault)
    await start_worker(phone)
    await until(lambda: _one(pool, "SELECT count(*) = 1 FROM deliveries WHERE status = 'sent'"))  # type: ignore[arg-type]
    assert phone.calls == 3 and len(phone.sent) == 1
    assert await _one(pool, "SELECT attempts FROM deliveries") == 3
    retries = await _one(pool, "SELECT count(*) FROM pgqueuer_log WHERE status = 'queued' AND traceback IS NOT NULL")
    assert retries == 2
    assert await _one(pool, "SELECT count(*) FROM dead_letters") == 0


async def test_after_the_last_retry_the_job_is_dead_lettered_with_an_alert_and_can_be_requeued(
    pool: asyncpg.Pool, vault: Vault, start_worker: Callable[..., Awaitable[None]]
) -> None:
    phone = Phone(fail_first=100)
    _, report_id = await _approved(pool, vault)
    await start_worker(phone)
    await until(lambda: _one(pool, "SELECT count(*) = 1 FROM dead_letters"))  # type: ignore[arg-type]
    assert phone.calls == FAST.max_retries + 1
    async with pool.acquire() as conn:  # the fault drill finds this very report's notice held for a person
        assert await held_notices(conn) == {report_id}
    async with pool.acquire() as conn:
        dead = await conn.fetchrow("SELECT * FROM dead_letters")
        alert = await conn.fetchrow("SELECT kind, detail FROM alerts")
        delivery = await conn.fetchrow("SELECT status, last_error FROM deliveries")
    assert dead["entrypoint"] == "reports.deliver" and dead["attempts"] == FAST.max_retries + 1
    assert PHONE not in dead["error"] and "[number]" in dead["error"]  # no phone number kept in the error
    assert alert["kind"] == "job.dead_letter" and alert["detail"]["dead_letter_id"] == dead["id"]
    assert delivery["status"] == "pending" and PHONE not in delivery["last_error"]
    async with pool.acquire() as conn:  # the sweep leaves a dead letter to staff
        await conn.execute("UPDATE deliveries SET updated_at = now() - interval '1 hour'")
        assert await render.pending(conn) == 0
    phone.fail_first = 0  # the provider is back; staff requeue the job
    async with pool.acquire() as conn:
        assert [d["id"] for d in await runner.dead_letters(conn)] == [dead["id"]]
        assert await runner.requeue(conn, dead["id"], ADMIN) is True
        assert await runner.requeue(conn, dead["id"], ADMIN) is False
        assert await runner.dead_letters(conn) == []
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'job.requeue'") == 1
    await until(lambda: _one(pool, "SELECT count(*) = 1 FROM deliveries WHERE status = 'sent'"))  # type: ignore[arg-type]
    assert len(phone.sent) == 1


async def test_a_permanent_error_goes_straight_to_the_dead_letters(
    pool: asyncpg.Pool, start_worker: Callable[..., Awaitable[None]]
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await jobs.enqueue(conn, reports.RENDER_JOB, {"report_id": "00000000-0000-0000-0000-000000000000"}, key="x")
    await start_worker(Phone())
    await until(lambda: _one(pool, "SELECT count(*) = 1 FROM dead_letters"))  # type: ignore[arg-type]
    assert await _one(pool, "SELECT attempts FROM dead_letters") == 1
    assert "does not exist" in str(await _one(pool, "SELECT error FROM dead_letters"))


async def test_the_sweep_requeues_a_lost_render_job_and_a_stuck_notice(
    pool: asyncpg.Pool, vault: Vault, start_worker: Callable[..., Awaitable[None]]
) -> None:
    await _approved(pool, vault)
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM pgqueuer")  # an operator purged the queue
        await conn.execute("UPDATE reports SET issued_at = issued_at - interval '1 hour'")
        assert await render.pending(conn) == 1
        assert await render.pending(conn) == 0  # already waiting: not added twice
    phone = Phone()
    await start_worker(phone)
    await until(lambda: _one(pool, "SELECT count(*) = 1 FROM deliveries WHERE status = 'sent'"))  # type: ignore[arg-type]
    assert len(phone.sent) == 1


async def test_a_notice_interrupted_mid_send_is_not_sent_twice(pool: asyncpg.Pool, vault: Vault,
                                                               files: LocalFileStore) -> None:  # fmt: skip
    from core.reports import delivery
    from core.reports.links import ReportLinks

    _, report_id = await _approved(pool, vault)
    await render.render(pool, vault, files, report_id)
    dl = int(str(await _one(pool, "SELECT id FROM deliveries")))
    async with pool.acquire() as conn:  # a worker was killed after handing the text over, before recording it
        await conn.execute("UPDATE deliveries SET status = 'sending', updated_at = now() - interval '1 hour'")
    phone = Phone()
    status = await delivery.deliver(pool, vault, {"sms": phone}, ReportLinks("s" * 40), "https://lab.ex", dl)
    assert status == "uncertain" and phone.calls == 0
    assert await _one(pool, "SELECT kind FROM alerts") == "notice.uncertain"
    async with pool.acquire() as conn:  # the fault drill finds this very report's notice held for a person
        assert await held_notices(conn) == {report_id}
