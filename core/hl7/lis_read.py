"""Reading what a lab's own systems send about people and orders: ADT (a patient registered, updated or merged)
and ORM^O01 / OML^O21 (orders with their specimens). Pure functions of a message's segments; applying them is
``core.hl7.lis``. A field that is required and missing or unreadable raises ``Unusable`` with the HL7 error code
and where it is, for the ACK."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from core.hl7.parse import Segments
from core.labtime import LAB_TZ


class Unusable(Exception):
    """A message we understand but cannot apply as sent: an HL7 error code (table 0357) and its location."""

    def __init__(self, text: str, code: str, location: str) -> None:
        super().__init__(text)
        self.code, self.location = code, location


@dataclass(frozen=True, slots=True)
class PersonId:
    """An identifier within the system that assigned it (CX: id^^^authority)."""

    id: str
    authority: str = ""


@dataclass(frozen=True, slots=True)
class PatientFields:
    mrn: PersonId
    name: str
    date_of_birth: date | None
    sex: str  # female, male, other, unknown
    phone: str | None  # as sent; the service normalises it
    address: str | None


@dataclass(frozen=True, slots=True)
class Doctor:
    """An ordering provider (XCN: id^family^given^…^^^^authority)."""

    code: str
    name: str
    authority: str = ""


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One ordered test: an ORC with its OBR (and SPM, in OML)."""

    control: str  # ORC-1: NW new, CA cancel, XO change, …
    placer: str  # ORC-2 (or OBR-2): this line's number in the ordering system
    group: str  # ORC-4: the requisition the line belongs to ('' when not sent)
    test_code: str  # OBR-4.1
    test_system: str  # OBR-4.3 (LN for LOINC; a local system's name otherwise)
    test_text: str
    alt_code: str  # OBR-4.4, its alternate (often the local code)
    alt_system: str
    barcode: str  # SPM-2 or OBR-3
    collected_at: datetime | None  # SPM-17 or OBR-7: set once the specimen is taken
    doctor: Doctor | None  # ORC-12 or OBR-16


_SEX = {"F": "female", "M": "male", "O": "other", "A": "other", "N": "other", "U": "unknown", "": "unknown"}


def person_id(s: Segments, seg: list[str] | None, field_: int) -> PersonId:
    """The medical record number among a CX list: the repetition typed MR (CX.5), else the first."""
    count = max(s.reps(seg, field_), 1)
    rep = next((r for r in range(1, count + 1) if s.f(seg, field_, 5, r).upper() == "MR"), 1)
    return PersonId(s.f(seg, field_, 1, rep)[:40], s.sub(seg, field_, 4, 1, rep)[:60])


def hl7_date(text: str, location: str) -> date | None:
    if not text:
        return None
    try:
        return datetime.strptime(text[:8], "%Y%m%d").date()  # noqa: DTZ007 - a calendar date
    except ValueError as exc:
        raise Unusable(f"{location} is not a date (YYYYMMDD).", "102", location) from exc


def hl7_time(text: str, location: str) -> datetime | None:
    """An HL7 DTM to minute precision, in the lab's time zone unless it gives an offset."""
    if not text:
        return None
    digits, sign, offset = text, "", ""
    for mark in ("+", "-"):
        if mark in text[8:]:
            at = text.index(mark, 8)
            digits, sign, offset = text[:at], mark, text[at + 1 :]
    digits = digits.split(".")[0]
    try:
        when = datetime.strptime(digits[:12].ljust(12, "0"), "%Y%m%d%H%M")  # noqa: DTZ007 - zone set below
    except ValueError as exc:
        raise Unusable(f"{location} is not a date and time (YYYYMMDDHHMM).", "102", location) from exc
    if sign and len(offset) == 4 and offset.isdigit():
        minutes = int(offset[:2]) * 60 + int(offset[2:])
        return when.replace(tzinfo=timezone(timedelta(minutes=minutes if sign == "+" else -minutes)))
    return when.replace(tzinfo=LAB_TZ)


def patient_of(s: Segments) -> PatientFields:
    pid = s.first("PID")
    if pid is None:
        raise Unusable("The message has no PID segment.", "100", "PID")
    mrn = person_id(s, pid, 3)
    if not mrn.id:
        raise Unusable("PID-3 (the patient's identifier) is empty.", "101", "PID^1^3")
    family, given, middle = s.sub(pid, 5, 1, 1), s.f(pid, 5, 2), s.f(pid, 5, 3)
    name = " ".join(part for part in (given, middle, family) if part)
    if not name:
        raise Unusable("PID-5 (the patient's name) is empty.", "101", "PID^1^5")
    return PatientFields(
        mrn=mrn,
        name=name[:200],
        date_of_birth=hl7_date(s.f(pid, 7), "PID^1^7"),
        sex=_SEX.get(s.f(pid, 8).upper()[:1], "unknown"),
        phone=_phone(s, pid),
        address=_address(s, pid),
    )


