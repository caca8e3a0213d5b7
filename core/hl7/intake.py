"""Apply inbound HL7 messages: store each one raw (encrypted) with its outcome, once per sender and control id,
attach the results of those we can apply to their sample, and keep the others for review.

ACK codes: AA stored and applied; AE understood but not applicable (unknown barcode, a sample that cannot take
results, a message type we do not take); AR unreadable. A repeated control id from the same sender is answered
with the first answer and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from core import audit
from core.errors import InvalidInput, NotFound
from core.hl7.parse import HL7ParseError, Observation, ParsedMessage, normalize, parse_message, split_batch
from core.identity import Actor, Role
from core.ids import is_uuid
from core.samples.model import SampleState, normalize_barcode
from core.vault import Vault

ANALYZER = Actor("hl7:intake", Role.SYSTEM)
# A sample takes results once it is in the lab, and until its report is out (a correction comes after, too).
ACCEPTS_RESULTS = frozenset(
    {SampleState.RECEIVED_AT_LAB, SampleState.PROCESSING, SampleState.COMPLETED, SampleState.REPORTED}
)


@dataclass(frozen=True, slots=True)
class Outcome:
    ack_code: str  # AA, AE or AR
    control_id: str
    text: str
    duplicate: bool = False
    message_id: str | None = None
    sender: str = ""


async def receive(conn: asyncpg.Connection, vault: Vault, raw: bytes) -> list[Outcome]:
    """Handle one MLLP block (a message or a batch); one outcome per message, in order."""
    try:
        texts = split_batch(normalize(raw))
    except HL7ParseError as exc:
        return [await _store_unreadable(conn, vault, raw, str(exc))]
    outcomes = []
    for text in texts:
        try:
            parsed = parse_message(text)
        except HL7ParseError as exc:
            outcomes.append(await _store_unreadable(conn, vault, text.encode(), str(exc)))
            continue
        outcomes.append(await _apply(conn, vault, parsed, text))
    return outcomes


async def _store_unreadable(conn: asyncpg.Connection, vault: Vault, raw: bytes, why: str) -> Outcome:
    mid = str(uuid.uuid4())
    why = "".join(ch if ch.isprintable() else "?" for ch in why)
    await conn.execute(
        """INSERT INTO hl7_messages (id, sender, control_id, raw_enc, ack_code, outcome, detail)
           VALUES ($1::uuid, 'unknown', $1::text, $2, 'AR', 'unreadable', $3)""",
        mid,
        vault.seal("hl7_messages", "raw", mid, raw.decode("utf-8", errors="replace")),
        why[:500],
    )
    return Outcome("AR", _control_id_guess(raw), f"Message could not be read: {why}", message_id=mid)


def _control_id_guess(raw: bytes) -> str:
    """Best effort, for the ACK of a message we could not parse: MSH-10 if a MSH line is there at all."""
    for line in normalize(raw).split("\r"):
        if line.startswith("MSH") and len(line) > 4:
            fields = line.split(line[3])
            if len(fields) > 9:
                return fields[9][:100]
    return ""


async def _apply(conn: asyncpg.Connection, vault: Vault, parsed: ParsedMessage, text: str) -> Outcome:
    async with conn.transaction():
        mid = str(uuid.uuid4())
        inserted = await conn.fetchval(
            """INSERT INTO hl7_messages (id, sender, control_id, message_type, raw_enc, ack_code, outcome)
               VALUES ($1, $2, $3, $4, $5, 'AR', 'pending')
               ON CONFLICT (sender, control_id) DO NOTHING RETURNING id""",
            mid,
            parsed.sender,
            parsed.control_id,
            parsed.message_type,
            vault.seal("hl7_messages", "raw", mid, text),
        )
        if inserted is None:
            first = await conn.fetchrow(
                "SELECT id::text, ack_code, outcome FROM hl7_messages WHERE sender = $1 AND control_id = $2",
                parsed.sender,
                parsed.control_id,
            )
            return Outcome(
                first["ack_code"], parsed.control_id, f"Already received: {first['outcome']}", True, first["id"]
            )
        code, outcome, detail, sample_id, count = await _results(conn, parsed, mid)
        await conn.execute(
            """UPDATE hl7_messages SET ack_code = $2, outcome = $3, detail = $4, sample_id = $5, results = $6
               WHERE id = $1""",
            mid,
            code,
            outcome,
            detail,
            sample_id,
            count,
        )
        await audit.append(
            conn,
            actor=ANALYZER,
            action="hl7.receive",
            entity_type="hl7_message",
            entity_id=mid,
            outcome=outcome,
            summary={"sender": parsed.sender, "control_id": parsed.control_id, "results": count},
        )
    return Outcome(code, parsed.control_id, detail or "Stored", message_id=mid, sender=parsed.sender)


async def _results(
    conn: asyncpg.Connection, parsed: ParsedMessage, mid: str
) -> tuple[str, str, str | None, str | None, int]:
    """(ack code, outcome, detail, sample id, results stored) for one parsed message."""
    if parsed.message_type.split("^")[:2] != ["ORU", "R01"]:
        return "AE", "rejected:message_type", f"Only ORU^R01 is taken here, not {parsed.message_type}.", None, 0
    sample = None
    for candidate in parsed.specimen_ids:
        try:
            code = normalize_barcode(candidate)
        except InvalidInput:  # not shaped like one of our barcodes: try the next field
            continue
        sample = await conn.fetchrow("SELECT id::text, state FROM samples WHERE barcode = $1", code)
        if sample is not None:
            break
    if sample is None:
        ids = ", ".join(parsed.specimen_ids) or "none"
        return "AE", "rejected:unknown_barcode", f"No sample matches the specimen ids ({ids}).", None, 0
    if SampleState(sample["state"]) not in ACCEPTS_RESULTS:
        why = f"The sample is '{sample['state']}' and cannot take results yet."
        return "AE", "rejected:sample_state", why, sample["id"], 0
    for obs in parsed.observations:
        await _insert_result(conn, sample["id"], mid, obs)
    return "AA", "stored", None, sample["id"], len(parsed.observations)


async def _insert_result(conn: asyncpg.Connection, sample_id: str, mid: str, obs: Observation) -> None:
    v = obs.value
    await conn.execute(
        """INSERT INTO results (sample_id, message_id, set_id, code, name, code_system, value_kind, value_num,
                                comparator, value_text, value_code, unit, reference_range, flag, status,
                                observed_at, notes)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)""",
        sample_id,
        mid,
        obs.set_id or None,
        obs.code or obs.name or "unknown",
        obs.name or obs.code or "unknown",
        obs.code_system or None,
        v.kind if v else None,
        v.number if v else None,
        v.comparator if v else None,
        v.text if v else None,
        v.code if v else None,
        obs.unit,
        obs.reference_range,
        obs.flag,
        obs.status,
        obs.observed_at,
        obs.notes,
    )


async def review_queue(conn: asyncpg.Connection, *, limit: int = 200) -> list[dict[str, object]]:
    """Messages not applied (AE/AR), not yet reviewed, oldest first. No PHI: ids, sender, outcome, reason."""
    rows = await conn.fetch(
        """SELECT id::text, sender, control_id, message_type, received_at, ack_code, outcome, detail
           FROM hl7_messages WHERE ack_code <> 'AA' AND reviewed_at IS NULL ORDER BY received_at LIMIT $1""",
        limit,
    )
    return [{**dict(r), "received_at": r["received_at"].isoformat()} for r in rows]


async def reapply(conn: asyncpg.Connection, vault: Vault, message_id: str, *, actor: Actor) -> Outcome:
    """Apply a held message again (say, once the missing tube is registered). Its results attach once."""
    row = (
        await conn.fetchrow("SELECT id::text, raw_enc, ack_code FROM hl7_messages WHERE id = $1", message_id)
        if is_uuid(message_id)
        else None
    )
    if row is None:
        raise NotFound("There is no such held message.")
    if row["ack_code"] == "AA":
        raise InvalidInput("message_id", "This message was applied already.")
    text = vault.open("hl7_messages", "raw", row["id"], row["raw_enc"]) or ""
    try:
        parsed = parse_message(normalize(text))
    except HL7ParseError as exc:
        raise InvalidInput("message_id", f"This message cannot be read ({exc}); ask the sender for a new one.") from exc
    async with conn.transaction():
        code, outcome, detail, sample_id, count = await _results(conn, parsed, row["id"])
        await conn.execute(
            """UPDATE hl7_messages SET ack_code = $2, outcome = $3, detail = $4, sample_id = $5, results = $6,
                      reviewed_at = CASE WHEN $2 = 'AA' THEN now() END,
                      reviewed_by = CASE WHEN $2 = 'AA' THEN $7 END
               WHERE id = $1""",
            row["id"],
            code,
            outcome,
            detail,
            sample_id,
            count,
            actor.id,
        )
        await audit.append(
            conn, actor=actor, action="hl7.reapply", entity_type="hl7_message", entity_id=row["id"], outcome=outcome
        )
    return Outcome(code, parsed.control_id, detail or "Stored", message_id=row["id"], sender=parsed.sender)
