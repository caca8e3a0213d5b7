"""Patient values as the domain sees them (decrypted, in memory only)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


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
