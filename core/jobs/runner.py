"""The worker's job loop: PgQueuer's QueueManager running our handlers, with exponential backoff on errors and a
dead-letter row plus a staff alert after the last try.

A handler takes the job's payload (a dict) and either returns (done), raises ``Permanent`` (retrying cannot help:
dead-letter now) or raises anything else (transient: try again after 2 s, 4 s, 8 s … up to ``max_delay``). A
worker killed mid-job stops heartbeating; after ``heartbeat_timeout`` another worker picks the job up again.
Nothing about a job's payload or its error text reaches the logs beyond the exception's type: errors from a
messaging provider can carry a phone number. The only SQL for the dead-letter table.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import asyncpg
from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
from pgqueuer.adapters.persistence.queries import Queries
from pgqueuer.core.executors import EntrypointExecutor, EntrypointExecutorParameters
from pgqueuer.core.qm import QueueManager
from pgqueuer.domain import errors, models

from core import alert_rules, audit, metrics, trace
from core.identity import Actor, RequestMeta
from core.jobs.queue import decode, enqueue
from core.reports import store as reports_store

log = logging.getLogger("labpulse.jobs")

Handler = Callable[[dict[str, Any]], Awaitable[None]]
_NUMBERS = re.compile(r"\+?\d[\d \-]{4,}\d")


class Permanent(Exception):
    """A job error that no retry can fix (the record it names is gone, the input is invalid)."""


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 6  # after the first try: 2+4+8+16+32+64 s, then the dead-letter table
    initial_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=10)

    def delay(self, attempts: int) -> timedelta:
        delay: timedelta = self.initial_delay * (2**attempts)
        return min(delay, self.max_delay)


def safe_error(exc: BaseException) -> str:
    """The exception's type and message with any long number masked, cut to 300 characters."""
    return f"{type(exc).__name__}: {_NUMBERS.sub('[number]', str(exc))}"[:300]


async def dead_letter(pool: asyncpg.Pool, entrypoint: str, payload: dict[str, Any], attempts: int, error: str) -> int:
    async with pool.acquire() as conn, conn.transaction():
        dead_id: int = await conn.fetchval(
            "INSERT INTO dead_letters (entrypoint, payload, attempts, error) VALUES ($1, $2, $3, $4) RETURNING id",
            entrypoint,
            payload,
            attempts,
            error,
        )
        await alert_rules.add(
            conn, "job.dead_letter", {"dead_letter_id": dead_id, "entrypoint": entrypoint, "error": error}
        )
    return dead_id


