"""The only SQL for staff accounts."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class StaffRow:
    id: str
    username: str
    display_name: str
    role: str
    password_hash: str
    active: bool


async def insert(conn: asyncpg.Connection, row: StaffRow) -> None:
    await conn.execute(
        """INSERT INTO staff (id, username, display_name, role, password_hash, active)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        row.id,
        row.username,
        row.display_name,
        row.role,
        row.password_hash,
        row.active,
    )


async def by_username(conn: asyncpg.Connection, username: str) -> StaffRow | None:
    r = await conn.fetchrow(
        "SELECT id::text, username, display_name, role, password_hash, active FROM staff WHERE username = $1",
        username,
    )
    return StaffRow(**dict(r)) if r else None


async def update_password_hash(conn: asyncpg.Connection, staff_id: str, password_hash: str) -> None:
    await conn.execute("UPDATE staff SET password_hash = $2 WHERE id = $1", staff_id, password_hash)
