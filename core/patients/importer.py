"""Bringing a lab's existing patient list in: a CSV with the header ``mrn,name,date_of_birth,sex,phone`` (in any
order, other columns ignored), idempotent by MRN, all or nothing.

Every row is checked before anything is written; if any row is wrong, each bad row is reported with its line
number and reason and nothing is imported. Otherwise one transaction creates the patients whose MRN is new, each
through ``service.create`` (PHI sealed, one audit row each); a patient whose MRN is already there is left as it is,
so running the same file again changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

import asyncpg

from core.errors import InvalidInput
from core.identity import Actor
from core.inputs import has_control
from core.labtime import LAB_TZ
from core.patients import service, store
from core.patients.model import NewPatient, Sex
from core.phones import normalize_phone
from core.vault import Vault

REQUIRED = ("mrn", "name", "date_of_birth", "sex", "phone")
MAX_ROWS = 200_000
_MRN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-/._]{0,39}$")
_SEX = {"f": Sex.FEMALE, "female": Sex.FEMALE, "m": Sex.MALE, "male": Sex.MALE, "o": Sex.OTHER,
        "other": Sex.OTHER, "u": Sex.UNKNOWN, "unknown": Sex.UNKNOWN, "": Sex.UNKNOWN}  # fmt: skip
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y")  # ISO, and the day-first forms Indian registers use


@dataclass(frozen=True, slots=True)
class RowError:
    line: int  # the file's line number (the header is line 1)
    reason: str  # says what is wrong, never repeats the value of a PHI field


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    already_present: int = 0
    errors: list[RowError] = field(default_factory=list)


def _date(raw: str) -> date | None:
    if not raw:
        return None
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(raw, fmt).date()  # noqa: DTZ007 - a calendar date, no time of day
        except ValueError:
            continue
        if parsed > datetime.now(LAB_TZ).date() or parsed.year < 1890:
            raise ValueError("date_of_birth is in the future or before 1890")
        return parsed
    raise ValueError("date_of_birth is not a date (use YYYY-MM-DD, or DD/MM/YYYY)")


def _row(values: dict[str, str], region: str) -> NewPatient:
    """One row as a new patient, or ValueError saying what is wrong with it."""
    for name, value in values.items():
        if has_control(value or ""):
            raise ValueError(f"{name} holds a control character")
    mrn = values["mrn"].strip()
    if not _MRN.match(mrn):
        raise ValueError("mrn is empty or not 1–40 letters, digits and - / . _")
    name = " ".join(values["name"].split())
    if not 1 <= len(name) <= 200:
        raise ValueError("name is empty or longer than 200 characters")
    sex = _SEX.get(values["sex"].strip().lower())
    if sex is None:
        raise ValueError("sex is not one of female, male, other, unknown (or F, M, O, U)")
    phone = values["phone"].strip()
    try:
        phone_e164 = normalize_phone(phone, region) if phone else None
    except InvalidInput as exc:
        raise ValueError(f"phone: {exc.message}") from None
    return NewPatient(name=name, sex=sex, phone=phone_e164, date_of_birth=_date(values["date_of_birth"].strip()),
                      mrn=mrn)  # fmt: skip


def parse(text: str, region: str = "IN") -> tuple[list[tuple[int, NewPatient]], list[RowError]]:
    """Every row of the file checked: (line, patient) for the good ones, and an error for each bad one."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [h for h in REQUIRED if h not in header]
    if missing:
        return [], [RowError(1, f"the header lacks {', '.join(missing)} (it needs {','.join(REQUIRED)})")]
    reader.fieldnames = header
    good: list[tuple[int, NewPatient]] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    try:
        for values in reader:
            line = reader.line_num
            if len(good) + len(errors) >= MAX_ROWS:
                errors.append(RowError(line, f"more than {MAX_ROWS} rows: split the file"))
                break
            if None in values or any(values.get(h) is None for h in REQUIRED):
                errors.append(RowError(line, "the row does not have as many columns as the header"))
                continue
            try:
                patient = _row({h: values[h] for h in REQUIRED}, region)
            except ValueError as exc:
                errors.append(RowError(line, str(exc)))
                continue
            assert patient.mrn is not None  # noqa: S101 - _row always sets it
            key = patient.mrn
            if key in first_line:
                errors.append(RowError(line, f"mrn repeats line {first_line[key]}"))
                continue
            first_line[key] = line
            good.append((line, patient))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, f"the file is not valid CSV here ({exc})"))
    return good, errors


async def import_csv(
    conn: asyncpg.Connection, vault: Vault, text: str, *, actor: Actor, dry_run: bool = False
) -> ImportReport:
    good, errors = parse(text, vault.phone_region)
    report = ImportReport(rows=len(good) + len(errors), errors=errors)
    if errors:
        return report
    async with conn.transaction():
        present = await store.existing_mrns(conn, [p.mrn for _, p in good if p.mrn])
        for _, patient in good:
            if patient.mrn in present:
                report.already_present += 1
                continue
            if not dry_run:
                await service.create(conn, vault, patient, actor=actor)
            report.created += 1
    return report
