"""Staff access to a patient's record: who may read it, on what basis, and break-glass.

Lab roles, support and administrators read records as part of their work. A doctor reads only the patients they
referred (orders naming them) unless they break the glass: a stated reason, access for 30 minutes, an audit row
and an alert for the administrators. Every read records its basis; every refusal is audited.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from core import alert_rules, audit
from core.db.owned import PatientRows
from core.errors import InvalidInput, NotYourPatient, PatientNotFound, PermissionDenied, TooManyAttempts
from core.i18n import worded
from core.identity import Actor, RequestMeta, Role
from core.ids import is_uuid
from core.orders import store as orders_store
from core.patients import service as patients
from core.patients import store as patients_store
from core.patients.model import Patient
from core.vault import Vault

PATIENT_ROWS = PatientRows("break_glass")  # a merge of two patients moves their break-glass grants

BREAK_GLASS_MINUTES = 30
BREAK_GLASS_PER_WINDOW = 5  # at most this many emergency openings by one doctor …
BREAK_GLASS_WINDOW = timedelta(minutes=10)  # … in this long
ALWAYS = frozenset({Role.PHLEBOTOMIST, Role.LAB_TECHNICIAN, Role.PATHOLOGIST, Role.SUPPORT, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Grant:
    patient_id: str
    expires_at: datetime


def doctor_scope_sql(patient: str, staff: str) -> str:
    """A SQL condition: the doctor ``staff`` (a text parameter, their staff id) may read the patient ``patient``
    (a uuid expression): they referred them, or broke the glass for them and it has not expired. Lists use it so
    that they show exactly the patients the record endpoint would."""
    return f"""(EXISTS (SELECT 1 FROM ({orders_store.orders_sql()}) o
                       WHERE o.patient_id = {patient} AND o.referring_doctor = {staff})
               OR EXISTS (SELECT 1 FROM break_glass g WHERE g.staff_id = {staff} AND g.patient_id = {patient}
                          AND g.expires_at > now()))"""


async def basis(conn: asyncpg.Connection, actor: Actor, patient_id: str) -> str | None:
    """Why ``actor`` may read this patient ("role", "referral", "break_glass"), or None."""
    if actor.role in ALWAYS:
        return "role"
    if actor.role is not Role.DOCTOR:
        return None
    staff_id = actor.id.removeprefix("staff:")
    if await conn.fetchval(
        f"""SELECT EXISTS (SELECT 1 FROM ({orders_store.orders_sql()}) o
                           WHERE o.patient_id = $1 AND o.referring_doctor = $2)""",
        patient_id,
        staff_id,
    ):
        return "referral"
    if await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM break_glass
                          WHERE staff_id = $1 AND patient_id = $2 AND expires_at > now())""",
        staff_id,
        patient_id,
    ):
        return "break_glass"
    return None


async def read_patient(
    conn: asyncpg.Connection, vault: Vault, actor: Actor, patient_id: str, *, meta: RequestMeta | None = None
) -> tuple[Patient, str]:
    """The decrypted record and the basis of access; PermissionDenied (audited) without one."""
    if not is_uuid(patient_id):
        raise PatientNotFound(patient_id[:64])
    why = await basis(conn, actor, patient_id)
    if why is None:
        async with conn.transaction():
            await audit.append(
                conn,
                actor=actor,
                action="patient.read",
                entity_type="patient",
                entity_id=patient_id,
                patient_id=patient_id,
                outcome="refused:not_their_patient",
                meta=meta,
            )
        raise NotYourPatient(actor.role.value)
    patient = await patients.read(conn, vault, patient_id, actor=actor, purpose=why, meta=meta)
    await alert_rules.after_read(conn, actor)
    return patient, why


async def break_glass(
    conn: asyncpg.Connection, actor: Actor, patient_id: str, reason: str, *, meta: RequestMeta | None = None
) -> Grant:
    """Open a doctor's emergency access to one patient for 30 minutes; administrators are alerted."""
    if actor.role is not Role.DOCTOR:
        raise PermissionDenied("break_glass", actor.role.value)
    reason = " ".join("".join(c for c in reason if unicodedata.category(c) != "Cf").split())  # no invisible text
    words = [w for w in reason.split() if sum(c.isalpha() for c in w) >= 2]
    if not 10 <= len(reason) <= 500 or len(words) < 2 or sum(c.isalpha() for c in reason) < 8:
        raise worded(InvalidInput, "error:say_why_you_need", "reason")
    staff_id = actor.id.removeprefix("staff:")
    recent = await conn.fetchval(
        "SELECT count(*) FROM break_glass WHERE staff_id = $1 AND granted_at > now() - $2::interval",
        staff_id,
        BREAK_GLASS_WINDOW,
    )
    if recent >= BREAK_GLASS_PER_WINDOW:  # an emergency is one patient, or a few: not a sweep through records
        await alert_rules.add(
            conn,
            "break_glass.burst",
            {"in_last_minutes": int(BREAK_GLASS_WINDOW.total_seconds() // 60), "granted": recent},
            staff_id=staff_id,
        )
        raise TooManyAttempts(
            "You have opened several records in an emergency just now. To keep records safe, please wait a few "
            "minutes or ask an administrator; they have been told.",
            int(BREAK_GLASS_WINDOW.total_seconds()),
        )
    if not is_uuid(patient_id):
        raise worded(InvalidInput, "error:there_such_patient", "patient_id")
    async with conn.transaction():
        if not await patients_store.exists(conn, patient_id):
            raise worded(InvalidInput, "error:there_such_patient", "patient_id")
        expires: datetime = await conn.fetchval(
            """INSERT INTO break_glass (staff_id, patient_id, reason, expires_at)
               VALUES ($1, $2, $3, now() + $4::interval) RETURNING expires_at""",
            staff_id,
            patient_id,
            reason,
            timedelta(minutes=BREAK_GLASS_MINUTES),
        )
        await alert_rules.add(
            conn,
            "break_glass",
            {"reason": reason, "expires_at": expires.isoformat()},
            staff_id=staff_id,
            patient_id=patient_id,
        )
        await audit.append(
            conn,
            actor=actor,
            action="patient.break_glass",
            entity_type="patient",
            entity_id=patient_id,
            patient_id=patient_id,
            summary={"minutes": BREAK_GLASS_MINUTES},  # the reason stays in break_glass: it may describe the patient
            meta=meta,
        )
    return Grant(patient_id, expires)


async def open_alerts(conn: asyncpg.Connection, *, limit: int = 200) -> list[dict[str, object]]:
    return await alert_rules.open_alerts(conn, limit=limit)
