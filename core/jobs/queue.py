"""Enqueue jobs inside the caller's transaction, and install the queue's tables.

Why PgQueuer (PostgreSQL) and not arq (Redis): a report job must exist if and only if the approval that asks for
it committed. PgQueuer enqueues through our own asyncpg connection, so the job row commits or rolls back with the
report row; with a Redis queue there is always a moment where one is written and the other is not. It also claims
jobs with ``FOR UPDATE SKIP LOCKED``, re-queues the job of a worker that stopped heartbeating (a SIGKILL), retries
with exponential backoff, de-duplicates by key, and runs cron schedules: everything the worker needs, on the
database we already back up. arq is in maintenance-only mode.

Idempotency does not rest on the queue alone: every job re-checks the state it is about to change (a report
already rendered, a message already sent), so a job that runs twice does its work once.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
from pgqueuer.adapters.persistence.queries import Queries

from core import trace


def queries(conn: asyncpg.Connection) -> Queries:
    """Queue operations over ``conn``; objects resolve through its search_path (the labpulse schema)."""
    return Queries(AsyncpgDriver(conn))


async def install(conn: asyncpg.Connection) -> None:
    """Create the queue's tables in the current schema, or bring them up to this PgQueuer version."""
    q = queries(conn)
    if await q.schema_is_installed():
        await q.upgrade()
    else:
        await q.install(create_schema=False)


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def decode(payload: bytes | None) -> dict[str, Any]:
    data = json.loads(payload or b"{}")
    if not isinstance(data, dict):
        raise ValueError("job payload is not an object")
    return data


async def enqueue(conn: asyncpg.Connection, entrypoint: str, payload: dict[str, Any], *, key: str) -> bool:
    """Add a job in the caller's transaction. A job with the same key still waiting or running is not added twice;
    returns whether this call added one. The job carries the request id of the work that queued it (``core.trace``),
    which the worker binds while it runs."""
    rid = trace.current()
    carried = {**payload, trace.JOB_KEY: rid} if rid and trace.JOB_KEY not in payload else payload
    ids = await queries(conn).enqueue(entrypoint, encode(carried), dedupe_key=key, on_conflict="skip")
    return ids[0] is not None


async def depth(conn: asyncpg.Connection) -> dict[tuple[str, str], int]:
    """Jobs on the queue, by (entrypoint, status): what the operations page shows."""
    return {(str(q.entrypoint), str(q.status)): q.count for q in await queries(conn).queue_size()}
