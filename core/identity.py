"""Who acts and from where: roles, actors and the request metadata that every audit row carries."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    PATIENT = "patient"
    PHLEBOTOMIST = "phlebotomist"
    LAB_TECHNICIAN = "lab_technician"
    PATHOLOGIST = "pathologist"
    DOCTOR = "doctor"
    SUPPORT = "support"
    ADMIN = "admin"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """The one who acts: a staff member, a patient, an analyzer, or the system itself."""

    id: str
    role: Role

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(id=name, role=Role.SYSTEM)


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """Where a change came from; copied into audit rows. Holds no PHI."""

    request_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
