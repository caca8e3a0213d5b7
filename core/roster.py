"""The on-duty roster for critical values (issue 19): shifts, each naming the doctor, pathologist or administrator who
is messaged first about a critical value during it. When no shift covers the hour, the escalation chain's first
person is (``core/critical.py``); the rest of the chain follows either way. Shifts never overlap (one person is on
duty at a time), last at most 24 hours, and each change is audited. The only SQL for ``duty_roster``.

The person on a shift is reached at the phone and channel on their staff account (``staff.contact``): a shift is
refused for someone with none, and the editor can set it as the shift is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from core import audit, permissions
from core.errors import Conflict, InvalidInput, NotFound
from core.i18n import worded
from core.identity import Actor, RequestMeta, Role
from core.labtime import LAB_TZ
from core.staff import service as staff
from core.staff import store as staff_store
from core.vault import Vault

ON_DUTY_ROLES = frozenset({Role.DOCTOR.value, Role.PATHOLOGIST.value, Role.ADMIN.value})
LONGEST = timedelta(hours=24)
AHEAD = timedelta(days=60)  # a shift is planned at most this far ahead


@dataclass(frozen=True, slots=True)
class Shift:
    id: int
    staff_id: str
    name: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class OnDuty:
    """Who a critical value goes to first now: their account, name and where they are reached."""

    staff_id: str
    name: str
    phone: str
    channel: str


async def candidates(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    """(username, name) of the active accounts a shift may name, by name."""
    people = await staff_store.everyone(conn)
    return sorted(((p.username, p.display_name) for p in people if p.active and p.role in ON_DUTY_ROLES),
                  key=lambda p: p[1].lower())  # fmt: skip


def on_duty_sql(at: str) -> str:
    """A subquery of the staff id on duty at the SQL expression ``at`` (none, or one row)."""
    return f"SELECT staff_id FROM duty_roster WHERE starts_at <= {at} AND ends_at > {at}"


async def on_duty(conn: asyncpg.Connection, vault: Vault, now: datetime) -> OnDuty | None:
    """The person on the shift covering ``now`` who can be reached (active, with a phone), else None."""
    row = await conn.fetchrow(f"SELECT staff_id::text FROM ({on_duty_sql('$1')}) d", now)
    if row is None:
        return None
    reach = await staff.contact(conn, vault, row["staff_id"])
    name = await staff_store.display_name(conn, row["staff_id"])
    return OnDuty(row["staff_id"], name or "", *reach) if reach else None


async def shifts(conn: asyncpg.Connection, now: datetime, days: int = 14) -> list[Shift]:
    """The shift under way and those starting in the next ``days`` days, in order."""
    rows = await conn.fetch(
        f"""SELECT d.id, d.staff_id::text, coalesce(n.display_name, '') AS name, d.starts_at, d.ends_at
            FROM duty_roster d LEFT JOIN ({staff_store.names_sql()}) n ON n.id = d.staff_id
            WHERE d.ends_at > $1 AND d.starts_at < $2 ORDER BY d.starts_at""",
        now,
        now + timedelta(days=days),
    )
    return [Shift(**dict(r)) for r in rows]


def shift_times(day: str, start: str, end: str) -> tuple[datetime, datetime]:
    """A shift as the editor types it, in the lab's time zone: a date and two clock times; an end at or before the
    start is the next morning (a night shift)."""
    try:
        starts = datetime.fromisoformat(f"{day.strip()}T{start.strip()}").replace(tzinfo=LAB_TZ)
        ends = datetime.fromisoformat(f"{day.strip()}T{end.strip()}").replace(tzinfo=LAB_TZ)
    except ValueError:
        raise worded(InvalidInput, "error:give_shift_s_date", "day") from None
    return starts, ends + timedelta(days=1) if ends <= starts else ends


async def add_shift(
    conn: asyncpg.Connection,
    vault: Vault,
    *,
    username: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    actor: Actor,
    phone: str | None = None,
    channel: str = "sms",
    meta: RequestMeta | None = None,
) -> Shift:
    """Add a shift: an active doctor, pathologist or administrator, reachable (``phone`` sets their contact first),
    at most 24 hours, ending in the future and starting within 60 days, overlapping no other shift."""
    permissions.require(actor.role, "admin.escalation")
    if not starts_at < ends_at <= starts_at + LONGEST:
        raise worded(InvalidInput, "error:shift_ends_after_starts", "ends_at")
    if ends_at <= now or starts_at > now + AHEAD:
        raise worded(InvalidInput, "error:shift_ends_future_starts", "starts_at")
    member = await staff_store.by_username(conn, username.strip().lower())
    if member is None or not member.active or member.role not in ON_DUTY_ROLES:
        raise InvalidInput("username", f"{username[:60]!r} is not an active doctor, pathologist or administrator.")
    async with conn.transaction():
        if phone and phone.strip():
            await staff.set_contact(conn, vault, username=member.username, phone=phone, channel=channel, actor=actor)
        if await staff.contact(conn, vault, member.id) is None:
            raise worded(InvalidInput, "error:phone_critical_values_type", "phone", display_name=member.display_name)
        await conn.execute("LOCK TABLE duty_roster IN SHARE ROW EXCLUSIVE MODE")  # two editors never overlap
        clash = await conn.fetchrow(
            f"""SELECT coalesce(n.display_name, '') AS name, d.starts_at, d.ends_at FROM duty_roster d
                LEFT JOIN ({staff_store.names_sql()}) n ON n.id = d.staff_id
                WHERE d.starts_at < $2 AND d.ends_at > $1 ORDER BY d.starts_at LIMIT 1""",
            starts_at,
            ends_at,
        )
        if clash is not None:
            raise Conflict(f"It overlaps {clash['name']}'s shift, {_span(clash['starts_at'], clash['ends_at'])}.")
        shift_id = await conn.fetchval(
            """INSERT INTO duty_roster (staff_id, starts_at, ends_at, created_by) VALUES ($1, $2, $3, $4)
               RETURNING id""",
            member.id,
            starts_at,
            ends_at,
            actor.id,
        )
        await audit.append(conn, actor=actor, action="roster.shift_added", entity_type="duty_roster",
                           entity_id=str(shift_id), summary={"staff_id": member.id, "starts_at": starts_at.isoformat(),
                                                              "ends_at": ends_at.isoformat()}, meta=meta)  # fmt: skip
    return Shift(shift_id, member.id, member.display_name, starts_at, ends_at)


async def remove_shift(
    conn: asyncpg.Connection, shift_id: int, *, actor: Actor, meta: RequestMeta | None = None
) -> None:
    permissions.require(actor.role, "admin.escalation")
    async with conn.transaction():
        row = await conn.fetchrow("DELETE FROM duty_roster WHERE id = $1 RETURNING staff_id::text", shift_id)
        if row is None:
            raise worded(NotFound, "error:there_such_shift")
        await audit.append(conn, actor=actor, action="roster.shift_removed", entity_type="duty_roster",
                           entity_id=str(shift_id), summary={"staff_id": row["staff_id"]}, meta=meta)  # fmt: skip


def _span(starts: datetime, ends: datetime) -> str:
    a, b = starts.astimezone(LAB_TZ), ends.astimezone(LAB_TZ)
    return f"{a:%d %b %H:%M}–{b:%H:%M}" + ("" if a.date() == b.date() else " the next day")