@dataclasses.dataclass
class _Executor(EntrypointExecutor):
    handler: Handler | None = None
    name: str = ""
    pool: asyncpg.Pool | None = None
    policy: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)

    async def execute(self, job: models.Job, context: models.Context) -> None:
        try:
            payload = decode(job.payload)
        except ValueError:
            payload = {"undecodable": True}
            await self._dead(job, payload, "the job's payload is not valid JSON")
            return
        if self.handler is None:
            raise RuntimeError(f"no handler registered for {self.name}")
        rid = payload.pop(trace.JOB_KEY, None)
        token = trace.bind(rid if isinstance(rid, str) else trace.new("job-"))
        try:
            await self._run(self.handler, job, payload)
        finally:
            trace.reset(token)

    async def _run(self, handler: Handler, job: models.Job, payload: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            await handler(payload)
            metrics.JOBS.labels(self.name, "done").inc()
            log.info("job %s #%s done in %.0f ms", self.name, job.id, (time.perf_counter() - started) * 1000)
        except Permanent as exc:
            await self._dead(job, payload, safe_error(exc))
        except Exception as exc:  # noqa: BLE001 - any other failure is transient by contract: retry, then dead-letter
            wait = getattr(exc, "retry_after", None)
            if isinstance(wait, int) and wait > 0:  # "not before": a limit's window, not a fault; never dead-lettered
                metrics.JOBS.labels(self.name, "later").inc()
                raise errors.RetryRequested(delay=timedelta(seconds=wait), reason=type(exc).__name__) from None
            if job.attempts >= self.policy.max_retries:
                await self._dead(job, payload, safe_error(exc))
                return
            metrics.JOBS.labels(self.name, "retry").inc()
            delay = self.policy.delay(job.attempts)
            log.warning("job %s #%s failed (%s); retry %d in %s", self.name, job.id, type(exc).__name__,
                        job.attempts + 1, delay)  # fmt: skip
            raise errors.RetryRequested(delay=delay, reason=type(exc).__name__) from None

    async def _dead(self, job: models.Job, payload: dict[str, Any], error: str) -> None:
        if self.pool is None:
            raise RuntimeError("the executor has no pool")
        metrics.JOBS.labels(self.name, "dead").inc()
        if (rid := trace.current()) is not None:  # put back by a person, it still names the work that queued it
            payload = {**payload, trace.JOB_KEY: rid}
        dead_id = await dead_letter(self.pool, self.name, payload, job.attempts + 1, error)
        log.error("job %s #%s gave up after %d tries: dead letter %d", self.name, job.id, job.attempts + 1, dead_id)


def build(
    listener: asyncpg.Connection, pool: asyncpg.Pool, handlers: Mapping[str, Handler], policy: RetryPolicy
) -> QueueManager:
    """A queue manager on ``listener`` (a dedicated connection: it LISTENs) running ``handlers`` by name."""
    qm = QueueManager(Queries(AsyncpgDriver(listener)))
    for name, handler in handlers.items():

        def factory(params: EntrypointExecutorParameters, name: str = name, handler: Handler = handler) -> _Executor:
            return _Executor(parameters=params, handler=handler, name=name, pool=pool, policy=policy)

        async def entry(job: models.Job) -> None:  # PgQueuer calls the executor, which calls the handler
            raise AssertionError("unreachable")

        qm.entrypoint(name, accepts_context=False, executor_factory=factory)(entry)
    return qm


def waiting_sql(key: str, id_sql: str) -> str:
    """An SQL condition: a dead letter whose payload's ``key`` is ``id_sql`` waits for staff (so a sweep does not
    queue its job again). ``key`` is one of our payload keys, never input."""
    return f"""EXISTS (SELECT 1 FROM dead_letters d WHERE d.requeued_at IS NULL AND d.payload ->> '{key}' = {id_sql})"""


async def dead_letters(conn: asyncpg.Connection, *, limit: int = 200) -> list[dict[str, Any]]:
    """Jobs that gave up and wait for staff, newest first (payloads hold ids only, never PHI)."""
    rows = await conn.fetch(
        """SELECT id, entrypoint, payload, attempts, error, failed_at FROM dead_letters
           WHERE requeued_at IS NULL ORDER BY failed_at DESC LIMIT $1""",
        limit,
    )
    return [{**dict(r), "failed_at": r["failed_at"].isoformat()} for r in rows]


async def waiting_count(conn: asyncpg.Connection) -> int:
    """How many dead letters wait for staff."""
    count: int = await conn.fetchval("SELECT count(*) FROM dead_letters WHERE requeued_at IS NULL")
    return count


async def requeue(conn: asyncpg.Connection, dead_id: int, actor: Actor, meta: RequestMeta | None = None) -> bool:
    """Put a dead letter's job back on the queue (staff, after fixing the cause); False if already requeued."""
    async with conn.transaction():
        row = await conn.fetchrow(
            """UPDATE dead_letters SET requeued_at = now(), requeued_by = $2
               WHERE id = $1 AND requeued_at IS NULL RETURNING entrypoint, payload""",
            dead_id,
            actor.id,
        )
        if row is None:
            return False
        if "delivery_id" in row["payload"]:  # a notice given up on: let the job try it again from the start
            await reports_store.retry_failed(conn, int(row["payload"]["delivery_id"]))
        await enqueue(conn, row["entrypoint"], row["payload"], key=f"requeue:{dead_id}")
        await audit.append(
            conn,
            actor=actor,
            action="job.requeue",
            entity_type="dead_letter",
            entity_id=str(dead_id),
            summary={"entrypoint": row["entrypoint"]},
            meta=meta,
        )
    return True
