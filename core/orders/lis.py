"""Orders from the lab's own systems (HL7 ORM^O01 / OML^O21), by order control code: NW places an order (or adds
its lines to one already placed: a repeat changes nothing), CA cancels a line before its specimen is collected, XO
changes a line's test or its ordering doctor. An order is the requisition (ORC-4, else its first line's ORC-2)
from one sender; each line is one test. A line whose specimen the message reports collected (a barcode and a
collection time) brings its tube, registered as collected. Every change is audited."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from core import audit
from core.db.statement import Statement
from core.db.tx import atomic
from core.errors import Conflict, InvalidInput, NotFound
from core.i18n import worded
from core.identity import Actor
from core.orders import store
from core.samples import service as samples
from core.samples.model import SampleState, normalize_barcode


@dataclass(frozen=True, slots=True)
class LisLine:
    """One line as the order service needs it: our test code, already mapped from the sender's."""

    control: str  # NW, CA, XO
    placer_line: str
    test_code: str | None  # None for a cancel that names no test
    barcode: str
    collected_at: datetime | None


@dataclass(frozen=True, slots=True)
class Applied:
    order_id: str
    placed: bool  # a new order
    tubes: tuple[str, ...]  # barcodes registered by this message
    cancelled: int = 0
    changed: int = 0


@dataclass(frozen=True, slots=True)
class Requisition:
    """One requisition (ORC-4, else its first line's ORC-2) as one message states it, from one sender."""

    patient_id: str
    source: str
    number: str
    centre_id: str
    lines: list[LisLine]
    doctor_id: str | None
    doctor_name: str | None

    def new_order(self, order_id: str, actor: Actor) -> store.NewOrder:
        return store.NewOrder(
            id=order_id, patient_id=self.patient_id, centre_id=self.centre_id, source=self.source,
            placer_number=self.number, doctor_id=self.doctor_id, referring_doctor=self.doctor_name,
            collect_at=min((ln.collected_at for ln in self.lines if ln.collected_at), default=None),
            created_by=actor.id,
        )  # fmt: skip


async def apply(conn: asyncpg.Connection, req: Requisition, *, actor: Actor) -> Applied:
    """Apply one message's lines (all of one requisition) in one transaction (the caller's, when it holds one: the
    HL7 path rolls its whole transaction back on an error)."""
    async with atomic(conn):
        if fresh := await place_at_once(conn, req, actor=actor):
            return fresh
        order = await store.by_placer(conn, req.source, req.number, lock=True)
        placed = False
        if order is None:
            if not any(line.control == "NW" for line in req.lines):
                raise worded(NotFound, "error:order_from_sender_cancel", number=req.number)
            new = req.new_order(str(uuid.uuid4()), actor)
            await store.insert_placed(conn, new)
            order, placed = store.PlacedOrder(new.id, req.patient_id, req.centre_id, "active"), True
        elif order.patient_id != req.patient_id:
            raise worded(Conflict, "error:order_belongs_another_patient", number=req.number)
        cancelled = changed = 0
        for line in req.lines:
            if line.control == "NW" and line.test_code:
                await store.upsert_lines(conn, order.id, [(line.test_code, line.placer_line)])
            elif line.control == "CA":
                cancelled += await _cancel(conn, order.id, line.placer_line)
            elif line.control == "XO" and line.test_code:
                await _refuse_if_collected(conn, order.id, line.placer_line, "change")
                await store.change_line_test(conn, order.id, line.placer_line, line.test_code)
                changed += 1
        if req.doctor_id and not placed:
            await store.set_doctor(conn, order.id, req.doctor_id, req.doctor_name)
        remaining = [ln for ln in await store.lines(conn, order.id) if ln.status == "ordered"]
        if not remaining and order.status == "active":
            await store.set_status(conn, order.id, "cancelled")
        elif remaining and order.status == "cancelled":
            await store.set_status(conn, order.id, "active")
        tubes = await _tubes(conn, order.id, req.centre_id, req.lines, remaining, actor)
        await audit.append(
            conn, actor=actor, action="order.place" if placed else "order.update", entity_type="order",
            entity_id=order.id, patient_id=req.patient_id,
            summary=_summary(req, sorted(ln.test_code for ln in remaining), cancelled, changed, len(tubes)),
        )  # fmt: skip
    return Applied(order.id, placed, tuple(tubes), cancelled, changed)


