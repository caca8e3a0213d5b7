"""Patient use cases: create (encrypting every PHI field), read (audited), find by phone (by keyed hash)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

import asyncpg

from core import audit
from core.db.statement import Statement
from core.db.tx import atomic
from core.errors import InvalidInput, PatientNotFound
from core.i18n import worded
from core.identity import Actor, RequestMeta
from core.ids import is_uuid
from core.patients import store
from core.patients.model import NewPatient, Patient, Sex
from core.phones import normalize_phone
from core.vault import Vault

_T = "patients"


async def create(
    conn: asyncpg.Connection, vault: Vault, new: NewPatient, *, actor: Actor, meta: RequestMeta | None = None
) -> Patient:
    """A new patient and its audit row, in one statement (our MRN from the sequence when none is given)."""
    name = new.name.strip()
    if not 1 <= len(name) <= 200:
        raise worded(InvalidInput, "error:name_between_characters", "name")
    phone = normalize_phone(new.phone, vault.phone_region) if new.phone else None
    pid = str(uuid.uuid4())
    mrn = new.mrn or await store.next_mrn(conn)
    stmt = Statement()
    store.stage_insert(stmt, pid, mrn, _sealed(vault, pid, replace(new, name=name, phone=phone)),
                       mrn_authority=new.mrn_authority)  # fmt: skip
    _stage_audit(stmt, "patient.create", pid, actor, {"mrn": mrn, **({"authority": new.mrn_authority} if
                 new.mrn_authority else {})}, meta)  # fmt: skip
    await store.run(conn, stmt)
    return Patient(pid, mrn, name, new.sex, phone, new.date_of_birth, new.address)


def _sealed(vault: Vault, pid: str, new: NewPatient) -> store.Sealed:
    """The fields as stored: every PHI field sealed to this patient's row; ``new.phone`` already normalised."""
    return store.Sealed(
        name_enc=vault.seal(_T, "name", pid, new.name.strip()),  # type: ignore[arg-type]
        phone_enc=vault.seal(_T, "phone", pid, new.phone),
        phone_lookup=vault.lookup.digest("phone", new.phone) if new.phone else None,
        dob_enc=vault.seal(_T, "dob", pid, new.date_of_birth.isoformat() if new.date_of_birth else None),
        address_enc=vault.seal(_T, "address", pid, new.address),
        sex=new.sex.value,
    )


def _stage_audit(
    stmt: Statement, action: str, pid: str, actor: Actor, summary: dict[str, str], meta: RequestMeta | None = None
) -> None:
    audit.stage(
        stmt, actor=actor, action=action, entity_type="patient", entity_id=pid, patient_id=pid, summary=summary,
        meta=meta, only_if="patient",
    )  # fmt: skip


async def read(
    conn: asyncpg.Connection,
    vault: Vault,
    patient_id: str,
    *,
    actor: Actor,
    purpose: str,
    meta: RequestMeta | None = None,
) -> Patient:
    """Decrypt one patient's record; every call leaves an audit row saying who read it and why."""
    if not is_uuid(patient_id):
        raise PatientNotFound(patient_id[:64])
    async with conn.transaction():
        row = await store.get(conn, patient_id)
        if row is None:
            raise PatientNotFound(patient_id)
        await audit.append(
            conn,
            actor=actor,
            action="patient.read",
            entity_type="patient",
            entity_id=patient_id,
            patient_id=patient_id,
            summary={"purpose": purpose},
            meta=meta,
        )
    dob = vault.open(_T, "dob", row.id, row.dob_enc)
    return Patient(
        id=row.id,
        mrn=row.mrn,
        name=vault.open(_T, "name", row.id, row.name_enc) or "",
        sex=Sex(row.sex),
        phone=vault.open(_T, "phone", row.id, row.phone_enc),
        date_of_birth=date.fromisoformat(dob) if dob else None,
        address=vault.open(_T, "address", row.id, row.address_enc),
        mrn_authority=row.mrn_authority,
    )


async def ids_for_phone(conn: asyncpg.Connection, vault: Vault, raw_phone: str) -> list[str]:
    """Every patient whose verified phone is ``raw_phone`` (a family may share one)."""
    phone = normalize_phone(raw_phone, vault.phone_region)
    return await store.ids_by_phone_lookup(conn, vault.lookup.digest("phone", phone))


@dataclass(frozen=True, slots=True)
class Registered:
    """What registering a patient from another system did: the record, whether it was new, and anything a person
    should look at (a phone number that could not be read, kept out of the record rather than guessed)."""

    patient_id: str
    created: bool
    problems: tuple[str, ...] = ()


Then = Callable[[Statement, Registered, str], None]


