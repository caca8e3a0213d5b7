"""Administrators set up where results go out to and confirm doctors first seen in orders, over HTTP; others may
not; each change is audited."""

from __future__ import annotations

import asyncpg
import httpx

from core.doctors import service as doctors
from core.identity import Role
from tests.support.factories import SYSTEM


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_destinations_and_doctors(client: httpx.AsyncClient, staff_token, pool: asyncpg.Pool) -> None:  # type: ignore[no-untyped-def]
    h = auth(await staff_token(Role.ADMIN))
    url = "/api/admin/hl7/destinations/DR-RAO"
    body = {"name": "Dr Rao clinic", "host": "emr.rao-clinic.example", "port": 2575, "receiving_facility": "RAO"}
    assert (await client.put(url, headers=h, json={**body, "port": 70000})).json()["field"] == "port"
    assert (await client.put(url, headers=h, json={**body, "host": "bad host;rm"})).json()["field"] == "host"
    assert (await client.put(url, headers=h, json=body)).status_code == 200
    listed = (await client.get("/api/admin/hl7/destinations", headers=h)).json()["destinations"]
    assert [(d["id"], d["port"], d["active"]) for d in listed] == [("DR-RAO", 2575, True)]
    async with pool.acquire() as conn:
        doctor, new = await doctors.find_or_add(
            conn, authority="CITYLIS", code="D-7781", name="Dr Meera Rao", actor=SYSTEM
        )
    assert new
    waiting = (await client.get("/api/admin/doctors", headers=h)).json()["doctors"]
    assert [d["code"] for d in waiting] == ["D-7781"]
    wrong = await client.post(f"/api/admin/doctors/{doctor.id}", headers=h, json={"destination_id": "NOWHERE"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "destination_id"
    ok = await client.post(
        f"/api/admin/doctors/{doctor.id}", headers=h, json={"verified": True, "destination_id": "DR-RAO"}
    )
    assert ok.status_code == 200
    assert (await client.get("/api/admin/doctors", headers=h)).json()["doctors"] == []
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT verified, destination_id FROM doctors WHERE id = $1", doctor.id)
        assert (row["verified"], row["destination_id"]) == (True, "DR-RAO")
        actions = {r["action"] for r in await conn.fetch("SELECT action FROM audit_log")}
    assert {"hl7.destination.set", "doctor.update"} <= actions
    phleb = auth(await staff_token(Role.PHLEBOTOMIST))
    assert (await client.put(url, headers=phleb, json=body)).status_code == 403
