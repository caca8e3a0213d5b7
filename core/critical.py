"""Critical values: each critical result raises an alert that goes to the on-duty doctor and climbs the chain
(next doctor, then lab manager) every ``STEP_MINUTES`` until someone acknowledges it in the portal. Every step is
audited. The clock is a parameter, so the timeline is tested exactly; the worker calls ``tick`` with the real one.

Messages to staff name the MRN, the tube and the value (they must act on it); the patient is never shown the
word "critical": their page asks them calmly to keep their phone nearby.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from core import audit
from core.db.statement import Statement
from core.errors import Conflict, NotFound
from core.identity import Actor, Role
from core.notify import Notifier
from core.vault import Vault

STEP_MINUTES = 10
ESCALATOR = Actor("critical:escalation", Role.SYSTEM)


def stage_alerts(stmt: Statement, results_cte: str, now: datetime) -> None:
    """Stage one alert per critical row of ``results_cte`` (a CTE returning ``id, sample_id, critical``), each with
    its own audit row, into the statement that stores the results. The first notification goes out at the
    next tick."""
    at = stmt.bind(now)
    stmt.cte(
        "raised",
        f"""INSERT INTO critical_alerts (result_id, sample_id, created_at, next_step_at)
            SELECT r.id, r.sample_id, {at}, {at} FROM {results_cte} r WHERE r.critical
            ON CONFLICT (result_id) DO NOTHING RETURNING id""",
    )
    audit.stage(stmt, actor=ESCALATOR, action="critical.raised", entity_type="critical_alert", only_if="raised",
                each_id="id", name="audit_raised")  # fmt: skip


async def tick(conn: asyncpg.Connection, vault: Vault, notifier: Notifier, now: datetime) -> list[tuple[int, int]]:
    """Notify the next person for every due, unacknowledged alert. Returns (alert id, chain position) sent."""
    chain = await conn.fetch(
        "SELECT position, staff_id::text, label, phone_enc FROM escalation_chain ORDER BY position"
    )
    if not chain:
        return []
    sent: list[tuple[int, int]] = []
    async with conn.transaction():  # the due rows stay locked while they are sent: two workers never double up
        due = await conn.fetch(
            """SELECT a.id, a.level, s.barcode, p.mrn, r.name, r.value_num, r.comparator, r.value_text, r.unit
               FROM critical_alerts a JOIN samples s ON s.id = a.sample_id JOIN patients p ON p.id = s.patient_id
               JOIN results r ON r.id = a.result_id
               WHERE a.acknowledged_at IS NULL AND a.next_step_at <= $1 ORDER BY a.id FOR UPDATE OF a SKIP LOCKED""",
            now,
        )
        for alert in due:
            level = min(alert["level"] + 1, len(chain))  # past the end of the chain: keep calling its last person
            person = chain[level - 1]
            shown = alert["value_num"] if alert["value_num"] is not None else alert["value_text"]
            text = (
                f"labpulse CRITICAL result: {alert['name']} {alert['comparator'] or ''}{shown} {alert['unit'] or ''} "
                f"for patient {alert['mrn']} (tube {alert['barcode']}). Please acknowledge in the portal "
                f"(alert {alert['id']})."
            )
            phone = vault.open("escalation_chain", "phone", str(person["position"]), person["phone_enc"]) or ""
            await notifier.send(phone, text, purpose="critical")
            await conn.execute(
                "UPDATE critical_alerts SET level = $2, next_step_at = $3 WHERE id = $1",
                alert["id"],
                level,
                now + timedelta(minutes=STEP_MINUTES),
            )
            await audit.append(
                conn,
                actor=ESCALATOR,
                action="critical.notified",
                entity_type="critical_alert",
                entity_id=str(alert["id"]),
                summary={"position": level, "label": person["label"], "staff_id": person["staff_id"]},
            )
            sent.append((alert["id"], level))
    return sent


async def acknowledge(conn: asyncpg.Connection, alert_id: int, actor: Actor, now: datetime) -> None:
    async with conn.transaction():
        row = await conn.fetchrow("SELECT acknowledged_at FROM critical_alerts WHERE id = $1 FOR UPDATE", alert_id)
        if row is None:
            raise NotFound("There is no such critical-value alert.")
        if row["acknowledged_at"] is not None:
            raise Conflict("This alert was already acknowledged.")
        await conn.execute(
            "UPDATE critical_alerts SET acknowledged_at = $2, acknowledged_by = $3 WHERE id = $1",
            alert_id,
            now,
            actor.id,
        )
        await audit.append(
            conn, actor=actor, action="critical.acknowledged", entity_type="critical_alert", entity_id=str(alert_id)
        )


async def set_chain(conn: asyncpg.Connection, vault: Vault, people: Sequence[tuple[str, str, str]]) -> None:
    """Replace the chain with (staff id, label, phone) in order: the on-duty doctor first."""
    async with conn.transaction():
        await conn.execute("DELETE FROM escalation_chain")
        for position, (staff_id, label, phone) in enumerate(people, 1):
            await conn.execute(
                "INSERT INTO escalation_chain (position, staff_id, label, phone_enc) VALUES ($1, $2, $3, $4)",
                position,
                staff_id,
                label,
                vault.seal("escalation_chain", "phone", str(position), phone),
            )
