"""The only SQL for ``hl7_messages``: every inbound message, stored once per sender and control id, raw (sealed by
the caller), with the answer it was given, and the review queue over them.

Writes that must be atomic with other work are staged on the caller's ``Statement`` (``stage_group``), or carry
their own audit row in the same statement (``insert_one``, ``set_outcome``)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import asyncpg

from core import audit
from core.db.statement import Statement
from core.identity import Actor

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


async def insert_one(
    conn: asyncpg.Connection,
    *,
    message_id: str,
    sender: str,
    control_id: str,
    message_type: str,
    raw_enc: bytes,
    ack_code: str,
    outcome: str,
    detail: str | None,
    needs_review: str | None,
    actor: Actor,
) -> bool:
    """One message with its answer and its audit row, in one statement; False (nothing written) when this sender's
    control id is stored already."""
    stmt = Statement()
    stmt.cte(
        "message",
        f"""INSERT INTO hl7_messages (id, sender, control_id, message_type, raw_enc, received_at, ack_code, outcome,
                                      detail, needs_review)
            VALUES ({stmt.bind(message_id)}::uuid, {stmt.bind(sender)}, {stmt.bind(control_id)},
                    {stmt.bind(message_type)}, {stmt.bind(raw_enc)}, clock_timestamp(), {stmt.bind(ack_code)},
                    {stmt.bind(outcome)}, {stmt.bind((detail or "")[:500] or None)}, {stmt.bind(needs_review)})
            ON CONFLICT (sender, control_id) DO NOTHING RETURNING id""",
    )
    audit.stage(
        stmt, actor=actor, action="hl7.receive", entity_type="hl7_message", entity_id=message_id, outcome=outcome,
        summary={"sender": sender, "control_id": control_id, "results": 0}, only_if="message",
    )  # fmt: skip
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
