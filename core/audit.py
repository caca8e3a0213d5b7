"""The audit log: append a row inside the caller's transaction; verify the hash chain end to end.

``append`` is one INSERT. The database chains the row when the caller's transaction commits (a deferred
trigger appends to ``audit_chain``), so chain order is commit order and the chain lock is never held while
the caller still works. ``verify`` recomputes every hash here, in Python, from the stored columns, so a row
edited behind the triggers' back, a deleted row, an unchained row or a deleted tail is found.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from core.db.statement import Statement
from core.identity import Actor, RequestMeta
from core.staff import store as staff_store

# The same canonical text the trigger hashes (core/db/migrations/0001_foundation.sql), computed from the
# stored columns. Kept inline rather than in a SQL function so that redefining a function cannot fool it.
_CANONICAL = """jsonb_build_array(
    c.chain, c.seq, a.id, (extract(epoch FROM a.at) * 1000000)::bigint, a.actor_id, a.actor_role, a.action,
    a.entity_type, a.entity_id, a.patient_id, a.outcome, a.summary, a.request_id, a.source_ip, a.user_agent)::text"""

GENESIS = bytes(32)
_ENTITY = object()  # stands for "this row's own id" when one audit row is staged per row of another CTE


@dataclass(frozen=True, slots=True)
class Column:
    """An SQL expression over the row of ``only_if``, for a value that differs from one audit row to the next
    (``Column("message.outcome")``); never built from input, only from our own column names."""

    sql: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    bad_seq: int | None = None


def stage(
    stmt: Statement,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str | Column | None = None,
    patient_id: str | None = None,
    outcome: str | Column = "ok",
    summary: Mapping[str, Any] | Column | None = None,
    meta: RequestMeta | None = None,
    only_if: str | None = None,
    each_id: str | None = None,
    name: str = "audit",
) -> str:
    """Stage the INSERT of one audit row as CTE ``name`` (``RETURNING id``); returns the CTE's name.

    ``only_if`` names another staged CTE: the row is written only if that CTE returns a row. With ``each_id``
    (a column of that CTE) one row is written per row it returns, each naming its own entity; a ``Column`` value
    is read from that row too.
    """
    meta = meta or RequestMeta()
    per_row = f"{only_if}.{each_id}::text" if (each_id and only_if) else None
    values = ", ".join(
        f"({per_row if (v is _ENTITY and per_row) else v.sql if isinstance(v, Column) else stmt.bind(v)})::{kind}"
        for v, kind in zip(
            (
                actor.id,
                actor.role.value,
                action,
                entity_type,
                _ENTITY if per_row else entity_id,
                patient_id,
                outcome,
                summary if isinstance(summary, Column) else dict(summary or {}),
                meta.request_id,
                meta.source_ip,
                meta.user_agent,
            ),
            _TYPES,
            strict=True,
        )
    )
    source = f"FROM {only_if}" if only_if else ""
    if _SEAL is None:
        rows, sealed = f"SELECT {values} {source}", ""
    else:  # HMAC(key, nonce and content) in SQL: sha256(opad || sha256(ipad || text)), the pads bound, never stored
        ipad, opad = stmt.bind(_SEAL[0]), stmt.bind(_SEAL[1])
        rows = f"""SELECT v.*, {opad}::bytea AS o, {ipad}::bytea AS i
                   FROM (SELECT {values}, gen_random_uuid() AS n {source}) AS v({_COLUMNS}, n)"""
        rows = f"""SELECT {_COLUMNS}, n, sha256(o || sha256(i || convert_to({_canonical("r")}, 'UTF8')))
                   FROM ({rows}) AS r"""
        sealed = ", seal_nonce, seal"
    stmt.cte(name, f"INSERT INTO audit_log ({_COLUMNS}{sealed}) {rows} RETURNING id")
    return name


_COLUMNS = ("actor_id, actor_role, action, entity_type, entity_id, patient_id, outcome, summary, request_id, "
            "source_ip, user_agent")  # fmt: skip
_TYPES = ("text", "text", "text", "text", "text", "uuid", "text", "jsonb", "text", "text", "text")
_SEAL: tuple[bytes, bytes] | None = None  # (key XOR ipad, key XOR opad) for this process, set by use_key


def _canonical(row: str, nonce: str = "n") -> str:
    """The sealed text of a row (``row``: an alias with the audit columns and the nonce column ``nonce``)."""
    cols = ", ".join(f"{row}.{c.strip()}" for c in _COLUMNS.split(","))
    return f"jsonb_build_array({row}.{nonce}, {cols})::text"


def seal_key(secret_key: str) -> bytes:
    """The audit seal's key, derived from LABPULSE_SECRET_KEY (which lives in the environment, never in the
    database)."""
    return hmac.new(secret_key.encode(), b"labpulse.audit-seal", hashlib.sha256).digest()


def use_key(key: bytes | None) -> None:
    """Seal every audit row this process writes from now on with ``key`` (the composition root calls it)."""
    global _SEAL
    if key is None:
        _SEAL = None
        return
    block = key.ljust(64, b"\0")
    _SEAL = (bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block))


def seal_of(key: bytes, canonical: str) -> bytes:
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).digest()


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
    """Append one audit row in the caller's transaction and return its id. ``summary`` must hold no PHI."""
    stmt = Statement()
    stage(
        stmt,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        patient_id=patient_id,
        outcome=outcome,
        summary=summary,
        meta=meta,
    )
    audit_id: int = await conn.fetchval(stmt.sql("SELECT id FROM audit"), *stmt.args)
    return audit_id


