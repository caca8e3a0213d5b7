"""The only SQL for doctors who order tests (as other systems name them: an id within an authority)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class DoctorRow:
    id: str
    authority: str
    code: str
    name: str
    verified: bool


async def find_or_insert(
    conn: asyncpg.Connection, *, doctor_id: str, authority: str, code: str, name: str
) -> tuple[DoctorRow, bool]:
    """The doctor with this id in this authority, inserted (unverified) when first seen; and whether it is new."""
    row = await conn.fetchrow(
        """INSERT INTO doctors (id, authority, code, name) VALUES ($1, $2, $3, $4)
           ON CONFLICT (authority, code) DO NOTHING
           RETURNING id::text, authority, code, name, verified""",
        doctor_id,
        authority,
        code,
        name,
    )
    if row is not None:
        return DoctorRow(**dict(row)), True
    row = await conn.fetchrow(
        "SELECT id::text, authority, code, name, verified FROM doctors WHERE authority = $1 AND code = $2",
        authority,
        code,
    )
    return DoctorRow(**dict(row)), False


async def set_verified(conn: asyncpg.Connection, doctor_id: str) -> bool:
    done: str = await conn.execute("UPDATE doctors SET verified = true WHERE id = $1", doctor_id)
    return done.endswith(" 1")


async def get(conn: asyncpg.Connection, doctor_id: str) -> DoctorRow | None:
    row = await conn.fetchrow("SELECT id::text, authority, code, name, verified FROM doctors WHERE id = $1", doctor_id)
    return DoctorRow(**dict(row)) if row else None
