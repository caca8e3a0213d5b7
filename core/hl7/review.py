"""The review queue of inbound HL7: messages not applied (AE/AR) or applied but wanting a person's look, read as
they came (decrypted for the roles that review, audited), applied again once their cause is fixed, or set aside.
A re-applied result message goes through the intake's own decisions (``intake.decide_all``, ``judge``,
``complete_tube``); a message about people or orders through ``lis.apply``."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from core import audit, critical, results
from core.db.statement import Statement
from core.errors import InvalidInput, NotFound
from core.hl7 import intake, judging, lis, store
from core.hl7.intake import ERRORS, Outcome
from core.hl7.parse import HL7ParseError, ParsedMessage, normalize, parse_message, segments
from core.identity import Actor, RequestMeta
from core.ids import is_uuid
from core.samples.model import SampleState
from core.vault import Vault


async def review_queue(conn: asyncpg.Connection, *, limit: int = 200) -> list[dict[str, object]]:
    """Messages not applied (AE/AR), and applied ones that want a look (a doctor first seen), not yet reviewed,
    oldest first. No PHI: ids, sender, outcome, reason."""
    return await store.review_queue(conn, limit=limit)


async def reapply(conn: asyncpg.Connection, vault: Vault, message_id: str, *, actor: Actor) -> Outcome:
    """Apply a held message again (say, once the missing tube is registered). Its results attach once."""
    row = await store.held(conn, message_id) if is_uuid(message_id) else None
    if row is None:
        raise NotFound("There is no such held message.")
    if row.ack_code == "AA":
        raise InvalidInput("message_id", "This message was applied already.")
    text = vault.open("hl7_messages", "raw", row.id, row.raw_enc) or ""
    try:
        parsed = parse_message(normalize(text))
    except HL7ParseError as exc:
        raise InvalidInput("message_id", f"This message cannot be read ({exc}); ask the sender for a new one.") from exc
    if lis.takes(parsed.header):
        return await _reapply_lis(conn, vault, row.id, parsed, normalize(text), actor=actor)
    decision = (await intake.decide_all(conn, [parsed]))[0]
    stmt = Statement()
    store.stage_reapplied(
        stmt, row.id, ack_code=decision.code, outcome=decision.outcome, detail=decision.detail,
        sample_id=decision.sample_id, results=len(parsed.observations) if decision.applies else 0,
        reviewer=actor.id if decision.applies else None,
    )  # fmt: skip
    stored: list[dict[str, object]] = []
    if decision.applies and decision.sample_id and parsed.observations:
        judged = await intake.judge(conn, vault, decision, parsed.observations)
        stored = judging.result_rows(row.id, decision.sample_id, judged)
        results.stage_insert(stmt, "message", stored)
        if any(r["critical"] for r in stored):  # a held critical value raises its alert when it is applied
            critical.stage_alerts(stmt, "stored_results", datetime.now(UTC))
    audit.stage(
        stmt, actor=actor, action="hl7.reapply", entity_type="hl7_message", entity_id=row.id,
        outcome=decision.outcome, only_if="message",
    )  # fmt: skip
    completing = bool(stored) and decision.state in (SampleState.RECEIVED_AT_LAB, SampleState.PROCESSING)
    final = "SELECT (SELECT id FROM message) AS id"
    if completing and decision.sample_id:
        final += f", ARRAY({results.complete_samples_sql(stmt, [decision.sample_id], 'stored_results')}) AS complete"
    applied = await conn.fetchrow(stmt.sql(final), *stmt.args)
    if applied["id"] is None:
        raise InvalidInput("message_id", "This message was applied already.")
    if completing and applied["complete"]:
        await intake.complete_tube(conn, decision)
    code, detail = decision.code, decision.detail
    return Outcome(code, parsed.control_id, detail or "Stored", message_id=row.id, sender=parsed.sender,
                   header=parsed.header, error=ERRORS.get(decision.outcome))  # fmt: skip


async def _reapply_lis(
    conn: asyncpg.Connection, vault: Vault, message_id: str, parsed: ParsedMessage, text: str, *, actor: Actor
) -> Outcome:
    """A held ADT, ORM or OML message applied again (say, once its test code is mapped), audited; what cannot be
    applied yet is rolled back and stays held with its new reason."""
    try:
        async with conn.transaction():
            done = await _apply_held(conn, vault, message_id, parsed, text)
            await _record_reapply(conn, message_id, done, actor)
    except lis.Refused as refused:
        done = refused.result
        async with conn.transaction():
            await _record_reapply(conn, message_id, done, actor)
    return Outcome(done.code, parsed.control_id, done.detail or "Applied", message_id=message_id,
                   sender=parsed.sender, header=parsed.header, error=done.error)  # fmt: skip


async def _apply_held(
    conn: asyncpg.Connection, vault: Vault, message_id: str, parsed: ParsedMessage, text: str
) -> lis.Result:
    locked = await store.held(conn, message_id, lock=True)  # two operators at once: one applies it
    if locked is not None and locked.ack_code == "AA":
        raise InvalidInput("message_id", "This message was applied already.")
    return await lis.apply(conn, vault, parsed.header, segments(text))


async def _record_reapply(conn: asyncpg.Connection, message_id: str, done: lis.Result, actor: Actor) -> None:
    if not await store.set_outcome(
        conn, message_id, ack_code=done.code, outcome=done.outcome, detail=done.detail,
        needs_review=done.needs_review, reviewer=actor.id if done.code == "AA" else None,
    ):  # fmt: skip
        raise InvalidInput("message_id", "This message was applied already.")
    await audit.append(
        conn, actor=actor, action="hl7.reapply", entity_type="hl7_message", entity_id=message_id, outcome=done.outcome
    )


async def mark_reviewed(conn: asyncpg.Connection, message_id: str, *, actor: Actor) -> None:
    """A person has looked at a message in the review queue (an applied one that named a new doctor, say)."""
    async with conn.transaction():
        if not await store.mark_reviewed(conn, message_id if is_uuid(message_id) else None, actor.id):
            raise NotFound("There is no such message waiting for review.")
        await audit.append(conn, actor=actor, action="hl7.reviewed", entity_type="hl7_message", entity_id=message_id)


async def read_raw(
    conn: asyncpg.Connection, vault: Vault, message_id: str, *, actor: Actor, meta: RequestMeta | None = None
) -> str:
    """A stored message as it came (decrypted), for a person working the review queue; every read is audited,
    since a message names its patient."""
    row = await store.held(conn, message_id) if is_uuid(message_id) else None
    if row is None:
        raise NotFound("There is no such message.")
    async with conn.transaction():
        await audit.append(conn, actor=actor, action="hl7.read_raw", entity_type="hl7_message", entity_id=row.id,
                           meta=meta)  # fmt: skip
    return vault.open("hl7_messages", "raw", row.id, row.raw_enc) or ""
