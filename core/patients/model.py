"""Patient values as the domain sees them (decrypted, in memory only)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from core.errors import InvalidInput
from core.i18n import worded
from core.labtime import LAB_TZ


class Sex(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class NewPatient:
    name: str
    sex: Sex
    phone: str | None = None
    date_of_birth: date | None = None
    address: str | None = None
    mrn: str | None = None
    mrn_authority: str = ""  # the system that assigned the MRN (HL7 PID-3.4); ours is ""


@dataclass(frozen=True, slots=True)
class Patient:
    id: str
    mrn: str
    name: str
    sex: Sex
    phone: str | None
    date_of_birth: date | None
    address: str | None
    mrn_authority: str = ""  # the system that assigned the MRN; ours is ""

    def __repr__(self) -> str:  # never let PHI reach a log through a repr
        return f"Patient(id={self.id!r}, mrn={self.mrn!r})"


def date_of_birth(raw: str | None) -> date | None:
    """A date of birth as a form or the API sends it (YYYY-MM-DD); none when empty; refused when unreadable, in the
    future, or before 1890."""
    if not raw:
        return None
    try:
        born = date.fromisoformat(raw[:10])
    except ValueError as exc:
        raise worded(InvalidInput, "error:give_date_birth_yyyy", "date_of_birth") from exc
    if born > datetime.now(LAB_TZ).date() or born.year < 1890:
        raise worded(InvalidInput, "error:date_birth_future_before", "date_of_birth")
    return born
