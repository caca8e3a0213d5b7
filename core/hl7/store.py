"""The only SQL for the HL7 tables: ``hl7_messages`` (every inbound message, stored once per sender and control
id, raw (sealed by the caller), with the answer it was given, and the review queue over them), ``hl7_destinations``
(where results go out to) and ``hl7_outbound`` (one row per report version and destination, its attempts and the
answer it got).

Writes that must be atomic with other work are staged on the caller's ``Statement`` (``stage_group``), or carry
their own audit row in the same statement (``insert_one``, ``set_outcome``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from core import audit
from core.db.statement import Statement
from core.doctors import store as doctors_store
from core.identity import Actor
from core.jobs import runner
from core.orders import store as orders_store
from core.reports import store as reports_store

_COLUMNS = (
    ("id", "uuid"), ("sender", "text"), ("control_id", "text"), ("message_type", "text"), ("raw_enc", "text"),
    ("ack_code", "text"), ("outcome", "text"), ("detail", "text"), ("sample_id", "uuid"), ("results", "integer"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Answered:
    """One message as stored: what it was answered, and why."""

    id: str
    sender: str
    control_id: str
    ack_code: str
    outcome: str


@dataclass(frozen=True, slots=True)
class Held:
    id: str
    raw_enc: bytes
    ack_code: str


def stage_group(stmt: Statement, rows: list[dict[str, object]], *, name: str = "message") -> None:
    """Stage many messages (dicts keyed by ``_COLUMNS``, ``raw_enc`` as hex) as CTE ``name``, returning the ones
    stored now (id, sender, control_id, outcome, results): a sender and control id stored before are skipped."""
    record = ", ".join(f"{column} {kind}" for column, kind in _COLUMNS)
    stmt.cte(
        name,
        f"""INSERT INTO hl7_messages (id, sender, control_id, message_type, raw_enc, received_at, ack_code, outcome,
                                      detail, sample_id, results)
            SELECT id, sender, control_id, message_type, decode(raw_enc, 'hex'), clock_timestamp(), ack_code,
                   outcome, detail, sample_id, results
            FROM jsonb_to_recordset({stmt.bind(json.dumps(rows))}::jsonb) AS m({record})
            ON CONFLICT (sender, control_id) DO NOTHING
            RETURNING id, sender, control_id, outcome, results""",
    )


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message as it is stored: raw (sealed), with the answer it was given."""

    id: str
    sender: str
    control_id: str
    message_type: str
    raw_enc: bytes
    ack_code: str
    outcome: str
    detail: str | None = None
    needs_review: str | None = None


_REPEAT = "hl7_messages_sender_control_id_key"


def is_repeat(exc: asyncpg.UniqueViolationError) -> bool:
    """The error a statement staged with ``stage_one(after=...)`` raises for a control id stored already."""
    return bool(exc.constraint_name == _REPEAT)


def stage_one(stmt: Statement, m: Inbound, *, actor: Actor, after: str | None = None) -> None:
    """Stage one message with its answer (CTE ``message``) and its audit row. Without ``after``, a control id stored
    already writes nothing and raises nothing. With ``after`` (a CTE of what the message did, staged before), the
    message is written only if that CTE returned a row, and a repeated control id raises ``UniqueViolationError``
    (``is_repeat``), so the whole statement, what the message did included, writes nothing."""
    b = stmt.bind
    values = (f"{b(m.id)}::uuid, {b(m.sender)}, {b(m.control_id)}, {b(m.message_type)}, {b(m.raw_enc)}::bytea, "
              f"clock_timestamp(), {b(m.ack_code)}, {b(m.outcome)}, {b((m.detail or '')[:500] or None)}::text, "
              f"{b(m.needs_review)}::text")  # fmt: skip
    into = """INSERT INTO hl7_messages (id, sender, control_id, message_type, raw_enc, received_at, ack_code, outcome,
                                        detail, needs_review)"""
    if after is None:
        stmt.cte("message", f"{into} VALUES ({values}) ON CONFLICT (sender, control_id) DO NOTHING RETURNING id")
    else:
        stmt.cte("message", f"{into} SELECT {values} WHERE EXISTS (SELECT 1 FROM {after}) RETURNING id")
    audit.stage(
        stmt, actor=actor, action="hl7.receive", entity_type="hl7_message", entity_id=m.id, outcome=m.outcome,
        summary={"sender": m.sender, "control_id": m.control_id, "results": 0}, only_if="message",
        name="message_audit",
    )  # fmt: skip


