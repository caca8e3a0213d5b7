"""Apply inbound HL7 messages: store each one raw (encrypted) with its outcome, once per sender and control id,
attach the results of those we can apply to their sample, and keep the others for review.

ACK codes: AA stored and applied; AE understood but not applicable (an unknown barcode: HL7 error 204; a sample
that cannot take results: 207); AR refused (unreadable: 100-102; a message type, trigger event, processing id or
version we do not take: 200-203). Each AE and AR says why and where (``ack.AckError``). A repeated control id from
the same sender is answered with the first answer and changes nothing.

Messages are applied in groups (``receive_many``): a group costs one query for its tubes and one statement (one
commit) for its messages, results, critical alerts and audit rows, whatever its size. A lone block is a group of one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from core import audit, critical, results
from core.db.statement import Statement
from core.errors import DomainError, InvalidInput
from core.hl7 import judging, lis, store
from core.hl7.ack import AckError, version_tuple
from core.hl7.parse import (
    Header,
    HL7ParseError,
    Observation,
    ParsedMessage,
    Segments,
    header_of,
    normalize,
    parse_message,
    segments,
    split_batch,
)
from core.identity import Actor, Role
from core.ranges import RangeCache
from core.samples import service as samples
from core.samples import store as samples_store
from core.samples.model import SampleState, normalize_barcode
from core.vault import Vault

log = logging.getLogger("labpulse.hl7")
ANALYZER = Actor("hl7:intake", Role.SYSTEM)
# A sample takes results once it is in the lab, and until its report is out (a correction comes after, too).
ACCEPTS_RESULTS = frozenset(
    {SampleState.RECEIVED_AT_LAB, SampleState.PROCESSING, SampleState.COMPLETED, SampleState.REPORTED}
)


# What we take: each message type with its trigger events, the versions of HL7 v2 and the processing ids.
SUPPORTED = {"ORU": frozenset({"R01"}), **lis.TAKES}
PROCESSING_IDS = frozenset({"P", "T", "D"})
# The HL7 error (table 0357) behind each stored outcome, for the ERR of a first answer given again.
ERRORS = {
    "unreadable": AckError("102"),
    "rejected:message_type": AckError("200", "MSH^1^9"),
    "rejected:trigger_event": AckError("201", "MSH^1^9^1^2"),
    "rejected:processing_id": AckError("202", "MSH^1^11"),
    "rejected:version": AckError("203", "MSH^1^12"),
    "rejected:unknown_barcode": AckError("204", "OBR^1^3"),
    "rejected:sample_state": AckError("207", "OBR^1^3"),
    "rejected:no_results": AckError("100", "OBX^1"),
    "rejected:unusable": AckError("207"),
    "rejected:not_found": AckError("204"),
    "rejected:conflict": AckError("207"),
    "rejected:duplicate": AckError("205"),
    "rejected:domain": AckError("207"),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    ack_code: str  # AA, AE or AR
    control_id: str
    text: str
    duplicate: bool = False
    message_id: str | None = None
    sender: str = ""
    header: Header = field(default_factory=Header)  # what the ACK echoes of the message
    error: AckError | None = None  # why it was not applied, for the ACK's ERR segment


async def receive(
    conn: asyncpg.Connection, vault: Vault, raw: bytes, *, ranges: RangeCache | None = None
) -> list[Outcome]:
    """Handle one MLLP block (a message or a batch); one outcome per message, in order. A long-running caller
    passes a ``RangeCache`` so reference ranges are not read for every message."""
    return (await receive_many(conn, vault, [raw], ranges=ranges))[0]


@dataclass(slots=True)
class _Inbound:
    """One message of a group: its new id, its text, and what we made of it."""

    mid: str
    text: str
    parsed: ParsedMessage | None = None
    unreadable: str | None = None  # why, when it could not be parsed
    unreadable_error: AckError | None = None
    header_guess: Header = field(default_factory=Header)
    decision: _Decision | None = None


async def receive_many(
    conn: asyncpg.Connection, vault: Vault, blocks: list[bytes], *, ranges: RangeCache | None = None
) -> list[list[Outcome]]:
    """Group commit: every result message (ORU) of several MLLP blocks stored in one statement, so one commit (one
    flush to disk) stands for all of them, after one query for their tubes; a caller sends their ACKs after this
    returns. Messages about people and orders (ADT, ORM, OML) are applied one by one, each on its own. Blocks
    holding only such messages go first, so that the results of the other blocks form one run (one read, one
    statement) and can land on a tube an order of the same group brings; within a block (a batch) the messages
    keep their order (a run of results after an order is decided after it). Blocks in one group come from
    different connections, each waiting for its ACK, so no sender's order is changed.
    If a statement fails the exception propagates: what was stored before it stays stored, and the caller applies
    each block on its own (a message stored already is then a repeat, answered with its first answer). A control
    id repeated within the group is a duplicate of its first message.

    What follows the commit never raises (an exception from here on always means nothing was stored): a tube the
    group's results make complete moves on in a transition of its own, and if that fails the worker's sweep
    (``complete_ready``) completes it; a repeat whose first answer cannot be read now is asked to be sent again."""
    plan: list[list[_Inbound]] = []
    for raw in blocks:
        try:
            texts = split_batch(normalize(raw))
        except HL7ParseError as exc:
            text = raw.decode("utf-8", errors="replace")
            plan.append([_unreadable(text, exc, raw)])
            continue
        messages = []
        for text in texts:
            inbound = _Inbound(str(uuid.uuid4()), text)
            try:
                inbound.parsed = parse_message(text)
            except HL7ParseError as exc:
                inbound = _unreadable(text, exc, text)
                inbound.mid = str(uuid.uuid4())
            messages.append(inbound)
        plan.append(messages)
    orders_first = sorted(plan, key=lambda messages: not all(_about_orders(i) for i in messages))  # stable
    everything = [inbound for messages in orders_first for inbound in messages]
    readable = [i for i in everything if i.parsed is not None]
    inserted: set[str] = set()
    complete: list[str] = []
    for about_orders, run in _runs(everything):
        if about_orders:
            for inbound in run:
                if await _apply_lis(conn, vault, inbound):
                    inserted.add(inbound.mid)
            continue
        decided = [i for i in run if i.parsed is not None]
        for inbound, decision in zip(decided, await decide_all(conn, [i.parsed for i in decided if i.parsed]),
                                     strict=True):  # fmt: skip
            inbound.decision = decision
        stored, completing = await _store(conn, vault, run, ranges or RangeCache())
        inserted |= stored
        complete += completing
    try:
        earlier = await _first_answers(conn, [i for i in readable if i.mid not in inserted])
    except Exception as exc:  # noqa: BLE001 - stored is stored: the repeats alone are asked to come again
        log.warning("could not read the first answers of repeated messages: %s", type(exc).__name__)
        earlier = {}
    for sample_id in complete:
        try:
            await complete_tube(
                conn, next(i.decision for i in readable if i.decision and i.decision.sample_id == sample_id)
            )
        except Exception as exc:  # noqa: BLE001 - the worker's minute sweep completes the tube
            log.warning("could not move a completed tube on: %s", type(exc).__name__)
    return [[_outcome(i, inserted, earlier) for i in messages] for messages in plan]


def _unreadable(text: str, exc: HL7ParseError, raw: bytes | str) -> _Inbound:
    error = AckError(exc.code, exc.location)
    return _Inbound(
        str(uuid.uuid4()), text, unreadable=_printable(exc), unreadable_error=error, header_guess=header_of(raw)
    )


def _about_orders(inbound: _Inbound) -> bool:
    return inbound.parsed is not None and lis.takes(inbound.parsed.header)


def _runs(messages: list[_Inbound]) -> list[tuple[bool, list[_Inbound]]]:
    """Consecutive messages of one path: about people and orders (True), or results and the unreadable (False)."""
    runs: list[tuple[bool, list[_Inbound]]] = []
    for inbound in messages:
        about_orders = _about_orders(inbound)
        if runs and runs[-1][0] == about_orders:
            runs[-1][1].append(inbound)
        else:
            runs.append((about_orders, [inbound]))
    return runs


class _Repeat(Exception):
    """This sender's control id is stored already: what was applied for it is rolled back."""