async def verify(conn: asyncpg.Connection, *, batch: int = 5000, key: bytes | None = None) -> VerifyReport:
    """Walk every chain in order. Stops at the first broken link and says which chain, where and why. With the
    seal ``key``, also check that every row written since sealing began carries a seal only the key could make
    (a row forged with the database's credentials alone has none that matches).

    ``head_hash`` on success is one digest over all chain heads: record it elsewhere (a ticket, a notary) to
    also detect a rewrite of the whole database, which no check inside the database can.
    """
    rows_total = 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        heads = await conn.fetch("SELECT chain, last_seq, last_hash FROM audit_head ORDER BY chain")
        if len(heads) != 8:
            return VerifyReport(False, 0, 0, "", f"expected 8 chain heads, found {len(heads)}")
        for head in heads:
            problem = await _verify_chain(conn, head, batch)
            if problem is not None:
                return VerifyReport(False, rows_total, head["last_seq"], bytes(head["last_hash"]).hex(), *problem)
            rows_total += head["last_seq"]
        unchained = await conn.fetchval(
            "SELECT min(a.id) FROM audit_log a LEFT JOIN audit_chain c ON c.audit_id = a.id WHERE c.audit_id IS NULL"
        )
        if unchained is not None:
            return VerifyReport(
                False, rows_total, 0, "", f"audit id {unchained} is not in any chain (written behind the triggers)"
            )
        if key is not None and (forged := await _unsealed(conn, key, batch)) is not None:
            return VerifyReport(False, rows_total, 0, "", forged)
    digest = hashlib.sha256(b"".join(bytes(h["last_hash"]) for h in heads)).hexdigest()
    return VerifyReport(True, rows_total, sum(h["last_seq"] for h in heads), digest)


async def _unsealed(conn: asyncpg.Connection, key: bytes, batch: int) -> str | None:
    """The first row since sealing began whose seal is missing or wrong, said as a problem; None if all hold."""
    after = int(await conn.fetchval("SELECT first_id FROM audit_seal_start")) - 1
    while True:
        rows = await conn.fetch(
            f"""SELECT a.id, a.seal, {_canonical("a", "seal_nonce")} AS canonical
                FROM audit_log a WHERE a.id > $1 ORDER BY a.id LIMIT $2""",
            after,
            batch,
        )
        for r in rows:
            if r["seal"] is None:
                return f"audit id {r['id']} carries no seal (written without the application's key)"
            if not hmac.compare_digest(bytes(r["seal"]), seal_of(key, r["canonical"])):
                return f"audit id {r['id']} has a seal that does not match (forged, or altered after it was written)"
        if len(rows) < batch:
            return None
        after = rows[-1]["id"]


async def _verify_chain(conn: asyncpg.Connection, head: asyncpg.Record, batch: int) -> tuple[str, int] | None:
    chain = head["chain"]
    prev_hash = GENESIS
    expected = 1
    while True:
        rows = await conn.fetch(
            f"""SELECT c.seq, c.audit_id, c.prev_hash, c.hash, a.id IS NOT NULL AS present, {_CANONICAL} AS canonical
                FROM audit_chain c LEFT JOIN audit_log a ON a.id = c.audit_id
                WHERE c.chain = $1 AND c.seq >= $2 ORDER BY c.seq LIMIT $3""",
            chain,
            expected,
            batch,
        )
        if not rows:
            break
        for r in rows:
            seq, where = r["seq"], f"chain {chain} row {r['seq']} (audit id {r['audit_id']})"
            if seq != expected:
                return f"chain {chain} row {expected} is missing (deleted)", expected
            if not r["present"]:
                return f"{where} was deleted", seq
            if bytes(r["prev_hash"]) != prev_hash:
                return f"{where} does not link to the row before it", seq
            digest = hashlib.sha256(prev_hash + r["canonical"].encode("utf-8")).digest()
            if digest != bytes(r["hash"]):
                return f"{where} was altered after it was written", seq
            prev_hash = digest
            expected += 1
    count = expected - 1
    if head["last_seq"] != count or bytes(head["last_hash"]) != prev_hash:
        return (
            f"chain {chain}: the head says {head['last_seq']} rows but the chain ends at {count} (tail deleted)",
            count + 1,
        )
    return None


