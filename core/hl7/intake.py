"""Apply inbound HL7 messages: store each one raw (encrypted) with its outcome, once per sender and control id,
attach the results of those we can apply to their sample, and keep the others for review.

ACK codes: AA stored and applied; AE understood but not applicable (unknown barcode, a sample that cannot take
results, a message type we do not take); AR unreadable. A repeated control id from the same sender is answered
with the first answer and changes nothing.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg

from core import audit, critical, results
from core.db.statement import Statement
from core.errors import DomainError, InvalidInput, NotFound
from core.hl7.parse import HL7ParseError, Observation, ParsedMessage, Value, normalize, parse_message, split_batch
from core.identity import Actor, Role
from core.ids import is_uuid
from core.labtime import LAB_TZ
from core.samples import service as samples
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


async def receive(
    conn: asyncpg.Connection, vault: Vault, raw: bytes, *, ranges: results.RangeCache | None = None
) -> list[Outcome]:
    """Handle one MLLP block (a message or a batch); one outcome per message, in order. A long-running caller
    passes a ``RangeCache`` so reference ranges are not read for every message."""
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
        outcomes.append(await _apply(conn, vault, parsed, text, ranges))
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


@dataclass(frozen=True, slots=True)
class _Decision:
    code: str
    outcome: str
    detail: str | None
    sample_id: str | None
    state: SampleState | None = None
    patient_id: str | None = None
    sex: str = "any"
    dob_enc: bytes | None = None

    @property
    def applies(self) -> bool:
        return self.code == "AA"


_SAMPLE_SQL = """SELECT s.id::text, s.state, p.id::text AS patient_id, p.sex, p.dob_enc
                 FROM samples s JOIN patients p ON p.id = s.patient_id"""


_MAX_MARKS = 8


@functools.cache
def _sample_sql(candidates: int) -> str:
    """The tube named by the first of ``candidates`` barcodes ($1, $2, …) that exists. One placeholder per
    barcode, not one array: with an array PostgreSQL cannot know its length when it plans the statement once
    for all calls, so it planned this join again for every message; with placeholders the one generic plan is
    as good as a fresh one and is kept."""
    if candidates == 1:
        return f"{_SAMPLE_SQL} WHERE s.barcode = $1"
    if candidates > _MAX_MARKS:  # a message naming that many specimens is rare: not worth a statement of its own
        return f"{_SAMPLE_SQL} WHERE s.barcode = ANY($1::text[]) ORDER BY array_position($1, s.barcode) LIMIT 1"
    marks = ", ".join(f"${n}" for n in range(1, candidates + 1))
    return (
        f"{_SAMPLE_SQL} WHERE s.barcode IN ({marks}) ORDER BY array_position(ARRAY[{marks}]::text[], s.barcode) LIMIT 1"
    )


async def _decide(conn: asyncpg.Connection, parsed: ParsedMessage) -> _Decision:
    """What to do with a readable message: one query, for the tube its specimen ids name."""
    if parsed.message_type.split("^")[:2] != ["ORU", "R01"]:
        return _Decision("AE", "rejected:message_type", f"Only ORU^R01 is taken here, not {parsed.message_type}.", None)
    codes = []
    for candidate in parsed.specimen_ids:
        try:
            codes.append(normalize_barcode(candidate))
        except InvalidInput:  # not shaped like one of our barcodes: try the next field
            continue
    sample = (
        await conn.fetchrow(_sample_sql(len(codes)), *(codes if len(codes) <= _MAX_MARKS else [codes]))
        if codes
        else None
    )
    if sample is None:
        ids = ", ".join(parsed.specimen_ids) or "none"
        return _Decision("AE", "rejected:unknown_barcode", f"No sample matches the specimen ids ({ids}).", None)
    if SampleState(sample["state"]) not in ACCEPTS_RESULTS:
        why = f"The sample is '{sample['state']}' and cannot take results yet."
        return _Decision("AE", "rejected:sample_state", why, sample["id"])
    sex = sample["sex"] if sample["sex"] in ("female", "male") else "any"
    return _Decision(
        "AA", "stored", None, sample["id"], SampleState(sample["state"]), sample["patient_id"], sex, sample["dob_enc"]
    )


@dataclass(frozen=True, slots=True)
class _Judged:
    """An observation with what the lab adds: a flag computed against our ranges when the analyzer sent none,
    the reference range when it sent none, and whether the value is critical."""

    obs: Observation
    flag_source: str
    critical: bool


def _sane(number: Decimal) -> bool:
    """A number a result column can hold: finite, under a quadrillion, at most 15 decimal places."""
    # adjusted() and the exponent read the number's form; no arithmetic, which would itself overflow on 1e999999999
    return number.is_finite() and number.adjusted() < 15 and number.as_tuple().exponent >= -15  # type: ignore[operator]


async def _judge(
    conn: asyncpg.Connection,
    vault: Vault,
    d: _Decision,
    observations: list[Observation],
    cache: results.RangeCache | None = None,
) -> list[_Judged]:
    dob = vault.open("patients", "dob", d.patient_id, d.dob_enc) if d.patient_id and d.dob_enc else None
    age = results.age_years(date.fromisoformat(dob) if dob else None, datetime.now(LAB_TZ).date())
    codes = [o.code for o in observations if o.code]
    ranges = await (cache.ranges_for if cache else results.ranges_for)(conn, codes, d.sex, age)
    judged = []
    for o in observations:
        rng = ranges.get(o.code)
        value = o.value
        if value is not None and value.number is not None and not _sane(value.number):
            value = Value("text", text=str(value.number))  # NaN, infinity, 1e999…: kept as the text sent, not a number
        number = value.number if value is not None and value.kind == "numeric" else None
        flag, source = o.flag, "analyzer" if o.flag else "none"
        if flag is None and number is not None and rng is not None:
            flag, source = results.flag_for(number, value.comparator if value else None, rng), "computed"
        critical = flag in ("LL", "HH") or results.is_critical(number, rng)
        o = Observation(  # what dataclasses.replace would build, at a fraction of its cost
            set_id=o.set_id, code=o.code, name=o.name, code_system=o.code_system, value=value, unit=o.unit,
            reference_range=o.reference_range or (rng.text() if rng else None), flag=flag, status=o.status,
            observed_at=o.observed_at, notes=o.notes,
        )  # fmt: skip
        judged.append(_Judged(o, source, critical))
    return judged


_RESULT_COLUMNS = (
    ("flag_source", "text"), ("critical", "boolean"), ("set_id", "text"), ("code", "text"), ("name", "text"),
    ("code_system", "text"), ("value_kind", "text"), ("value_num", "numeric"), ("comparator", "text"),
    ("value_text", "text"), ("value_code", "text"), ("unit", "text"), ("reference_range", "text"), ("flag", "text"),
    ("status", "text"), ("observed_at", "text"), ("notes", "text[]"),
)  # fmt: skip
_RESULT_NAMES = ", ".join(name for name, _ in _RESULT_COLUMNS)
_RESULT_RECORD = ", ".join(f"{name} {kind}" for name, kind in _RESULT_COLUMNS)


def _stage_results(stmt: Statement, sample_id: str, message_cte: str, judged: list[_Judged]) -> None:
    """All of a message's results in one INSERT, written only if ``message_cte`` returns the message's row. The
    rows travel as one JSON parameter (numbers as their exact decimal text); 17 typed arrays cost the driver more."""
    rows = []
    for j in judged:
        o, v = j.obs, j.obs.value
        rows.append({
            "flag_source": j.flag_source, "critical": j.critical, "set_id": o.set_id or None,
            "code": o.code or o.name or "unknown", "name": o.name or o.code or "unknown",
            "code_system": o.code_system or None, "value_kind": v.kind if v else None,
            "value_num": str(v.number) if v and v.number is not None else None,
            "comparator": v.comparator if v else None, "value_text": v.text if v else None,
            "value_code": v.code if v else None, "unit": o.unit, "reference_range": o.reference_range,
            "flag": o.flag, "status": o.status, "observed_at": o.observed_at, "notes": list(o.notes),
        })  # fmt: skip
    stmt.cte(
        "stored_results",
        f"""INSERT INTO results (sample_id, message_id, {_RESULT_NAMES})
            SELECT {stmt.bind(sample_id)}::uuid, m.id, {_RESULT_NAMES}
            FROM {message_cte} AS m, jsonb_to_recordset({stmt.bind(json.dumps(rows))}::jsonb) AS r({_RESULT_RECORD})
            RETURNING id, sample_id, code, status, critical""",
    )


async def _apply(
    conn: asyncpg.Connection, vault: Vault, parsed: ParsedMessage, text: str, ranges: results.RangeCache | None
) -> Outcome:
    """Two round trips: find the tube; then the message row, its results, critical alerts and audit rows in one
    statement, all skipped if this sender's control id was seen before (then the first answer is given again)."""
    decision = await _decide(conn, parsed)
    mid = str(uuid.uuid4())
    count = len(parsed.observations) if decision.applies else 0
    stmt = Statement()
    stmt.cte(
        "message",
        f"""INSERT INTO hl7_messages (id, sender, control_id, message_type, raw_enc, ack_code, outcome, detail,
                                      sample_id, results)
            VALUES ({", ".join(stmt.bind(v) for v in (
                mid, parsed.sender, parsed.control_id, parsed.message_type,
                vault.seal("hl7_messages", "raw", mid, text), decision.code, decision.outcome, decision.detail,
                decision.sample_id, count,
            ))})
            ON CONFLICT (sender, control_id) DO NOTHING RETURNING id""",
    )  # fmt: skip
    final = "SELECT id::text AS id, false AS complete FROM message"
    if decision.applies and decision.sample_id and parsed.observations:
        judged = await _judge(conn, vault, decision, parsed.observations, ranges)
        _stage_results(stmt, decision.sample_id, "message", judged)
        if any(j.critical for j in judged):
            critical.stage_alerts(stmt, "stored_results", datetime.now(UTC))
        if decision.state in (SampleState.RECEIVED_AT_LAB, SampleState.PROCESSING):
            final = f"SELECT id::text AS id, ({results.complete_sql(stmt, decision.sample_id, 'stored_results')})"
            final += " AS complete FROM message"
    audit.stage(
        stmt,
        actor=ANALYZER,
        action="hl7.receive",
        entity_type="hl7_message",
        entity_id=mid,
        outcome=decision.outcome,
        summary={"sender": parsed.sender, "control_id": parsed.control_id, "results": count},
        only_if="message",
    )
    # One statement, one commit: the message, its results, any critical alerts (each audited), and whether the
    # tube now has every result it needs.
    row = await conn.fetchrow(stmt.sql(final), *stmt.args)
    inserted = row["id"] if row else None
    if row is not None and row["complete"]:
        await _complete(conn, decision)
    if inserted is None:
        first = await conn.fetchrow(
            "SELECT id::text, ack_code, outcome FROM hl7_messages WHERE sender = $1 AND control_id = $2",
            parsed.sender,
            parsed.control_id,
        )
        text_ = f"Already received: {first['outcome']}"
        return Outcome(first["ack_code"], parsed.control_id, text_, True, first["id"], parsed.sender)
    return Outcome(decision.code, parsed.control_id, decision.detail or "Stored", message_id=mid, sender=parsed.sender)