async def _apply_lis(conn: asyncpg.Connection, vault: Vault, inbound: _Inbound) -> bool:
    """One ADT, ORM or OML message: applied, then stored (once per sender and control id) with its outcome and its
    audit row, all or nothing. The usual messages take one statement and no transaction (``lis.apply_at_once``);
    the others one transaction: what cannot be applied is rolled back and the message stored alone with its AE.
    A repeat (rare) is applied, found stored, and rolled back. False when it is a repeat (nothing changes)."""
    parsed = inbound.parsed
    if parsed is None:
        return False
    sealed = vault.seal("hl7_messages", "raw", inbound.mid, inbound.text) or b""

    def row(done: lis.Result) -> store.Inbound:
        return store.Inbound(inbound.mid, parsed.sender, parsed.control_id, parsed.message_type, sealed, done.code,
                             done.outcome, done.detail, done.needs_review)  # fmt: skip

    segs = segments(inbound.text)
    try:
        done = await _at_once(conn, vault, parsed, segs, row)
        if done is None:
            done = await _in_a_transaction(conn, vault, parsed, segs, row)
    except _Repeat:
        inbound.decision = _Decision("AE", "duplicate", None, None)
        return False
    inbound.decision = _Decision(done.code, done.outcome, done.detail, None, error=done.error)
    return True


