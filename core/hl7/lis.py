"""Apply what a lab's own systems send about people and orders, through the domain's services:

- ADT^A01/A04/A05/A28 register a patient, A08/A31 update one (by MRN and its assigning authority, PID-3; a known
  MRN is updated, an unknown one registered, so the order of arrival does not matter); A40 merges the MRN in
  MRG-1 into the one in PID-3 (or renumbers it, when PID-3 is new here);
- ORM^O01 and OML^O21 place, cancel (CA) and change (XO) orders, their tests mapped through the catalogue by
  LOINC or local code, the ordering doctor from ORC-12/OBR-16, tubes from SPM-2/OBR-3 once collected.

What cannot be applied as sent is answered AE with the reason and where, and held in the review queue: an unknown
test code (table 0357's 103, at OBR-4), an unknown MRN to merge (204), a line already collected (207). A doctor
first seen here does not hold the order up: the order is placed, and the message waits in the review queue for a
person to confirm the doctor."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from core.booking import catalogue
from core.db.statement import Statement
from core.doctors import service as doctors
from core.errors import Conflict, DomainError, DuplicateBarcode, InvalidInput, NotFound
from core.hl7.ack import AckError
from core.hl7.lis_read import Doctor, OrderLine, PatientFields, Unusable, merged_away, order_lines, patient_of
from core.hl7.parse import Header, Segments
from core.identity import Actor, Role
from core.orders import lis as orders
from core.orders import store as order_store
from core.patients import merge
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.vault import Vault

LIS = Actor("hl7:lis", Role.SYSTEM)
RECENT_SECONDS = 60.0


class _Recent:
    """Answers that rarely change (which centre takes an order, our code for a sender's test code), kept a minute
    in this process: a hit costs no round trip. Only found answers are kept, so a code mapped a moment ago is
    found at once; a mapping removed lingers here up to a minute."""

    def __init__(self) -> None:
        self._values: dict[object, tuple[float, str]] = {}

    def get(self, key: object) -> str | None:
        hit = self._values.get(key)
        return hit[1] if hit is not None and time.monotonic() - hit[0] < RECENT_SECONDS else None

    def put(self, key: object, value: str) -> None:
        if len(self._values) > 10_000:
            self._values.clear()
        self._values[key] = (time.monotonic(), value)

    def clear(self) -> None:
        self._values.clear()


_centres, _codes = _Recent(), _Recent()


def forget_recent() -> None:
    """Drop what is kept (a process that changes databases: the tests)."""
    _centres.clear()
    _codes.clear()


REGISTER = frozenset({"A01", "A04", "A05", "A08", "A28", "A31"})
TAKES = {"ADT": REGISTER | {"A40"}, "ORM": frozenset({"O01"}), "OML": frozenset({"O21"})}


@dataclass(frozen=True, slots=True)
class Result:
    """What applying one message did: its ACK code, the outcome stored with it, why (for an AE), the HL7 error,
    and anything a person should look at although it was applied."""

    code: str
    outcome: str
    detail: str | None = None
    error: AckError | None = None
    needs_review: str | None = None


def takes(header: Header) -> bool:
    return header.trigger in TAKES.get(header.message_type, frozenset())


class Refused(Exception):
    """A message that cannot be applied as sent: its answer. The caller rolls back what it began."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.detail)
        self.result = result


async def apply(conn: asyncpg.Connection, vault: Vault, header: Header, segs: Segments) -> Result:
    """One message, in the caller's transaction (no savepoint: on ``Refused`` the caller rolls it back whole)."""
    try:
        if header.message_type == "ADT":
            return await (_merge(conn, segs) if header.trigger == "A40" else _register(conn, vault, segs))
        return await _orders(conn, vault, header, segs)
    except Unusable as exc:
        raise Refused(Result("AE", "rejected:unusable", str(exc), AckError(exc.code, exc.location))) from exc
    except NotFound as exc:
        raise Refused(Result("AE", "rejected:not_found", exc.message, AckError("204"))) from exc
    except DuplicateBarcode as exc:
        raise Refused(Result("AE", "rejected:duplicate", exc.message, AckError("205"))) from exc
    except (Conflict, InvalidInput) as exc:
        raise Refused(Result("AE", "rejected:conflict", exc.message, AckError("207"))) from exc
    except DomainError as exc:
        raise Refused(Result("AE", "rejected:domain", str(exc), AckError("207"))) from exc


def _new_patient(fields: PatientFields) -> NewPatient:
    return NewPatient(
        name=fields.name, sex=Sex(fields.sex), phone=fields.phone, date_of_birth=fields.date_of_birth,
        address=fields.address, mrn=fields.mrn.id, mrn_authority=fields.mrn.authority,
    )  # fmt: skip


async def _register(conn: asyncpg.Connection, vault: Vault, segs: Segments) -> Result:
    fields = patient_of(segs)
    done = await patients.register_or_update(conn, vault, _new_patient(fields), actor=LIS, source="hl7")
    review = "; ".join(done.problems) or None
    return Result("AA", "patient.registered" if done.created else "patient.updated", needs_review=review)


async def _merge(conn: asyncpg.Connection, segs: Segments) -> Result:
    survivor = patient_of(segs).mrn
    prior = merged_away(segs)
    prior_id = await patients.find_by_mrn(conn, prior.authority, prior.id)
    if prior_id is None:
        raise Unusable(f"There is no patient {prior.id} to merge.", "204", "MRG^1^1")
    survivor_id = await patients.find_by_mrn(conn, survivor.authority, survivor.id)
    if survivor_id is None:  # a new number for a known person
        await patients.change_mrn(conn, prior_id, survivor.authority, survivor.id, actor=LIS)
        return Result("AA", "patient.renumbered")
    if survivor_id == prior_id:
        return Result("AA", "patient.merged")  # merged already: a repeat changes nothing
    await merge.merge(conn, surviving_id=survivor_id, merged_id=prior_id, actor=LIS, source="hl7")
    return Result("AA", "patient.merged")


async def _orders(conn: asyncpg.Connection, vault: Vault, header: Header, segs: Segments) -> Result:
    fields = patient_of(segs)
    patient_id = await patients.find_by_mrn(conn, fields.mrn.authority, fields.mrn.id)
    review: list[str] = []
    if patient_id is None:
        done = await patients.register_or_update(conn, vault, _new_patient(fields), actor=LIS, source="hl7")
        patient_id, review = done.patient_id, list(done.problems)
    lines, mapped, doctor = await _order_lines(conn, segs)
    doctor_id = doctor_name = None
    if doctor is not None:
        row, new = await doctors.find_or_add(
            conn, authority=doctor.authority, code=doctor.code, name=doctor.name, actor=LIS
        )
        doctor_id, doctor_name = row.id, row.name
        if new or not row.verified:
            review.append(_unconfirmed(doctor))
    centre = await _centre(conn, header, segs)
    for requisition, group in _requisitions(lines).items():
        lis_lines = [orders.LisLine(ln.control, ln.placer, mapped.get(n), ln.barcode, ln.collected_at)
                     for n, ln in group]  # fmt: skip
        req = orders.Requisition(patient_id, header.sender, requisition, centre, lis_lines, doctor_id, doctor_name)
        await orders.apply(conn, req, actor=LIS)
    return Result("AA", "order.applied", needs_review="; ".join(review) or None)


async def _order_lines(
    conn: asyncpg.Connection, segs: Segments
) -> tuple[list[OrderLine], dict[int, str], Doctor | None]:
    """The message's lines, our test code for each (by line number), and the ordering doctor it names."""
    lines = order_lines(segs)
    mapped = await _map_tests(conn, lines)
    return lines, mapped, next((ln.doctor for ln in lines if ln.doctor), None)


def _unconfirmed(doctor: Doctor) -> str:
    return f"ordering doctor {doctor.code} ({doctor.name}) is not confirmed yet"


async def _centre(conn: asyncpg.Connection, header: Header, segs: Segments) -> str:
    wanted = tuple(c for c in (_location(segs), header.facility) if c)
    centre = _centres.get(wanted) or await catalogue.lab_centre(conn, list(wanted))
    if centre is None:
        raise Conflict("No lab centre is set up to take orders.")
    _centres.put(wanted, centre)
    return centre


Record = Callable[[Statement, Result, str], None]


async def apply_at_once(
    conn: asyncpg.Connection, vault: Vault, header: Header, segs: Segments, record: Record
) -> Result | None:
    """The usual messages, for a caller that holds no transaction, each in one statement after a read or two: a
    registration or an update (ADT), or a new requisition of tests not yet collected, for a patient and a doctor
    known here (ORM, OML). ``record`` stages the message's own row on that statement, written only if what the
    message did was. None, with nothing written, for anything else (and for what would be refused): the caller
    then applies it with ``apply``, in a transaction."""
    try:
        if header.message_type == "ADT":
            return await _register_at_once(conn, vault, segs, record) if header.trigger in REGISTER else None
        return await _order_at_once(conn, header, segs, record)
    except (Unusable, DomainError):
        return None  # ``apply`` answers it, with the reason


def _registered(done: patients.Registered) -> Result:
    review = "; ".join(done.problems) or None
    return Result("AA", "patient.registered" if done.created else "patient.updated", needs_review=review)


async def _register_at_once(conn: asyncpg.Connection, vault: Vault, segs: Segments, record: Record) -> Result | None:
    done = await patients.register_at_once(
        conn, vault, _new_patient(patient_of(segs)), actor=LIS, source="hl7",
        then=lambda stmt, registered, after: record(stmt, _registered(registered), after),
    )  # fmt: skip
    return _registered(done) if done else None


async def _order_at_once(conn: asyncpg.Connection, header: Header, segs: Segments, record: Record) -> Result | None:
    fields = patient_of(segs)
    patient_id = await patients.find_by_mrn(conn, fields.mrn.authority, fields.mrn.id)
    if patient_id is None:
        return None  # registered by the whole path
    lines, mapped, doctor = await _order_lines(conn, segs)
    groups = list(_requisitions(lines).items())
    if len(groups) != 1:
        return None
    known = await doctors.known(conn, doctor.authority, doctor.code) if doctor else None
    if doctor is not None and known is None:
        return None  # a doctor first seen is added (and audited) by the whole path
    lis_lines = [orders.LisLine(ln.control, ln.placer, mapped.get(n), ln.barcode, ln.collected_at)
                 for n, ln in groups[0][1]]  # fmt: skip
    req = orders.Requisition(patient_id, header.sender, groups[0][0], await _centre(conn, header, segs), lis_lines,
                             known.id if known else None, known.name if known else None)  # fmt: skip
    done = Result("AA", "order.applied", needs_review=_unconfirmed(doctor) if doctor and known and not known.verified
                  else None)  # fmt: skip
    placed = await orders.place_at_once(conn, req, actor=LIS, then=lambda stmt, after: record(stmt, done, after))
    return done if placed else None


def _location(segs: Segments) -> str:
    return segs.f(segs.first("ORC"), 13) or segs.f(segs.first("PV1"), 3)


def _requisitions(lines: list[OrderLine]) -> dict[str, list[tuple[int, OrderLine]]]:
    """Lines by requisition: ORC-4 (placer group) when sent, else the message's first line number."""
    first = lines[0].group or lines[0].placer
    out: dict[str, list[tuple[int, OrderLine]]] = {}
    for n, line in enumerate(lines, start=1):
        out.setdefault(line.group or first, []).append((n, line))
    return out


async def _map_tests(conn: asyncpg.Connection, lines: list[OrderLine]) -> dict[int, str]:
    """Line number -> our test code, by OBR-4's code or its alternate; an unknown one refuses the message."""
    pairs = [(ln.test_system or "L", ln.test_code) for ln in lines if ln.test_code]
    pairs += [(ln.alt_system or "L", ln.alt_code) for ln in lines if ln.alt_code]
    known = {p: code for p in pairs if (code := _codes.get(p))}
    if missing := [p for p in pairs if p not in known]:
        found = await order_store.test_codes(conn, missing)
        for pair, code in found.items():
            _codes.put(pair, code)
        known |= found
    mapped: dict[int, str] = {}
    for n, ln in enumerate(lines, start=1):
        code = known.get((ln.test_system or "L", ln.test_code)) or known.get((ln.alt_system or "L", ln.alt_code))
        if code:
            mapped[n] = code
        elif ln.test_code or ln.control != "CA":
            said = "^".join(p for p in (ln.test_code, ln.test_text, ln.test_system) if p)
            raise Unusable(
                f"Unknown test code {said} (OBR-4, line {n}): add it to the test codes, then re-apply.", "103",
                f"OBR^{n}^4",
            )  # fmt: skip
    return mapped