def _phone(s: Segments, pid: list[str]) -> str | None:
    """The first telephone number of PID-13 (home), then PID-14 (business): XTN.12 (unformatted), XTN.6 and .7
    (area code and number), or XTN.1 (the older free text)."""
    for field_ in (13, 14):
        for rep in range(1, s.reps(pid, field_) + 1):
            unformatted = s.f(pid, field_, 12, rep)
            parts = (s.f(pid, field_, 5, rep), s.f(pid, field_, 6, rep), s.f(pid, field_, 7, rep))
            local = "".join(parts) if parts[2] else ""
            number = unformatted or (("+" if parts[0] else "") + local if local else "") or s.f(pid, field_, 1, rep)
            if number and any(ch.isdigit() for ch in number):
                return number[:40]
    return None


def _address(s: Segments, pid: list[str]) -> str | None:
    parts = [s.sub(pid, 11, 1, 1), *(s.f(pid, 11, c) for c in range(2, 7))]
    text = ", ".join(p for p in parts if p)
    return text[:500] or None


def merged_away(s: Segments) -> PersonId:
    """ADT^A40: the identifier to be merged into the one in PID-3 (MRG-1)."""
    mrg = s.first("MRG")
    if mrg is None:
        raise Unusable("An ADT^A40 needs an MRG segment.", "100", "MRG")
    prior = person_id(s, mrg, 1)
    if not prior.id:
        raise Unusable("MRG-1 (the identifier to merge) is empty.", "101", "MRG^1^1")
    return prior


def _doctor(s: Segments, seg: list[str] | None, field_: int) -> Doctor | None:
    code = s.f(seg, field_, 1)
    if not code:
        return None
    family, given = s.sub(seg, field_, 2, 1), s.f(seg, field_, 3)
    prefix = s.f(seg, field_, 6)
    name = " ".join(p for p in (prefix, given, family) if p) or code
    return Doctor(code[:40], name[:200], s.sub(seg, field_, 9, 1)[:60])


def order_lines(s: Segments) -> list[OrderLine]:
    """Each ORC with the OBR (and SPM) after it; an OBR without its own ORC shares the one before."""
    lines: list[OrderLine] = []
    orc: list[str] | None = None
    groups: list[tuple[list[str] | None, list[str], list[str] | None]] = []
    for seg in s.all:
        kind = seg[0]
        if kind == "ORC":
            orc = seg
        elif kind == "OBR":
            groups.append((orc, seg, None))
        elif kind == "SPM" and groups and groups[-1][2] is None:
            groups[-1] = (groups[-1][0], groups[-1][1], seg)
    if not groups:
        raise Unusable("An order message needs at least one OBR segment.", "100", "OBR")
    for n, (orc, obr, spm) in enumerate(groups, start=1):
        control = s.f(orc, 1).upper() or "NW"
        placer = s.f(orc, 2) or s.f(obr, 2)
        if not placer:
            raise Unusable(f"Order line {n} has no placer order number (ORC-2 or OBR-2).", "101", f"ORC^{n}^2")
        code, text, system = s.f(obr, 4, 1), s.f(obr, 4, 2), s.f(obr, 4, 3)
        if not code and control in ("NW", "XO"):
            raise Unusable(f"Order line {n} names no test (OBR-4).", "101", f"OBR^{n}^4")
        taken = s.f(spm, 17) or s.f(obr, 7)
        lines.append(
            OrderLine(
                control=control, placer=placer[:60], group=s.f(orc, 4)[:60], test_code=code[:40],
                test_system=system.upper()[:40], test_text=text[:200], alt_code=s.f(obr, 4, 4)[:40],
                alt_system=s.f(obr, 4, 6).upper()[:40], barcode=(s.f(spm, 2, 1) or s.f(spm, 2, 2) or s.f(obr, 3))[:60],
                collected_at=hl7_time(taken, f"OBR^{n}^7"), doctor=_doctor(s, orc, 12) or _doctor(s, obr, 16),
            )
        )  # fmt: skip
    return lines
