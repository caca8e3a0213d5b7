"""Doctors see their own patients only; break-glass opens one record for 30 minutes with a reason, is audited and
alerts the administrators; lab roles read records as part of their work."""

from __future__ import annotations

import asyncpg
import httpx

from core.identity import Role
from core.orders import service as orders
from core.vault import Vault
from tests.portal.conftest import username_for
from tests.support.factories import SYSTEM, ensure_centres, make_patient


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_doctor_scope_and_break_glass(
    client: httpx.AsyncClient,
    staff_token,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
    vault: Vault,
) -> None:
    doctor = await staff_token(Role.DOCTOR)
    async with pool.acquire() as conn:
        doctor_id = await conn.fetchval("SELECT id::text FROM staff WHERE username = $1", username_for(Role.DOCTOR))
        await ensure_centres(conn)
        mine = await make_patient(conn, vault, name="Referred Patient")
        await orders.place(
            conn, patient_id=mine.id, centre_id="CC-1", test_codes=["CBC"], actor=SYSTEM, referring_doctor=doctor_id
        )
        other = await make_patient(conn, vault, name="Someone Else")

    r = await client.get(f"/api/staff/patients/{mine.id}", headers=_auth(doctor))
    assert r.status_code == 200 and r.json()["name"] == "Referred Patient" and r.json()["access_basis"] == "referral"
    refused = await client.get(f"/api/staff/patients/{other.id}", headers=_auth(doctor))
    assert refused.status_code == 403 and refused.json()["error"] == "not_your_patient"
    assert "break-glass" in refused.json()["message"]

    short = await client.post(
        "/api/staff/break-glass", headers=_auth(doctor), json={"patient_id": other.id, "reason": "need"}
    )
    assert short.status_code == 422 and short.json()["field"] == "reason"
    opened = await client.post(
        "/api/staff/break-glass",
        headers=_auth(doctor),
        json={"patient_id": other.id, "reason": "Unconscious in casualty, need recent results"},
    )
    assert opened.status_code == 201, opened.text
    r = await client.get(f"/api/staff/patients/{other.id}", headers=_auth(doctor))
    assert r.status_code == 200 and r.json()["access_basis"] == "break_glass"

    admin = await staff_token(Role.ADMIN)
    alerts = (await client.get("/api/admin/alerts", headers=_auth(admin))).json()["alerts"]
    assert [(a["kind"], a["staff_id"], a["patient_id"]) for a in alerts] == [("break_glass", doctor_id, other.id)]
    async with pool.acquire() as conn:
        actions = await conn.fetch(
            "SELECT action, outcome, summary FROM audit_log "
            "WHERE patient_id = $1 AND actor_role = 'doctor' AND action NOT LIKE 'http:%' ORDER BY id",
            other.id,
        )
        assert [(a["action"], a["outcome"]) for a in actions] == [
            ("patient.read", "refused:not_their_patient"),
            ("patient.break_glass", "ok"),
            ("patient.read", "ok"),
        ]
        assert "casualty" not in str(actions[1]["summary"])  # the reason is kept with the grant, not in the log
        await conn.execute("UPDATE break_glass SET expires_at = now() - interval '1 second'")
    expired = await client.get(f"/api/staff/patients/{other.id}", headers=_auth(doctor))
    assert expired.status_code == 403  # thirty minutes, then closed again


async def test_lab_roles_read_records_and_cannot_break_glass(
    client: httpx.AsyncClient,
    staff_token,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
    vault: Vault,
) -> None:
    tech = await staff_token(Role.LAB_TECHNICIAN)
    async with pool.acquire() as conn:
        p = await make_patient(conn, vault)
    r = await client.get(f"/api/staff/patients/{p.id}", headers=_auth(tech))
    assert r.status_code == 200 and r.json()["access_basis"] == "role"
    bg = await client.post("/api/staff/break-glass", headers=_auth(tech), json={"patient_id": p.id, "reason": "x" * 20})
    assert bg.status_code == 403 and bg.json()["error"] == "forbidden"