async def insert_one(conn: asyncpg.Connection, m: Inbound, *, actor: Actor) -> bool:
    """One message with its answer and its audit row, in one statement; False (nothing written) when this sender's
    control id is stored already."""
    stmt = Statement()
    stage_one(stmt, m, actor=actor)
    return bool(await conn.fetchval(stmt.sql("SELECT EXISTS (SELECT 1 FROM message)"), *stmt.args))


async def first_answers(conn: asyncpg.Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Answered]:
    """What was answered the first time, by (sender, control id), for those stored."""
    if not keys:
        return {}
    rows = await conn.fetch(
        """SELECT m.id::text, m.sender, m.control_id, m.ack_code, m.outcome
           FROM hl7_messages m JOIN unnest($1::text[], $2::text[]) AS k(sender, control_id)
             ON m.sender = k.sender AND m.control_id = k.control_id""",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(r["sender"], r["control_id"]): Answered(**dict(r)) for r in rows}


async def held(conn: asyncpg.Connection, message_id: str, *, lock: bool = False) -> Held | None:
    row = await conn.fetchrow(
        "SELECT id::text, raw_enc, ack_code FROM hl7_messages WHERE id = $1" + (" FOR UPDATE" if lock else ""),
        message_id,
    )
    return Held(**dict(row)) if row else None


def stage_reapplied(
    stmt: Statement,
    message_id: str,
    *,
    ack_code: str,
    outcome: str,
    detail: str | None,
    sample_id: str | None,
    results: int,
    reviewer: str | None,
) -> None:
    """A held result message applied again, as CTE ``message`` (no row when it was applied meanwhile)."""
    stmt.cte(
        "message",
        f"""UPDATE hl7_messages SET ack_code = {stmt.bind(ack_code)}, outcome = {stmt.bind(outcome)},
                   detail = {stmt.bind(detail)}, sample_id = {stmt.bind(sample_id)}::uuid,
                   results = {stmt.bind(results)},
                   reviewed_at = CASE WHEN {stmt.bind(reviewer is not None)} THEN now() END,
                   reviewed_by = {stmt.bind(reviewer)}
            WHERE id = {stmt.bind(message_id)}::uuid AND ack_code <> 'AA' RETURNING id""",
    )


async def set_outcome(
    conn: asyncpg.Connection,
    message_id: str,
    *,
    ack_code: str,
    outcome: str,
    detail: str | None,
    needs_review: str | None,
    reviewer: str | None,
) -> bool:
    """A held message about people or orders, applied again: its new answer (reviewed when it applied). False
    (nothing changed) when it was applied meanwhile."""
    done = await conn.execute(
        """UPDATE hl7_messages SET ack_code = $2, outcome = $3, detail = $4, needs_review = $5,
                  reviewed_at = CASE WHEN $6::text IS NOT NULL THEN now() END, reviewed_by = $6
           WHERE id = $1 AND ack_code <> 'AA'""",
        message_id, ack_code, outcome, (detail or "")[:500] or None, needs_review, reviewer,
    )  # fmt: skip
    return bool(done.endswith(" 1"))


async def mark_reviewed(conn: asyncpg.Connection, message_id: str | None, reviewer: str) -> bool:
    done = await conn.execute(
        "UPDATE hl7_messages SET reviewed_at = now(), reviewed_by = $2 WHERE id = $1 AND reviewed_at IS NULL",
        message_id,
        reviewer,
    )
    return bool(done.endswith(" 1"))


async def review_queue(conn: asyncpg.Connection, *, limit: int) -> list[dict[str, object]]:
    """Not applied (AE/AR), or applied but wanting a look, and not reviewed yet; oldest first. No PHI."""
    rows = await conn.fetch(
        """SELECT id::text, sender, control_id, message_type, received_at, ack_code, outcome, detail, needs_review
           FROM hl7_messages WHERE (ack_code <> 'AA' OR needs_review IS NOT NULL) AND reviewed_at IS NULL
           ORDER BY received_at LIMIT $1""",
        limit,
    )
    return [{**dict(r), "received_at": r["received_at"].isoformat()} for r in rows]


@dataclass(frozen=True, slots=True)
class Destination:
    id: str
    name: str
    host: str
    port: int
    receiving_app: str = ""
    receiving_facility: str = ""
    order_source: str | None = None
    active: bool = True


_DESTINATION = "id, name, host, port, receiving_app, receiving_facility, order_source, active"


async def destinations(conn: asyncpg.Connection) -> list[Destination]:
    rows = await conn.fetch(f"SELECT {_DESTINATION} FROM hl7_destinations ORDER BY id")
    return [Destination(**dict(r)) for r in rows]


