"""The audit log: append a row inside the caller's transaction; verify the hash chain end to end.

Rows are chained by the database (trigger ``audit_chain``) so an append is one INSERT. ``verify`` recomputes
every hash here, in Python, from the stored columns, so a row edited behind the triggers' back, a deleted
row or a deleted tail is found.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from core.identity import Actor, RequestMeta

# The same canonical text the trigger hashes (core/db/migrations/0001_foundation.sql), computed from the
# stored columns. Kept inline rather than in a SQL function so that redefining a function cannot fool it.
_CANONICAL = """jsonb_build_array(
    seq, (extract(epoch FROM at) * 1000000)::bigint, actor_id, actor_role, action, entity_type, entity_id,
    patient_id, outcome, summary, request_id, source_ip, user_agent)::text"""

GENESIS = bytes(32)


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    at: datetime
    actor_id: str
    actor_role: str
    action: str
    entity_type: str
    entity_id: str | None
    patient_id: str | None
    outcome: str
    summary: Mapping[str, Any]
    request_id: str | None
    source_ip: str | None


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    bad_seq: int | None = None


async def append(
    conn: asyncpg.Connection,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str | None = None,
    patient_id: str | None = None,
    outcome: str = "ok",
    summary: Mapping[str, Any] | None = None,
    meta: RequestMeta | None = None,
) -> int:
    """Append one audit row in the caller's transaction and return its seq. ``summary`` must hold no PHI."""
    meta = meta or RequestMeta()
    seq: int = await conn.fetchval(
        """INSERT INTO audit_log (seq, at, actor_id, actor_role, action, entity_type, entity_id, patient_id,
                                  outcome, summary, request_id, source_ip, user_agent, prev_hash, hash)
           VALUES (0, now(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '', '')
           RETURNING seq""",
        actor.id,
        actor.role.value,
        action,
        entity_type,
        entity_id,
        patient_id,
        outcome,
        dict(summary or {}),
        meta.request_id,
        meta.source_ip,
        meta.user_agent,
    )
    return seq


async def rows_for_patient(conn: asyncpg.Connection, patient_id: str, *, limit: int = 200) -> list[AuditRow]:
    rows = await conn.fetch(
        """SELECT seq, at, actor_id, actor_role, action, entity_type, entity_id, patient_id::text, outcome,
                  summary, request_id, source_ip
           FROM audit_log WHERE patient_id = $1 ORDER BY seq DESC LIMIT $2""",
        patient_id,
        limit,
    )
    return [AuditRow(**dict(r)) for r in rows]


async def verify(conn: asyncpg.Connection, *, batch: int = 5000) -> VerifyReport:
    """Walk the whole chain in seq order. Stops at the first broken link and says where and why."""
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        head = await conn.fetchrow("SELECT last_seq, last_hash FROM audit_head")
        last = 0
        while True:
            rows = await conn.fetch(
                f"SELECT seq, prev_hash, hash, {_CANONICAL} AS canonical FROM audit_log "
                "WHERE seq > $1 ORDER BY seq LIMIT $2",
                last,
                batch,
            )
            if not rows:
                break
            for r in rows:
                seq = r["seq"]
                if seq != expected_seq:
                    return _broken(count, head, expected_seq, f"row {expected_seq} is missing (deleted)")
                if bytes(r["prev_hash"]) != prev_hash:
                    return _broken(count, head, seq, f"row {seq} does not link to row {seq - 1}")
                digest = hashlib.sha256(prev_hash + r["canonical"].encode("utf-8")).digest()
                if digest != bytes(r["hash"]):
                    return _broken(count, head, seq, f"row {seq} was altered after it was written")
                prev_hash = digest
                expected_seq += 1
                count += 1
            last = rows[-1]["seq"]
    if head is None:
        return VerifyReport(False, count, 0, "", "the audit head row is missing")
    if head["last_seq"] != count or bytes(head["last_hash"]) != prev_hash:
        return _broken(
            count, head, count + 1, f"the head says {head['last_seq']} rows but {count} remain (tail deleted)"
        )
    return VerifyReport(True, count, head["last_seq"], prev_hash.hex())


def _broken(count: int, head: asyncpg.Record | None, seq: int, problem: str) -> VerifyReport:
    head_seq = head["last_seq"] if head else 0
    head_hash = bytes(head["last_hash"]).hex() if head else ""
    return VerifyReport(False, count, head_seq, head_hash, problem, seq)
