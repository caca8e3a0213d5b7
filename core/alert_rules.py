"""Alert rules on staff access, evaluated after each record read: many distinct patients in an hour, or reading
outside the staff member's shift. Each rule raises at most one alert per staff member per hour. The only SQL for
the alerts table; the rules read the audit log and the shift through their owners' subqueries, in one round
trip."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time

import asyncpg

from core import audit
from core.identity import Actor
from core.labtime import LAB_TZ
from core.staff import store as staff_store

BULK_PATIENTS_PER_HOUR = 20


def outside(shift_start: time | None, shift_end: time | None, at: datetime) -> bool:
    if shift_start is None or shift_end is None:
        return False
    local = at.astimezone(LAB_TZ).time()
    if shift_start <= shift_end:
        return not shift_start <= local < shift_end
    return shift_end <= local < shift_start  # a night shift across midnight


async def _raise_once(conn: asyncpg.Connection, kind: str, staff_id: str, detail: dict[str, object]) -> bool:
    added = await conn.fetchval(
        """INSERT INTO alerts (kind, staff_id, detail)
           SELECT $1, $2, $3 WHERE NOT EXISTS (
               SELECT 1 FROM alerts WHERE kind = $1 AND staff_id = $2 AND created_at > now() - interval '1 hour')
           RETURNING true""",
        kind,
        staff_id,
        detail,
    )
    return bool(added)


async def after_read(conn: asyncpg.Connection, actor: Actor) -> list[str]:
    """Evaluate the rules for a staff member who has just read a record; returns the kinds of alert raised."""
    if not actor.id.startswith("staff:"):
        return []
    staff_id = actor.id.removeprefix("staff:")
    raised = []
    row = await conn.fetchrow(
        f"""SELECT ({audit.patients_read_sql("$1")}) AS patients, s.shift_start, s.shift_end, now() AS now
            FROM ({staff_store.shifts_sql()}) s WHERE s.id::text = $2""",
        actor.id,
        staff_id,
    )
    if row is None:
        return []
    if row["patients"] > BULK_PATIENTS_PER_HOUR and await _raise_once(
        conn, "bulk_access", staff_id, {"patients_last_hour": row["patients"], "role": actor.role.value}
    ):
        raised.append("bulk_access")
    if outside(row["shift_start"], row["shift_end"], row["now"]) and await _raise_once(
        conn,
        "off_shift_access",
        staff_id,
        {"shift": f"{row['shift_start']:%H:%M}-{row['shift_end']:%H:%M}", "role": actor.role.value},
    ):
        raised.append("off_shift_access")
    return raised


async def add(
    conn: asyncpg.Connection,
    kind: str,
    detail: Mapping[str, object] | None = None,
    *,
    staff_id: str | None = None,
    patient_id: str | None = None,
) -> None:
    """An alert for administrators, in the caller's transaction."""
    await conn.execute(
        "INSERT INTO alerts (kind, staff_id, patient_id, detail) VALUES ($1, $2, $3, $4)",
        kind,
        staff_id,
        patient_id,
        dict(detail or {}),
    )


async def add_unless_open(conn: asyncpg.Connection, kind: str) -> None:
    """An alert of ``kind``, unless one is still waiting to be acknowledged."""
    await conn.execute(
        """INSERT INTO alerts (kind, detail) SELECT $1, '{}'::jsonb
           WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE kind = $1 AND acknowledged_at IS NULL)""",
        kind,
    )


async def open_alerts(conn: asyncpg.Connection, *, limit: int = 200) -> list[dict[str, object]]:
    """Alerts nobody has acknowledged, newest first."""
    rows = await conn.fetch(
        """SELECT id, kind, staff_id, patient_id::text, detail, created_at FROM alerts
           WHERE acknowledged_at IS NULL ORDER BY created_at DESC LIMIT $1""",
        limit,
    )
    return [{**dict(r), "created_at": r["created_at"].isoformat()} for r in rows]