async def destination(conn: asyncpg.Connection, destination_id: str) -> Destination | None:
    row = await conn.fetchrow(f"SELECT {_DESTINATION} FROM hl7_destinations WHERE id = $1", destination_id)
    return Destination(**dict(row)) if row else None


async def put_destination(conn: asyncpg.Connection, d: Destination) -> None:
    """Insert or replace; a second destination for one order source raises ``UniqueViolationError``."""
    await conn.execute(
        f"""INSERT INTO hl7_destinations ({_DESTINATION}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, host = EXCLUDED.host, port = EXCLUDED.port,
                receiving_app = EXCLUDED.receiving_app, receiving_facility = EXCLUDED.receiving_facility,
                order_source = EXCLUDED.order_source, active = EXCLUDED.active""",
        d.id, d.name, d.host, d.port, d.receiving_app, d.receiving_facility, d.order_source, d.active,
    )  # fmt: skip


async def destinations_for_report(conn: asyncpg.Connection, report_id: str) -> list[str]:
    """The active destinations a report goes to: its ordering doctor's system, and the system its order came from.
    One round trip; the report, order and doctor columns come through their stores' subqueries."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT d.id FROM ({reports_store.orders_of_reports_sql()}) ro
            JOIN ({orders_store.routing_sql()}) o ON o.id = ro.order_id
            LEFT JOIN ({doctors_store.destinations_sql()}) doc ON doc.id = o.doctor_id
            JOIN hl7_destinations d ON d.active AND (d.id = doc.destination_id OR d.order_source = o.source)
            WHERE ro.report_id = $1""",
        report_id,
    )
    return [r["id"] for r in rows]


async def add_outbound(conn: asyncpg.Connection, report_id: str, destination_id: str, control_id: str) -> int | None:
    """A message to send, once per report version and destination: its id, or None when it was added before."""
    found: int | None = await conn.fetchval(
        """INSERT INTO hl7_outbound (report_id, destination_id, control_id) VALUES ($1, $2, $3)
           ON CONFLICT (report_id, destination_id) DO NOTHING RETURNING id""",
        report_id,
        destination_id,
        control_id,
    )
    return found


async def stale_outbound(conn: asyncpg.Connection, *, older_than_seconds: int, limit: int = 1000) -> list[int]:
    """Messages still pending after ``older_than_seconds`` whose job is not waiting in the dead letters."""
    rows = await conn.fetch(
        f"""SELECT id FROM hl7_outbound o WHERE status = 'pending' AND updated_at < now() - make_interval(secs => $1)
            AND NOT {runner.waiting_sql("outbound_id", "o.id::text")} ORDER BY id LIMIT $2""",
        older_than_seconds,
        limit,
    )
    return [r["id"] for r in rows]


@dataclass(frozen=True, slots=True)
class Attempt:
    status: str
    report_id: str
    control_id: str
    attempts: int
    destination_id: str


async def start_attempt(conn: asyncpg.Connection, outbound_id: int) -> Attempt | None:
    """Count one more attempt at sending a message, and return it (None when there is no such message)."""
    row = await conn.fetchrow(
        """UPDATE hl7_outbound SET attempts = attempts + 1, updated_at = now() WHERE id = $1
           RETURNING status, report_id::text, control_id, attempts, destination_id""",
        outbound_id,
    )
    return Attempt(**dict(row)) if row else None


async def finish_attempt(conn: asyncpg.Connection, outbound_id: int, status: str, ack_code: str, ack_text: str) -> None:
    await conn.execute(
        """UPDATE hl7_outbound SET status = $2, ack_code = $3, ack_text = $4, updated_at = now(),
                  sent_at = CASE WHEN $2 = 'sent' THEN now() END WHERE id = $1 AND status = 'pending'""",
        outbound_id, status, ack_code, ack_text[:200] or None,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Sender:
    """One system that sends us HL7: when it last did, and how its last day went."""

    sender: str
    last_at: datetime
    last_ack: str
    today: int
    held_today: int


async def senders(conn: asyncpg.Connection, since: datetime) -> list[Sender]:
    """Every sender heard from since ``since``, the most recent first."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (sender) sender, received_at AS last_at, ack_code AS last_ack,
                  count(*) OVER (PARTITION BY sender) AS today,
                  count(*) FILTER (WHERE ack_code <> 'AA') OVER (PARTITION BY sender) AS held_today
           FROM hl7_messages WHERE received_at >= $1 ORDER BY sender, received_at DESC""",
        since,
    )
    return sorted((Sender(**dict(r)) for r in rows), key=lambda s: s.last_at, reverse=True)