async def _complete(conn: asyncpg.Connection, d: _Decision) -> None:
    """Every ordered analyte has a final result: the tube moves on to 'completed' (through 'processing' if the
    analyzer skipped the scan); the patient sees it live. A race lost to a person scanning is fine."""
    tube = await conn.fetchrow("SELECT barcode, centre_id FROM samples WHERE id = $1", d.sample_id)
    steps = [SampleState.PROCESSING, SampleState.COMPLETED] if d.state is SampleState.RECEIVED_AT_LAB else [
        SampleState.COMPLETED
    ]  # fmt: skip
    for step in steps:
        try:
            await samples.transition(
                conn, barcode=tube["barcode"], to_state=step, actor=ANALYZER, centre_id=tube["centre_id"]
            )
        except DomainError:
            return


async def complete_ready(conn: asyncpg.Connection, *, limit: int = 500) -> int:
    """Move on every tube in the lab that already has all its results: the case two messages for one tube,
    stored at the same moment, each judged incomplete from their own snapshot. The worker runs this every minute;
    returns how many tubes completed."""
    rows = await conn.fetch(
        """SELECT s.id::text, s.state FROM samples s
           WHERE s.state IN ('received_at_lab', 'processing')
             AND EXISTS (SELECT 1 FROM results r WHERE r.sample_id = s.id)
             AND EXISTS (SELECT 1 FROM order_tests ot
                         JOIN test_catalogue tc ON tc.code = ot.test_code AND tc.sample_type = s.sample_type
                         JOIN analytes a ON a.test_code = tc.code WHERE ot.order_id = s.order_id)
             AND NOT EXISTS (
                 SELECT 1 FROM order_tests ot
                 JOIN test_catalogue tc ON tc.code = ot.test_code AND tc.sample_type = s.sample_type
                 JOIN analytes a ON a.test_code = tc.code
                 WHERE ot.order_id = s.order_id AND NOT EXISTS (
                     SELECT 1 FROM results r WHERE r.sample_id = s.id AND r.code = a.code
                       AND r.status IN ('final', 'corrected')))
           LIMIT $1""",
        limit,
    )
    for r in rows:
        await _complete(conn, _Decision("AA", "stored", None, r["id"], SampleState(r["state"])))
    return len(rows)


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
    decision = await _decide(conn, parsed)
    count = len(parsed.observations) if decision.applies else 0
    stmt = Statement()
    reviewed = decision.applies
    stmt.cte(
        "message",
        f"""UPDATE hl7_messages SET ack_code = {stmt.bind(decision.code)}, outcome = {stmt.bind(decision.outcome)},
                   detail = {stmt.bind(decision.detail)}, sample_id = {stmt.bind(decision.sample_id)}::uuid,
                   results = {stmt.bind(count)}, reviewed_at = CASE WHEN {stmt.bind(reviewed)} THEN now() END,
                   reviewed_by = {stmt.bind(actor.id if reviewed else None)}
            WHERE id = {stmt.bind(row["id"])}::uuid AND ack_code <> 'AA' RETURNING id""",
    )
    if decision.applies and decision.sample_id and parsed.observations:
        _stage_results(stmt, decision.sample_id, "message", await _judge(conn, vault, decision, parsed.observations))
    audit.stage(
        stmt, actor=actor, action="hl7.reapply", entity_type="hl7_message", entity_id=row["id"],
        outcome=decision.outcome, only_if="message",
    )  # fmt: skip
    if await conn.fetchval(stmt.sql("SELECT id FROM message"), *stmt.args) is None:
        raise InvalidInput("message_id", "This message was applied already.")
    code, detail = decision.code, decision.detail
    return Outcome(code, parsed.control_id, detail or "Stored", message_id=row["id"], sender=parsed.sender)
