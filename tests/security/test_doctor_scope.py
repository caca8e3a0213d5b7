"""Issue 16, item 5: a list shows a doctor exactly the patients the record endpoint would. The critical-value list
and its acknowledgement: a doctor without a referral sees nothing and cannot acknowledge (404, audited); the one
the chain has called about it, or who referred the patient, does; pathologists and administrators see every alert."""

from __future__ import annotations

import asyncpg
import httpx

from core.config import Settings
from core.identity import Role
from core.staff import service as staff
from core.vault import Vault
from portal.app import create_app
from tests.core.hl7.test_critical import _setup
from tests.support.factories import SYSTEM
from tests.support.server import served

PASSWORD = "a long enough staff password"


async def _token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await client.post("/api/staff/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def test_the_critical_list_and_acknowledgement_follow_the_doctors_scope(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        patient_id, _ = await _setup(conn, vault)  # a critical WBC for a patient no doctor referred
        for username, role in (
            ("dr.outside", Role.DOCTOR),
            ("dr.referrer", Role.DOCTOR),
            ("path.one", Role.PATHOLOGIST),
        ):
            await staff.add(conn, username=username, display_name=username, role=role, password=PASSWORD, actor=SYSTEM)
        referrer = await conn.fetchval("SELECT id::text FROM staff WHERE username = 'dr.referrer'")
        await conn.execute("UPDATE orders SET referring_doctor = $1 WHERE patient_id = $2", referrer, patient_id)
        await conn.execute(
            "UPDATE staff SET password_hash = (SELECT password_hash FROM staff WHERE username = 'dr.outside') "
            "WHERE username = 'chain0'"
        )
        alert_id = await conn.fetchval("SELECT id FROM critical_alerts")
    async with served(create_app(settings)) as client:
        outside, referring, tech, on_duty = [
            await _token(client, u) for u in ("dr.outside", "dr.referrer", "path.one", "chain0")
        ]
        assert (await client.get("/api/staff/patients/" + patient_id, headers=outside)).status_code == 403
        assert (await client.get("/api/staff/critical", headers=outside)).json()["alerts"] == []
        assert (await client.get("/api/staff/critical", headers=on_duty)).json()["alerts"] == []  # not called yet
        assert len((await client.get("/api/staff/critical", headers=referring)).json()["alerts"]) == 1
        assert len((await client.get("/api/staff/critical", headers=tech)).json()["alerts"]) == 1
        refused = await client.post(f"/api/staff/critical/{alert_id}/ack", headers=outside)
        assert refused.status_code == 404
        async with pool.acquire() as conn:
            await conn.execute("UPDATE critical_alerts SET level = 1")  # the chain has called the on-duty doctor
        assert len((await client.get("/api/staff/critical", headers=on_duty)).json()["alerts"]) == 1
        assert (await client.post(f"/api/staff/critical/{alert_id}/ack", headers=on_duty)).status_code == 200
    async with pool.acquire() as conn:
        outcomes = [r["outcome"] for r in await conn.fetch(
            "SELECT outcome FROM audit_log WHERE action = 'critical.acknowledged' ORDER BY id")]  # fmt: skip
    assert outcomes == ["refused:scope", "ok"]
