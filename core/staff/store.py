"""The only SQL for staff accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

_COLUMNS = """id::text, username, display_name, role, password_hash, active, totp_secret_enc, totp_enabled,
              totp_last_step, failed_attempts, locked_until"""


@dataclass(frozen=True, slots=True)
class StaffRow:
    id: str
    username: str
    display_name: str
    role: str
    password_hash: str
    active: bool
    totp_secret_enc: bytes | None = None
    totp_enabled: bool = False
    totp_last_step: int = 0
    failed_attempts: int = 0
    locked_until: datetime | None = None


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
        f"SELECT {_COLUMNS} FROM staff WHERE username = $1",
        username,
    )
    return StaffRow(**dict(r)) if r else None


async def by_id(conn: asyncpg.Connection, staff_id: str) -> StaffRow | None:
    r = await conn.fetchrow(f"SELECT {_COLUMNS} FROM staff WHERE id = $1", staff_id)
    return StaffRow(**dict(r)) if r else None


async def record_failure(
    conn: asyncpg.Connection, staff_id: str, *, max_attempts: int, lock_minutes: int
) -> datetime | None:
    """Count a failed sign-in; the ``max_attempts``-th locks the account. Returns the lock's end, if locked."""
    locked: datetime | None = await conn.fetchval(
        """UPDATE staff SET failed_attempts = failed_attempts + 1,
                            locked_until = CASE WHEN failed_attempts + 1 >= $2
                                                THEN now() + make_interval(mins => $3) ELSE locked_until END
           WHERE id = $1 RETURNING locked_until""",
        staff_id,
        max_attempts,
        lock_minutes,
    )
    return locked


async def reset_failures(conn: asyncpg.Connection, staff_id: str) -> None:
    await conn.execute("UPDATE staff SET failed_attempts = 0, locked_until = NULL WHERE id = $1", staff_id)


async def set_totp(conn: asyncpg.Connection, staff_id: str, secret_enc: bytes | None, *, enabled: bool) -> None:
    await conn.execute(
        "UPDATE staff SET totp_secret_enc = $2, totp_enabled = $3, totp_last_step = 0 WHERE id = $1",
        staff_id,
        secret_enc,
        enabled,
    )


async def claim_totp_step(conn: asyncpg.Connection, staff_id: str, step: int) -> bool:
    """Record that the code of time step ``step`` was used; False if it (or a later one) already was: a replay."""
    claimed = await conn.fetchval(
        "UPDATE staff SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2 RETURNING true", staff_id, step
    )
    return bool(claimed)


async def update_password_hash(conn: asyncpg.Connection, staff_id: str, password_hash: str) -> None:
    await conn.execute("UPDATE staff SET password_hash = $2 WHERE id = $1", staff_id, password_hash)


async def set_contact(conn: asyncpg.Connection, staff_id: str, phone_enc: bytes | None, channel: str) -> bool:
    done: str = await conn.execute(
        "UPDATE staff SET phone_enc = $2, notify_channel = $3 WHERE id = $1", staff_id, phone_enc, channel
    )
    return done.endswith(" 1")


async def contact(conn: asyncpg.Connection, staff_id: str) -> tuple[bytes | None, str] | None:
    r = await conn.fetchrow("SELECT phone_enc, notify_channel FROM staff WHERE id = $1 AND active", staff_id)
    return (r["phone_enc"], r["notify_channel"]) if r else None


async def count_active(conn: asyncpg.Connection, staff_ids: list[str]) -> int:
    """How many of these ids are active staff accounts."""
    found: int = await conn.fetchval("SELECT count(*) FROM staff WHERE id = ANY($1::uuid[]) AND active", staff_ids)
    return found


def names_sql() -> str:
    """A subquery of every account's id, display name, role and whether it is active, for another store to JOIN
    (a doctor's name beside a consult, a report's signer), so only this module names the table. PostgreSQL
    flattens it: the plan is the same as a direct join."""
    return "SELECT id, display_name, role, active FROM staff"


@dataclass(frozen=True, slots=True)
class ExternalRow:
    id: str
    username: str
    display_name: str
    role: str
    active: bool


async def by_external_id(conn: asyncpg.Connection, external_id: str) -> ExternalRow | None:
    """The account an identity provider's issuer and subject (``issuer|subject``) signs in to."""
    r = await conn.fetchrow(
        "SELECT id::text, username, display_name, role, active FROM staff WHERE external_id = $1", external_id
    )
    return ExternalRow(**dict(r)) if r else None


async def insert_external(conn: asyncpg.Connection, row: StaffRow, external_id: str) -> None:
    """An account that signs in through the identity provider only (its password hash can never match)."""
    await conn.execute(
        """INSERT INTO staff (id, username, display_name, role, password_hash, external_id)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        row.id,
        row.username,
        row.display_name,
        row.role,
        row.password_hash,
        external_id,
    )


async def set_role(conn: asyncpg.Connection, staff_id: str, role: str) -> None:
    await conn.execute("UPDATE staff SET role = $2 WHERE id = $1", staff_id, role)


async def enable_totp(conn: asyncpg.Connection, staff_id: str) -> None:
    await conn.execute("UPDATE staff SET totp_enabled = true WHERE id = $1", staff_id)


def shifts_sql() -> str:
    """A subquery of every account's id and shift (``shift_start``, ``shift_end``), for a statement that another
    module builds (the access alert rules read the shift in the same round trip as the audit count)."""
    return "SELECT id, shift_start, shift_end FROM staff"


async def display_name(conn: asyncpg.Connection, staff_id: str) -> str | None:
    """The account's name as shown to others; None for an unknown id (any text, not only a UUID)."""
    name: str | None = await conn.fetchval("SELECT display_name FROM staff WHERE id::text = $1", staff_id)
    return name


async def centre_of(conn: asyncpg.Connection, staff_id: str) -> str | None:
    """Where the member works (None: every centre)."""
    found: str | None = await conn.fetchval("SELECT centre_id FROM staff WHERE id = $1", staff_id)
    return found


async def set_centre(conn: asyncpg.Connection, staff_id: str, centre_id: str | None) -> bool:
    done: str = await conn.execute("UPDATE staff SET centre_id = $2 WHERE id = $1", staff_id, centre_id)
    return done.endswith(" 1")


@dataclass(frozen=True, slots=True)
class Listed:
    id: str
    username: str
    display_name: str
    role: str
    active: bool
    totp_enabled: bool
    centre_id: str | None
    locked_until: datetime | None


async def everyone(conn: asyncpg.Connection) -> list[Listed]:
    rows = await conn.fetch(
        """SELECT id::text, username, display_name, role, active, totp_enabled, centre_id, locked_until
           FROM staff ORDER BY active DESC, username"""
    )
    return [Listed(**dict(r)) for r in rows]


async def change(conn: asyncpg.Connection, staff_id: str, *, role: str, centre_id: str | None, active: bool) -> bool:
    done: str = await conn.execute(
        "UPDATE staff SET role = $2, centre_id = $3, active = $4 WHERE id = $1::uuid",
        staff_id,
        role,
        centre_id,
        active,
    )
    return done.endswith(" 1")
