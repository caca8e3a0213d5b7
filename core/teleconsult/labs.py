"""The patient's recent lab results beside the call, for the consult's doctor: released (reported) results of the
last six months, newest first, with their flags. The read is audited like any PHI read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg

from core import audit, results
from core.identity import Actor, RequestMeta
from core.teleconsult.service import Consult, require_doctor

WINDOW = timedelta(days=183)


@dataclass(frozen=True, slots=True)
class RecentResult:
    test: str
    value: str
    unit: str
    flag: str | None
    reference_range: str | None
    reported_on: date

    def to_json(self) -> dict[str, object]:
        return {"test": self.test, "value": self.value, "unit": self.unit, "flag": self.flag,
                "reference_range": self.reference_range, "reported_on": self.reported_on.isoformat()}  # fmt: skip


def _value(row: results.Released) -> str:
    if row.value_num is not None:
        return f"{row.comparator or ''}{row.value_num.normalize():f}"
    return str(row.value_text or row.value_code or "")


async def recent(
    conn: asyncpg.Connection,
    consult: Consult,
    *,
    actor: Actor,
    now: datetime | None = None,
    limit: int = 40,
    meta: RequestMeta | None = None,
) -> list[RecentResult]:
    require_doctor(actor, consult)
    if consult.patient_id is None:
        return []
    now = now or datetime.now(UTC)
    rows = await results.released_since(conn, consult.patient_id, now - WINDOW)
    rows = sorted(rows, key=lambda r: r.reported_at, reverse=True)[:limit]
    async with conn.transaction():
        await audit.append(conn, actor=actor, action="consult.labs.read", entity_type="patient",
                           entity_id=consult.patient_id, patient_id=consult.patient_id,
                           summary={"consult": consult.id, "results": len(rows)}, meta=meta)  # fmt: skip
    return [RecentResult(r.name, _value(r), r.unit or "", r.flag if r.flag not in (None, "N") else None,
                         r.reference_range, r.reported_at.date()) for r in rows]  # fmt: skip