SEARCH_COLUMNS = (
    "id", "at", "actor_id", "actor_role", "action", "entity_type", "entity_id", "patient_id", "outcome", "summary",
    "request_id", "source_ip", "user_agent",
)  # fmt: skip


async def search(
    conn: asyncpg.Connection,
    *,
    actor: Actor,
    actor_id: str | None = None,
    patient_id: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
    meta: RequestMeta | None = None,
    merged_ids: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Audit rows matching every filter given, newest first. The search itself is audited (filters included).
    ``merged_ids``: records merged into ``patient_id``, whose rows are that patient's too."""
    rows = await conn.fetch(
        f"""SELECT {", ".join(SEARCH_COLUMNS)} FROM audit_log
            WHERE ($1::text IS NULL OR actor_id = $1)
              AND ($2::uuid IS NULL OR patient_id = $2 OR patient_id = ANY($8::uuid[]))
              AND ($3::text IS NULL OR action LIKE $3 || '%') AND ($4::text IS NULL OR outcome LIKE $4 || '%')
              AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6)
            ORDER BY id DESC LIMIT $7""",
        actor_id,
        patient_id,
        action,
        outcome,
        since,
        until,
        limit,
        merged_ids or [],
    )
    filters = {"actor_id": actor_id, "patient_id": patient_id, "action": action, "outcome": outcome}
    async with conn.transaction():
        await append(
            conn,
            actor=actor,
            action="audit.search",
            entity_type="audit_log",
            summary={**{k: v for k, v in filters.items() if v}, "rows": len(rows)},
            meta=meta,
        )
    return [
        {**dict(r), "at": r["at"].isoformat(), "patient_id": str(r["patient_id"]) if r["patient_id"] else None}
        for r in rows
    ]


def patients_read_sql(actor_id: str) -> str:
    """A scalar subquery: how many distinct patients the actor (``actor_id``, a placeholder) read successfully in
    the last hour, for a statement another module builds (the bulk-access alert rule)."""
    return f"""SELECT count(DISTINCT patient_id) FROM audit_log
               WHERE actor_id = {actor_id} AND action = 'patient.read' AND outcome = 'ok'
                 AND at > now() - interval '1 hour'"""


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One audit row about a patient, with the staff member's name when a staff member acted."""

    at: datetime
    actor_id: str
    actor_role: str
    action: str
    outcome: str
    display_name: str | None


async def patient_log(conn: asyncpg.Connection, patient_id: str, limit: int) -> list[LogEntry]:
    """Who read or changed this patient's record, newest first."""
    rows = await conn.fetch(
        f"""SELECT a.at, a.actor_id, a.actor_role, a.action, a.outcome, s.display_name
            FROM audit_log a LEFT JOIN ({staff_store.names_sql()}) s ON a.actor_id = 'staff:' || s.id::text
            WHERE a.patient_id = $1 ORDER BY a.id DESC LIMIT $2""",
        patient_id,
        limit,
    )
    return [LogEntry(**dict(r)) for r in rows]


@dataclass(frozen=True, slots=True)
class Step:
    """One audited step of an entity: what, when, and its PHI-free summary."""

    entity_id: str
    at: datetime
    summary: dict[str, Any]


async def steps(conn: asyncpg.Connection, *, action: str, entity_type: str, entity_ids: list[str]) -> list[Step]:
    """The audited ``action`` steps of these entities, oldest first (a critical value's calls, say)."""
    rows = await conn.fetch(
        """SELECT entity_id, at, summary FROM audit_log
           WHERE action = $1 AND entity_type = $2 AND entity_id = ANY($3::text[]) ORDER BY at, id""",
        action,
        entity_type,
        entity_ids,
    )
    return [Step(r["entity_id"], r["at"], json.loads(r["summary"]) if isinstance(r["summary"], str)
                 else dict(r["summary"] or {})) for r in rows]  # fmt: skip