async def _at_once(
    conn: asyncpg.Connection,
    vault: Vault,
    parsed: ParsedMessage,
    segs: Segments,
    row: Callable[[lis.Result], store.Inbound],
) -> lis.Result | None:
    if conn.is_in_transaction():
        return None  # a repeat's error would end the caller's transaction
    try:
        return await lis.apply_at_once(
            conn, vault, parsed.header, segs,
            lambda stmt, done, after: store.stage_one(stmt, row(done), actor=ANALYZER, after=after),
        )  # fmt: skip
    except asyncpg.UniqueViolationError as exc:
        if store.is_repeat(exc):
            raise _Repeat from None
        raise


async def _in_a_transaction(
    conn: asyncpg.Connection,
    vault: Vault,
    parsed: ParsedMessage,
    segs: Segments,
    row: Callable[[lis.Result], store.Inbound],
) -> lis.Result:
    try:
        async with conn.transaction():
            done = await lis.apply(conn, vault, parsed.header, segs)
            if not await store.insert_one(conn, row(done), actor=ANALYZER):
                raise _Repeat
    except lis.Refused as refused:
        done = refused.result
        async with conn.transaction():
            if not await store.insert_one(conn, row(done), actor=ANALYZER):
                raise _Repeat from None
    return done


def _printable(exc: HL7ParseError) -> str:
    """Why a message could not be read, safe to echo in an ACK and to store: no control characters."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(exc))


def messages_of(raw: bytes) -> list[bytes]:
    """A block's messages, each on its own (a batch's envelope dropped); the block itself if it cannot be split."""
    try:
        return [text.encode() for text in split_batch(normalize(raw))] or [raw]
    except HL7ParseError:
        return [raw]


def _outcome(inbound: _Inbound, inserted: set[str], earlier: dict[tuple[str, str], store.Answered]) -> Outcome:
    if inbound.parsed is None or inbound.decision is None:
        text = f"Message could not be read: {inbound.unreadable}"
        guess = inbound.header_guess
        return Outcome("AR", guess.control_id, text, message_id=inbound.mid, header=guess,
                       error=inbound.unreadable_error)  # fmt: skip
    parsed, decision = inbound.parsed, inbound.decision
    if inbound.mid in inserted:
        text = decision.detail or "Stored"
        return Outcome(decision.code, parsed.control_id, text, message_id=inbound.mid, sender=parsed.sender,
                       header=parsed.header, error=decision.error or ERRORS.get(decision.outcome))  # fmt: skip
    first = earlier.get((parsed.sender, parsed.control_id))
    if first is None:
        text = "Already received; please send it again for its answer."
        return Outcome("AE", parsed.control_id, text, True, header=parsed.header, error=AckError("207"))
    text = f"Already received: {first.outcome}"
    return Outcome(first.ack_code, parsed.control_id, text, True, first.id, parsed.sender, parsed.header,
                   ERRORS.get(first.outcome))  # fmt: skip


async def _first_answers(conn: asyncpg.Connection, repeats: list[_Inbound]) -> dict[tuple[str, str], store.Answered]:
    """What was answered the first time, for messages whose sender and control id were seen before."""
    return await store.first_answers(conn, [(i.parsed.sender, i.parsed.control_id) for i in repeats if i.parsed])


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
    error: AckError | None = None

    @property
    def applies(self) -> bool:
        return self.code == "AA"


async def decide_all(conn: asyncpg.Connection, messages: list[ParsedMessage]) -> list[_Decision]:
    """What to do with each readable message: one query for the tubes all their specimen ids name."""
    wanted: list[list[str]] = []
    for parsed in messages:
        codes = []
        for candidate in parsed.specimen_ids:
            try:
                codes.append(normalize_barcode(candidate))
            except InvalidInput:  # not shaped like one of our barcodes: try the next field
                continue
        wanted.append(codes)
    every = sorted({code for codes in wanted for code in codes})
    tubes = {t.barcode: t for t in await samples_store.for_results(conn, every)} if every else {}
    return [
        _decide(parsed, next((tubes[c] for c in codes if c in tubes), None))
        for parsed, codes in zip(messages, wanted, strict=True)
    ]


def refusal(header: Header) -> _Decision | None:
    """AR for what this listener does not take at all: a message type, trigger event, processing id or version."""
    kind, trigger = header.message_type, header.trigger
    if kind not in SUPPORTED:
        taken = ", ".join(f"{k}^{t}" for k, ts in SUPPORTED.items() for t in sorted(ts))
        return _Decision("AR", "rejected:message_type", f"Message type {kind or '(none)'} is not taken here ({taken}).",
                         None)  # fmt: skip
    if trigger not in SUPPORTED[kind]:
        return _Decision("AR", "rejected:trigger_event", f"{kind}^{trigger or '(none)'} is not taken here.", None)
    if header.processing_id and header.processing_id not in PROCESSING_IDS:
        why = f"Processing id {header.processing_id} is not P, T or D."
        return _Decision("AR", "rejected:processing_id", why, None)
    number = version_tuple(header.version)
    if header.version and not (number and number[0] == 2 and 1 <= number[1] <= 8):
        return _Decision("AR", "rejected:version", f"HL7 version {header.version} is not taken (2.1 to 2.8).", None)
    return None


def _decide(parsed: ParsedMessage, sample: samples_store.ForResults | None) -> _Decision:
    if refused := refusal(parsed.header):
        return refused
    if not parsed.observations:
        return _Decision("AR", "rejected:no_results", "An ORU^R01 needs at least one OBX segment.", None)
    if sample is None:
        ids = ", ".join(parsed.specimen_ids) or "none"
        return _Decision("AE", "rejected:unknown_barcode", f"No sample matches the specimen ids ({ids}).", None)
    if sample.state not in ACCEPTS_RESULTS:
        why = f"The sample is '{sample.state.value}' and cannot take results yet."
        return _Decision("AE", "rejected:sample_state", why, sample.id)
    sex = sample.sex if sample.sex in ("female", "male") else "any"
    return _Decision("AA", "stored", None, sample.id, sample.state, sample.patient_id, sex, sample.dob_enc)


async def judge(
    conn: asyncpg.Connection,
    vault: Vault,
    d: _Decision,
    observations: list[Observation],
    cache: RangeCache | None = None,
) -> list[judging.Judged]:
    return await judging.judge(
        conn, vault, observations, patient_id=d.patient_id, dob_enc=d.dob_enc, sex=d.sex, cache=cache
    )


async def _store(
    conn: asyncpg.Connection, vault: Vault, group: list[_Inbound], ranges: RangeCache
) -> tuple[set[str], list[str]]:
    """One statement, one commit for the whole group: every message row (unreadable ones too, raw and sealed),
    the results of those that apply, critical alerts (each audited), one audit row per message stored, and which
    tubes now have every result they need. A message whose sender and control id are already stored (earlier,
    or first in this group) changes nothing. Returns the ids of the messages stored and the tubes complete."""
    messages: list[dict[str, object]] = []
    stored: list[dict[str, object]] = []
    completing: list[str] = []
    for i in group:
        sealed = (vault.seal("hl7_messages", "raw", i.mid, i.text) or b"").hex()
        d, parsed = i.decision, i.parsed
        if parsed is None or d is None:
            why = (i.unreadable or "")[:500]
            messages.append({
                "id": i.mid, "sender": "unknown", "control_id": i.mid, "message_type": None, "raw_enc": sealed,
                "ack_code": "AR", "outcome": "unreadable", "detail": why, "sample_id": None, "results": 0,
            })  # fmt: skip
            continue
        messages.append({
            "id": i.mid, "sender": parsed.sender, "control_id": parsed.control_id,
            "message_type": parsed.message_type, "raw_enc": sealed, "ack_code": d.code, "outcome": d.outcome,
            "detail": d.detail, "sample_id": d.sample_id, "results": len(parsed.observations) if d.applies else 0,
        })  # fmt: skip
        if d.applies and d.sample_id and parsed.observations:
            stored += judging.result_rows(i.mid, d.sample_id, await judge(conn, vault, d, parsed.observations, ranges))
            if d.state in (SampleState.RECEIVED_AT_LAB, SampleState.PROCESSING) and d.sample_id not in completing:
                completing.append(d.sample_id)
    stmt = Statement()
    store.stage_group(stmt, messages)
    if stored:
        results.stage_insert(stmt, "message", stored)
        if any(r["critical"] for r in stored):
            critical.stage_alerts(stmt, "stored_results", datetime.now(UTC))
    audit.stage(
        stmt, actor=ANALYZER, action="hl7.receive", entity_type="hl7_message",
        entity_id=audit.Column("message.id::text"), outcome=audit.Column("message.outcome"),
        summary=audit.Column(
            "jsonb_build_object('sender', message.sender, 'control_id', message.control_id, 'results', message.results)"
        ),
        only_if="message",
    )  # fmt: skip
    final = "SELECT ARRAY(SELECT id::text FROM message) AS inserted"
    if stored and completing:
        final += f", ARRAY({results.complete_samples_sql(stmt, completing, 'stored_results')}) AS complete"
    row = await conn.fetchrow(stmt.sql(final), *stmt.args)
    return set(row["inserted"]), list(row["complete"]) if stored and completing else []


async def complete_tube(conn: asyncpg.Connection, d: _Decision) -> None:
    """Every ordered analyte has a final result: the tube moves on to 'completed' (through 'processing' if the
    analyzer skipped the scan); the patient sees it live. A race lost to a person scanning is fine."""
    tube = await samples_store.get(conn, d.sample_id or "")
    if tube is None:
        return
    steps = [SampleState.PROCESSING, SampleState.COMPLETED] if d.state is SampleState.RECEIVED_AT_LAB else [
        SampleState.COMPLETED
    ]  # fmt: skip
    for step in steps:
        try:
            await samples.transition(
                conn, barcode=tube.barcode, to_state=step, actor=ANALYZER, centre_id=tube.centre_id
            )
        except DomainError:
            return


async def complete_ready(conn: asyncpg.Connection, *, limit: int = 500) -> int:
    """Move on every tube in the lab that already has all its results: the case two messages for one tube,
    stored at the same moment, each judged incomplete from their own snapshot. The worker runs this every minute;
    returns how many tubes completed."""
    ready = await results.ready_to_complete(conn, limit=limit)
    for sample_id, state in ready:
        await complete_tube(conn, _Decision("AA", "stored", None, sample_id, SampleState(state)))
    return len(ready)
