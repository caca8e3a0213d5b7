"""What a patient (or a family member on the same phone) may see: their samples' timelines, the events that
moved them, what they acknowledged, and who looked at their record.

Every function takes the phone's lookup hash and checks, against PostgreSQL, that the patient belongs to
that phone; a patient who does not is reported as not found, so ids cannot be probed. Every read is audited.
The only SQL for what patients acknowledged (``patient_acks``); everything else is read through its owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from core import audit, critical, outbox
from core.booking import catalogue
from core.errors import InvalidInput, PatientNotFound
from core.events import Event
from core.identity import Actor, RequestMeta, Role
from core.orders import store as orders_store
from core.patients import store as patient_store
from core.reports import store as reports_store
from core.samples import store as samples_store
from core.samples.model import SampleState
from core.vault import Vault

S = SampleState
# The steps a patient sees, in order. Rejection and recollection are shown as a notice, not a step.
PATH: tuple[SampleState, ...] = (S.COLLECTED, S.IN_TRANSIT, S.RECEIVED_AT_LAB, S.PROCESSING, S.COMPLETED, S.REPORTED)


@dataclass(frozen=True, slots=True)
class Step:
    state: SampleState
    at: datetime | None
    centre: str | None


@dataclass(frozen=True, slots=True)
class SampleView:
    id: str
    barcode: str
    sample_type: str
    state: SampleState
    version: int
    centre: str
    tests: list[str]
    collected_at: datetime
    updated_at: datetime
    expected_ready_at: datetime | None
    rejection_reason: str | None
    steps: list[Step]
    call_expected: bool = False  # a result needs a doctor's attention: the patient is asked, calmly, to expect a call
    report_version: int | None = None  # 2 and up: a corrected result made a new version of the report
    report_id: str | None = None  # the latest version ready to download

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "barcode": self.barcode,
            "sample_type": self.sample_type,
            "state": self.state.value,
            "version": self.version,
            "centre": self.centre,
            "tests": self.tests,
            "collected_at": self.collected_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "expected_ready_at": self.expected_ready_at.isoformat() if self.expected_ready_at else None,
            "rejection_reason": self.rejection_reason,
            "call_expected": self.call_expected,
            "report_version": self.report_version,
            "report_id": self.report_id,
            "steps": [
                {"state": s.state.value, "at": s.at.isoformat() if s.at else None, "centre": s.centre}
                for s in self.steps
            ],
        }


@dataclass(frozen=True, slots=True)
class Snapshot:
    patient_id: str
    samples: list[SampleView]
    last_seq: int


@dataclass(frozen=True, slots=True)
class FamilyMember:
    id: str
    first_name: str


@dataclass(frozen=True, slots=True)
class AccessEntry:
    at: datetime
    who: str
    role: str
    action: str
    outcome: str


# A patient's tubes with their tests, expected time, call notice and latest report, in one round trip (the status
# page and every reconnect read it). Each table is read through its owner's subquery; PostgreSQL flattens them.
_TESTS = f"({orders_store.order_tests_sql()}) ot JOIN ({catalogue.tests_sql()}) tc ON tc.code = ot.test_code"
_SAMPLES_SQL = f"""
    SELECT s.id::text, s.barcode, s.sample_type, s.state, s.version, c.name AS centre, s.collected_at,
           s.updated_at, s.rejection_reason,
           ARRAY(SELECT tc.name FROM {_TESTS}
                 WHERE ot.order_id = s.order_id AND tc.sample_type = s.sample_type ORDER BY tc.name) AS tests,
           (SELECT max(tc.turnaround_hours) FROM {_TESTS}
            WHERE ot.order_id = s.order_id AND tc.sample_type = s.sample_type) AS tat,
           EXISTS (SELECT 1 FROM ({critical.raised_sql()}) a WHERE a.sample_id = s.id) AS call_expected,
           rp.id::text AS report_id, rp.version AS report_version
    FROM ({samples_store.view_sql()}) s JOIN ({catalogue.centres_sql()}) c ON c.id = s.centre_id
    LEFT JOIN LATERAL (SELECT r.id, r.version FROM ({reports_store.rendered_sql()}) r WHERE r.sample_id = s.id
                       ORDER BY r.version DESC LIMIT 1) rp ON true
    WHERE s.patient_id = $1 ORDER BY s.collected_at DESC, s.barcode"""
_HISTORY_SQL = f"""
    SELECT t.sample_id::text, t.to_state, t.at, c.name AS centre FROM ({samples_store.transitions_sql()}) t
    JOIN ({catalogue.centres_sql()}) c ON c.id = t.centre_id
    WHERE t.sample_id = ANY($1::uuid[]) ORDER BY t.sample_id, t.version"""


def patient_actor(phone_lookup: str) -> Actor:
    return Actor(f"phone:{phone_lookup[:16]}", Role.PATIENT)


async def _audit_read(
    conn: asyncpg.Connection,
    phone_lookup: str,
    action: str,
    patient_id: str,
    meta: RequestMeta | None,
    summary: dict[str, object] | None = None,
) -> None:
    """One audit row: this phone read something of this patient (in the caller's transaction)."""
    await audit.append(
        conn,
        actor=patient_actor(phone_lookup),
        action=action,
        entity_type="patient",
        entity_id=patient_id,
        patient_id=patient_id,
        summary=summary,
        meta=meta,
    )


async def patient_ids(conn: asyncpg.Connection, phone_lookup: str) -> list[str]:
    return await patient_store.ids_by_phone_lookup(conn, bytes.fromhex(phone_lookup))


async def authorize(
    conn: asyncpg.Connection, phone_lookup: str, patient_id: str, *, action: str, meta: RequestMeta | None = None
) -> None:
    """Raise PatientNotFound (and audit the refusal) unless ``patient_id`` belongs to this phone."""
    if patient_id in await patient_ids(conn, phone_lookup):
        return
    async with conn.transaction():
        await audit.append(
            conn,
            actor=patient_actor(phone_lookup),
            action=action,
            entity_type="patient",
            entity_id=patient_id[:64],
            outcome="refused:not_linked",
            meta=meta,
        )
    raise PatientNotFound(patient_id[:64])


async def family(
    conn: asyncpg.Connection, vault: Vault, phone_lookup: str, *, meta: RequestMeta | None = None
) -> list[FamilyMember]:
    """The patients on this phone with their first names (decrypted; each one an audited read)."""
    members: list[FamilyMember] = []
    async with conn.transaction():
        for pid in await patient_ids(conn, phone_lookup):
            row = await patient_store.get(conn, pid)
            if row is None:
                continue
            name = vault.open("patients", "name", pid, row.name_enc) or ""
            members.append(FamilyMember(pid, name.split()[0] if name.split() else ""))
            await _audit_read(conn, phone_lookup, "patient.name.read", pid, meta, {"purpose": "family switcher"})
    return members


async def snapshot(
    conn: asyncpg.Connection, phone_lookup: str, patient_id: str, *, meta: RequestMeta | None = None
) -> Snapshot:
    """The patient's samples and timelines, and the seq of the last event they reflect (one consistent read)."""
    await authorize(conn, phone_lookup, patient_id, action="patient.status.read", meta=meta)
    # One read-only repeatable-read transaction, so the samples and the last event number agree. The audit row
    # is written after it, in its own transaction: written inside, its chain update at commit would conflict
    # with every other audit commit on that chain (a serialization failure under load).
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        last_seq = await patient_store.event_seq(conn, patient_id)
        rows = await conn.fetch(_SAMPLES_SQL, patient_id)
        history = await conn.fetch(_HISTORY_SQL, [r["id"] for r in rows])
    async with conn.transaction():
        await _audit_read(conn, phone_lookup, "patient.status.read", patient_id, meta, {"samples": len(rows)})
    reached: dict[str, dict[str, tuple[datetime, str]]] = {}
    for h in history:
        reached.setdefault(h["sample_id"], {})[h["to_state"]] = (h["at"], h["centre"])
    views = []
    for r in rows:
        seen = reached.get(r["id"], {})
        steps = [Step(state, *(seen.get(state.value) or (None, None))) for state in PATH]
        tat = r["tat"]
        views.append(
            SampleView(
                id=r["id"],
                barcode=r["barcode"],
                sample_type=r["sample_type"],
                state=SampleState(r["state"]),
                version=r["version"],
                centre=r["centre"],
                tests=list(r["tests"]),
                collected_at=r["collected_at"],
                updated_at=r["updated_at"],
                expected_ready_at=r["collected_at"] + timedelta(hours=tat) if tat else None,
                rejection_reason=r["rejection_reason"],
                steps=steps,
                call_expected=r["call_expected"],
                report_version=r["report_version"],
                report_id=r["report_id"],
            )
        )
    return Snapshot(patient_id, views, last_seq)


async def events_after(
    conn: asyncpg.Connection, phone_lookup: str, patient_id: str, after_seq: int, *, limit: int = 1000
) -> list[Event]:
    """The committed events a client missed, in order, from PostgreSQL (the record, not the bus)."""
    await authorize(conn, phone_lookup, patient_id, action="patient.events.read")
    return await outbox.events_after(conn, patient_id, after_seq, limit=limit)


async def acknowledge(
    conn: asyncpg.Connection, phone_lookup: str, patient_id: str, event_id: str, *, meta: RequestMeta | None = None
) -> bool:
    """Record that the patient has seen an event (e.g. their report is ready). True if newly recorded."""
    await authorize(conn, phone_lookup, patient_id, action="patient.ack", meta=meta)
    try:
        eid = uuid.UUID(event_id)
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidInput("event_id", "An event id is a UUID, as sent in the event.") from exc
    async with conn.transaction():
        sample_id = await outbox.sample_of_event(conn, eid, patient_id)
        if sample_id is None:
            raise InvalidInput("event_id", "There is no such event for this patient.")
        added = await conn.fetchval(
            """INSERT INTO patient_acks (patient_id, event_id, sample_id) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING true""",
            patient_id,
            eid,
            sample_id,
        )
        if added:
            await audit.append(
                conn,
                actor=patient_actor(phone_lookup),
                action="patient.ack",
                entity_type="event",
                entity_id=str(eid),
                patient_id=patient_id,
                summary={"sample_id": sample_id},
                meta=meta,
            )
    return bool(added)


_ROLE_WORDS = {
    "patient": "You (or family on your phone)",
    "phlebotomist": "Sample collector",
    "lab_technician": "Lab technician",
    "pathologist": "Pathologist",
    "doctor": "Doctor",
    "support": "Support team",
    "admin": "Administrator",
    "system": "labpulse system",
}


async def acks(conn: asyncpg.Connection, patient_id: str) -> list[tuple[str, str, datetime]]:
    """What the patient acknowledged, oldest first: (event id, sample id, when)."""
    rows = await conn.fetch(
        "SELECT event_id::text, sample_id::text, acked_at FROM patient_acks WHERE patient_id = $1 ORDER BY acked_at",
        patient_id,
    )
    return [(r["event_id"], r["sample_id"], r["acked_at"]) for r in rows]


async def access_log(
    conn: asyncpg.Connection, phone_lookup: str, patient_id: str, *, limit: int = 200, meta: RequestMeta | None = None
) -> list[AccessEntry]:
    """Who read or changed this patient's record, newest first (this reading is itself recorded)."""
    await authorize(conn, phone_lookup, patient_id, action="patient.access_log.read", meta=meta)
    async with conn.transaction():
        rows = await audit.patient_log(conn, patient_id, limit)
        await _audit_read(conn, phone_lookup, "patient.access_log.read", patient_id, meta)
    return [
        AccessEntry(
            at=r.at,
            who=r.display_name or _ROLE_WORDS.get(r.actor_role, r.actor_role),
            role=r.actor_role,
            action=r.action,
            outcome=r.outcome,
        )
        for r in rows
    ]
