"""Patient use cases: create (encrypting every PHI field), read (audited), find by phone (by keyed hash)."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from core import audit
from core.errors import InvalidInput, PatientNotFound
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
    name = new.name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("name", "A name is between 1 and 200 characters.")
    phone = normalize_phone(new.phone, vault.phone_region) if new.phone else None
    pid = str(uuid.uuid4())
    async with conn.transaction():
        mrn = new.mrn or await store.next_mrn(conn)
        await store.insert(
            conn,
            patient_id=pid,
            mrn=mrn,
            name_enc=vault.seal(_T, "name", pid, name),  # type: ignore[arg-type]
            phone_enc=vault.seal(_T, "phone", pid, phone),
            phone_lookup=vault.lookup.digest("phone", phone) if phone else None,
            dob_enc=vault.seal(_T, "dob", pid, new.date_of_birth.isoformat() if new.date_of_birth else None),
            address_enc=vault.seal(_T, "address", pid, new.address),
            sex=new.sex.value,
        )
        await audit.append(
            conn,
            actor=actor,
            action="patient.create",
            entity_type="patient",
            entity_id=pid,
            patient_id=pid,
            summary={"mrn": mrn},
            meta=meta,
        )
    return Patient(pid, mrn, name, new.sex, phone, new.date_of_birth, new.address)


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
    )


async def ids_for_phone(conn: asyncpg.Connection, vault: Vault, raw_phone: str) -> list[str]:
    """Every patient whose verified phone is ``raw_phone`` (a family may share one)."""
    phone = normalize_phone(raw_phone, vault.phone_region)
    return await store.ids_by_phone_lookup(conn, vault.lookup.digest("phone", phone))