def _summary(req: Requisition, tests: list[str], cancelled: int, changed: int, tubes: int) -> dict[str, object]:
    return {"source": req.source, "requisition": req.number, "tests": tests, "cancelled": cancelled,
            "changed": changed, "tubes": tubes}  # fmt: skip


def at_once(req: Requisition) -> bool:
    """A new requisition of tests none of which is collected yet: placed in one statement when it is new here."""
    lines = req.lines
    return bool(lines) and not any(
        ln.control != "NW" or not ln.test_code or (ln.barcode and ln.collected_at) for ln in lines
    )


async def place_at_once(
    conn: asyncpg.Connection, req: Requisition, *, actor: Actor, then: Callable[[Statement, str], None] | None = None
) -> Applied | None:
    """The usual message (``at_once``): the order, its lines and its audit row in one statement, with what ``then``
    stages on it (after CTE ``placed``). None, with nothing written, when the message is anything else or the
    requisition is here already."""
    if not at_once(req):
        return None
    wanted = {ln.test_code: ln.placer_line for ln in req.lines if ln.test_code}  # a test named twice: its last line
    new = req.new_order(str(uuid.uuid4()), actor)
    stmt = Statement()
    store.stage_place_if_new(stmt, new, wanted)
    audit.stage(
        stmt, actor=actor, action="order.place", entity_type="order", entity_id=new.id, patient_id=req.patient_id,
        summary=_summary(req, sorted(wanted), 0, 0, 0), only_if="placed",
    )  # fmt: skip
    if then is not None:
        then(stmt, "placed")
    return Applied(new.id, True, ()) if await store.run_placed(conn, stmt) else None


async def _cancel(conn: asyncpg.Connection, order_id: str, placer_line: str) -> int:
    await _refuse_if_collected(conn, order_id, placer_line, "cancel")
    return await store.set_line_status(conn, order_id, placer_line, "cancelled")


async def _refuse_if_collected(conn: asyncpg.Connection, order_id: str, placer_line: str, what: str) -> None:
    """A line whose tube is already collected is cancelled or changed at the lab, not by a message."""
    line = next((ln for ln in await store.lines(conn, order_id) if ln.placer_line == placer_line), None)
    if line is None:
        raise worded(NotFound, "error:line_order", placer_line=placer_line, what=what)
    taken = [t for t in await samples.tubes_of_order(conn, order_id)
             if t.sample_type == line.sample_type and t.state is not SampleState.REJECTED]  # fmt: skip
    if taken:
        done = {"cancel": "cancelled", "change": "changed"}.get(what, what)
        raise worded(Conflict, "error:line_cannot_be_changed", placer_line=placer_line, what=done,
                     barcode=taken[0].barcode)  # fmt: skip


async def _tubes(
    conn: asyncpg.Connection,
    order_id: str,
    centre_id: str,
    lines: list[LisLine],
    remaining: list[store.Line],
    actor: Actor,
) -> list[str]:
    """Register each tube the message reports collected (a barcode with a collection time) that is not here yet."""
    if not any(line.barcode and line.collected_at and line.control != "CA" for line in lines):
        return []  # nothing collected yet: no tube to look for
    types = {ln.test_code: ln.sample_type for ln in remaining}
    have = {t.barcode for t in await samples.tubes_of_order(conn, order_id)}
    made: list[str] = []
    for line in lines:
        if line.control == "CA" or not (line.barcode and line.collected_at and line.test_code in types):
            continue
        try:
            code = normalize_barcode(line.barcode)
        except InvalidInput as exc:
            raise InvalidInput("barcode", f"Specimen id {line.barcode!r}: {exc}") from exc
        if code in have or code in made:
            continue
        sample_type = types[line.test_code or ""]
        await samples.register(
            conn, order_id=order_id, barcode=line.barcode, sample_type=sample_type, actor=actor, centre_id=centre_id
        )
        made.append(code)
    return made