async def register_or_update(
    conn: asyncpg.Connection, vault: Vault, new: NewPatient, *, actor: Actor, source: str
) -> Registered:
    """A patient as the lab's own system (the LIS, over HL7 ADT) states them, by MRN and assigning authority: created
    when new, updated in place when known (one audit row either way), followed to the surviving record when merged."""
    new, mrn, problems = _from_another_system(vault, new)
    async with atomic(conn):
        row = await _by_mrn_followed(conn, new.mrn_authority, mrn, lock=True)
        if row is None:
            created = await _write(conn, vault, new, None, actor=actor, source=source, problems=problems)
            if created is not None:
                return created
            # another message registered this MRN a moment ago: update it
            row = await _by_mrn_followed(conn, new.mrn_authority, mrn, lock=True)
            if row is None:
                raise worded(InvalidInput, "error:mrn_could_not_registered", "mrn")
        updated = await _write(conn, vault, new, row.id, actor=actor, source=source, problems=problems)
    if updated is None:  # cannot be: the row is locked, and followed to the surviving record
        raise worded(InvalidInput, "error:patient_could_not_updated", "mrn")
    return updated


async def register_at_once(
    conn: asyncpg.Connection, vault: Vault, new: NewPatient, *, actor: Actor, source: str, then: Then
) -> Registered | None:
    """``register_or_update`` for a caller that holds no transaction, in one statement after one read: the record
    and its audit row, and what ``then`` stages on the same statement (after CTE ``patient``). None, with nothing
    written, when that cannot be done so (a merged record, or a registration racing another): the caller then uses
    ``register_or_update``."""
    new, mrn, problems = _from_another_system(vault, new)
    row = await store.get_by_mrn(conn, new.mrn_authority, mrn)
    if row is not None and row.merged_into:
        return None
    return await _write(conn, vault, new, row.id if row else None, actor=actor, source=source, problems=problems,
                        then=then)  # fmt: skip


def _from_another_system(vault: Vault, new: NewPatient) -> tuple[NewPatient, str, list[str]]:
    """The record as another system states it, checked: its phone normalised (or left out, with the problem)."""
    if not new.mrn:
        raise worded(InvalidInput, "error:patient_from_another_system", "mrn")
    if not 1 <= len(new.name.strip()) <= 200:
        raise worded(InvalidInput, "error:name_between_characters", "name")
    problems: list[str] = []
    phone = None
    if new.phone:
        try:
            phone = normalize_phone(new.phone, vault.phone_region)
        except InvalidInput:
            problems.append("the phone number could not be read; the patient was kept without one")
    return replace(new, phone=phone), new.mrn, problems


async def _write(
    conn: asyncpg.Connection,
    vault: Vault,
    new: NewPatient,
    patient_id: str | None,
    *,
    actor: Actor,
    source: str,
    problems: list[str],
    then: Then | None = None,
) -> Registered | None:
    """Insert (``patient_id`` None: a new MRN) or update the record, with its audit row, in one statement. None when
    nothing was written (the MRN was registered meanwhile, or the record merged)."""
    mrn = new.mrn or ""
    stmt = Statement()
    if patient_id is None:
        done = Registered(str(uuid.uuid4()), True, tuple(problems))
        store.stage_insert(stmt, done.patient_id, mrn, _sealed(vault, done.patient_id, new),
                           mrn_authority=new.mrn_authority, if_new=True)  # fmt: skip
        _stage_audit(stmt, "patient.create", done.patient_id, actor, {"mrn": mrn, "authority": new.mrn_authority})
    else:
        done = Registered(patient_id, False, tuple(problems))
        store.stage_update(stmt, patient_id, _sealed(vault, patient_id, new))
        _stage_audit(stmt, "patient.update", patient_id, actor, {"mrn": mrn, "source": source})
    if then is not None:
        then(stmt, done, "patient")
    return done if await store.run(conn, stmt) else None


async def _by_mrn_followed(
    conn: asyncpg.Connection, authority: str, mrn: str, *, lock: bool
) -> store.PatientRow | None:
    row = await store.get_by_mrn(conn, authority, mrn, lock=lock)
    while row is not None and row.merged_into:
        row = await store.get(conn, row.merged_into, lock=lock)
    return row


async def find_by_mrn(conn: asyncpg.Connection, authority: str, mrn: str) -> str | None:
    """The id of the patient with this MRN (followed to the surviving record when it was merged)."""
    row = await _by_mrn_followed(conn, authority, mrn, lock=False)
    return row.id if row else None


async def change_mrn(conn: asyncpg.Connection, patient_id: str, authority: str, mrn: str, *, actor: Actor) -> None:
    """The assigning system renumbered the patient (ADT^A40 naming a new identifier for a known record)."""
    async with conn.transaction():
        await store.set_mrn(conn, patient_id, authority, mrn)
        await audit.append(
            conn, actor=actor, action="patient.renumber", entity_type="patient", entity_id=patient_id,
            patient_id=patient_id, summary={"mrn": mrn, "authority": authority},
        )  # fmt: skip


async def merged_into(conn: asyncpg.Connection, patient_id: str) -> list[str]:
    """The records merged into this patient (their audit rows, say, are this patient's too)."""
    return await store.merged_ids(conn, patient_id) if is_uuid(patient_id) else []


async def ids_for_lookup(conn: asyncpg.Connection, phone_lookup: bytes) -> list[str]:
    """Every patient whose phone has this keyed hash (a booking keeps only the hash)."""
    return await store.ids_by_phone_lookup(conn, phone_lookup)
