"""What a patient (or a family member on the same phone) may see: their samples' timelines, the events that
moved them, what they acknowledged, and who looked at their record.

Every function takes the phone's lookup hash and checks, against PostgreSQL, that the patient belongs to
that phone; a patient who does not is reported as not found, so ids cannot be probed. Every read is audited.
The only SQL for what patients acknowledged (``patient_acks``); everything else is read through its owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from core import audit, critical, outbox
from core.audit import Column
from core.booking import catalogue
from core.db.statement import Statement
from core.errors import InvalidInput, PatientNotFound
from core.events import Event
from core.i18n import worded
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
    names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # a test's or centre's name → its others

    def named(self, lang: str, english: str) -> str:
        """A test's or centre's name in ``lang``, as the lab's catalogue gives it (else the English)."""
        return self.names.get(english, {}).get(lang) or english

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


# A patient's tubes with their tests, expected time, call notice and latest report (the status page and every
# reconnect read it). Each table is read through its owner's subquery; PostgreSQL flattens them.
_TESTS = f"({orders_store.order_tests_sql()}) ot JOIN ({catalogue.tests_sql()}) tc ON tc.code = ot.test_code"
_TUBES_SQL = f"""
    SELECT s.id, s.barcode, s.sample_type, s.state, s.version, c.name AS centre, s.collected_at,
           s.updated_at, s.rejection_reason,
           ARRAY(SELECT tc.name FROM {_TESTS}
                 WHERE ot.order_id = s.order_id AND tc.sample_type = s.sample_type ORDER BY tc.name) AS tests,
           (SELECT jsonb_object_agg(tc.name, tc.names) FROM {_TESTS}
            WHERE ot.order_id = s.order_id AND tc.sample_type = s.sample_type) AS test_names,
           jsonb_build_object(c.name, c.names) AS centre_names,
           (SELECT max(tc.turnaround_hours) FROM {_TESTS}
            WHERE ot.order_id = s.order_id AND tc.sample_type = s.sample_type) AS tat,
           EXISTS (SELECT 1 FROM ({critical.raised_sql()}) a WHERE a.sample_id = s.id) AS call_expected,
           rp.id::text AS report_id, rp.version AS report_version
    FROM ({samples_store.view_sql()}) s JOIN ({catalogue.centres_sql()}) c ON c.id = s.centre_id
    LEFT JOIN LATERAL (SELECT r.id, r.version FROM ({reports_store.rendered_sql()}) r WHERE r.sample_id = s.id
                       ORDER BY r.version DESC LIMIT 1) rp ON true
    WHERE s.patient_id = (SELECT id FROM linked)"""
# Each tube with the states it reached, in order, and when and where (one row even without tubes: the seq).
_SNAPSHOT_SQL = f"""
    SELECT l.event_seq, t.id::text AS id, t.barcode, t.sample_type, t.state, t.version, t.centre, t.collected_at,
           t.updated_at, t.rejection_reason, t.tests, t.tat, t.call_expected, t.report_id, t.report_version,
           t.test_names, t.centre_names, h.states, h.ats, h.centres, h.step_names
    FROM (SELECT 1) one LEFT JOIN linked l ON true LEFT JOIN tubes t ON true
    LEFT JOIN LATERAL (
        SELECT array_agg(tr.to_state ORDER BY tr.version) AS states, array_agg(tr.at ORDER BY tr.version) AS ats,
               array_agg(c.name ORDER BY tr.version) AS centres, jsonb_object_agg(c.name, c.names) AS step_names
        FROM ({samples_store.transitions_sql()}) tr JOIN ({catalogue.centres_sql()}) c ON c.id = tr.centre_id
        WHERE tr.sample_id = t.id) h ON true
    ORDER BY t.collected_at DESC, t.barcode"""


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
    conn: asyncpg.Connection,
    phone_lookup: str,
    patient_id: str,
    *,
    meta: RequestMeta | None = None,
    action: str = "patient.status.read",
) -> Snapshot:
    """The patient's samples and timelines, and the seq of the last event they reflect, in one statement: it checks
    that the patient belongs to this phone, reads everything from one consistent view, and writes the audit row
    (the read, or under ``action`` the refusal) in the same round trip. Raises PatientNotFound if not linked."""
    try:
        uuid.UUID(patient_id)
    except (ValueError, TypeError, AttributeError):
        await authorize(conn, phone_lookup, patient_id, action=action, meta=meta)  # refuses, audited
        raise PatientNotFound(patient_id[:64]) from None
    stmt = Statement()
    stmt.cte("linked", patient_store.linked_sql(stmt.bind(patient_id), stmt.bind(bytes.fromhex(phone_lookup))))
    stmt.cte("tubes", _TUBES_SQL)
    stmt.cte("unlinked", "SELECT 1 AS x WHERE NOT EXISTS (SELECT 1 FROM linked)")
    actor = patient_actor(phone_lookup)
    audit.stage(stmt, actor=actor, action="patient.status.read", entity_type="patient", entity_id=patient_id,
                patient_id=patient_id, summary=Column("jsonb_build_object('samples', (SELECT count(*) FROM tubes))"),
                meta=meta, only_if="linked", name="audit_read")  # fmt: skip
    audit.stage(stmt, actor=actor, action=action, entity_type="patient", entity_id=patient_id[:64],
                outcome="refused:not_linked", meta=meta, only_if="unlinked", name="audit_refused")  # fmt: skip
    rows = await conn.fetch(stmt.sql(_SNAPSHOT_SQL), *stmt.args)
    if rows[0]["event_seq"] is None:
        raise PatientNotFound(patient_id[:64])
    return Snapshot(patient_id, [_view(r) for r in rows if r["id"] is not None], int(rows[0]["event_seq"]))


def _view(r: asyncpg.Record) -> SampleView:
    reached: dict[str, tuple[datetime, str]] = {}
    for state, at, centre in zip(r["states"] or (), r["ats"] or (), r["centres"] or (), strict=True):
        reached[state] = (at, centre)  # a state reached twice (a recollection) shows its latest time
    tat = r["tat"]
    return SampleView(
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
        steps=[Step(state, *(reached.get(state.value) or (None, None))) for state in PATH],
        call_expected=r["call_expected"],
        names={**(r["step_names"] or {}), **(r["centre_names"] or {}), **(r["test_names"] or {})},
        report_version=r["report_version"],
        report_id=r["report_id"],
    )


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
        raise worded(InvalidInput, "error:event_id_uuid_sent", "event_id") from exc
    async with conn.transaction():
        sample_id = await outbox.sample_of_event(conn, eid, patient_id)
        if sample_id is None:
            raise worded(InvalidInput, "error:there_such_event_patient", "event_id")
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
