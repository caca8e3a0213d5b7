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
    if known := await find(conn, authority, code):
        return known, False
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


async def find(conn: asyncpg.Connection, authority: str, code: str) -> DoctorRow | None:
    row = await conn.fetchrow(
        "SELECT id::text, authority, code, name, verified FROM doctors WHERE authority = $1 AND code = $2",
        authority,
        code,
    )
    return DoctorRow(**dict(row)) if row else None


async def set_verified(conn: asyncpg.Connection, doctor_id: str) -> bool:
    done: str = await conn.execute("UPDATE doctors SET verified = true WHERE id = $1", doctor_id)
    return done.endswith(" 1")


async def get(conn: asyncpg.Connection, doctor_id: str) -> DoctorRow | None:
    row = await conn.fetchrow("SELECT id::text, authority, code, name, verified FROM doctors WHERE id = $1", doctor_id)
    return DoctorRow(**dict(row)) if row else None


async def update(conn: asyncpg.Connection, doctor_id: str, *, verified: bool | None, destination_id: str | None,
                 clear_destination: bool) -> bool:  # fmt: skip
    done: str = await conn.execute(
        """UPDATE doctors SET verified = coalesce($2, verified),
                  destination_id = CASE WHEN $4 THEN NULL ELSE coalesce($3, destination_id) END
           WHERE id = $1""",
        doctor_id,
        verified,
        destination_id,
        clear_destination,
    )
    return done.endswith(" 1")


async def unverified(conn: asyncpg.Connection) -> list[DoctorRow]:
    rows = await conn.fetch(
        "SELECT id::text, authority, code, name, verified FROM doctors WHERE NOT verified ORDER BY created_at"
    )
    return [DoctorRow(**dict(r)) for r in rows]


def destinations_sql() -> str:
    """A subquery of each doctor's results destination (``id``, ``destination_id``), for another store to JOIN in
    one statement while only this module names the table."""
    return "SELECT id, destination_id FROM doctors"
