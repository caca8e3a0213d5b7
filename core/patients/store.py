"""The only SQL for patients. Values arrive and leave encrypted; the service seals and opens them."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class PatientRow:
    id: str
    mrn: str
    name_enc: bytes
    phone_enc: bytes | None
    dob_enc: bytes | None
    address_enc: bytes | None
    sex: str


async def insert(
    conn: asyncpg.Connection,
    *,
    patient_id: str,
    mrn: str,
    name_enc: bytes,
    phone_enc: bytes | None,
    phone_lookup: bytes | None,
    dob_enc: bytes | None,
    address_enc: bytes | None,
    sex: str,
) -> None:
    await conn.execute(
        """INSERT INTO patients (id, mrn, name_enc, phone_enc, phone_lookup, dob_enc, address_enc, sex)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        patient_id,
        mrn,
        name_enc,
        phone_enc,
        phone_lookup,
        dob_enc,
        address_enc,
        sex,
    )


async def get(conn: asyncpg.Connection, patient_id: str) -> PatientRow | None:
    r = await conn.fetchrow(
        "SELECT id::text, mrn, name_enc, phone_enc, dob_enc, address_enc, sex FROM patients WHERE id = $1",
        patient_id,
    )
    return PatientRow(**dict(r)) if r else None


async def ids_by_phone_lookup(conn: asyncpg.Connection, phone_lookup: bytes) -> list[str]:
    rows = await conn.fetch("SELECT id::text FROM patients WHERE phone_lookup = $1 ORDER BY created_at", phone_lookup)
    return [r["id"] for r in rows]


async def next_mrn(conn: asyncpg.Connection) -> str:
    mrn: str = await conn.fetchval("SELECT 'LP' || lpad(nextval('patient_mrn_seq')::text, 7, '0')")
    return mrn


async def existing_mrns(conn: asyncpg.Connection, mrns: list[str]) -> set[str]:
    rows = await conn.fetch("SELECT mrn FROM patients WHERE mrn = ANY($1::text[])", mrns)
    return {r["mrn"] for r in rows}
