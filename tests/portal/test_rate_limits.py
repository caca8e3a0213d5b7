"""Per-endpoint rate limits in Redis: by address for sign-in, by session for status reads."""

from __future__ import annotations

import asyncpg
import httpx

from core.patients.sessions import PatientSessions
from core.ratelimit import ENDPOINT_LIMITS
from core.vault import Vault
from tests.support.factories import make_patient, make_sample


async def test_one_address_is_slowed_down_on_staff_sign_in(client: httpx.AsyncClient) -> None:
    limit = ENDPOINT_LIMITS["staff.session.create"][0]
    statuses = [
        (await client.post("/api/staff/session", json={"username": f"nobody{i}", "password": "x" * 12})).status_code
        for i in range(limit + 1)
    ]
    assert statuses[:limit] == [401] * limit
    last = await client.post("/api/staff/session", json={"username": "someone", "password": "x" * 12})
    assert statuses[limit] == 429 and last.status_code == 429
    assert int(last.headers["retry-after"]) > 0 and "Please wait" in last.json()["message"]


async def test_status_reads_are_limited_per_session_not_per_address(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    vault: Vault,
    redis,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    phone, neighbour = "+919866655501", "+919866655502"
    async with pool.acquire() as conn:
        p = await make_patient(conn, vault, phone=phone)
        await make_sample(conn, vault, patient=p)
        q = await make_patient(conn, vault, phone=neighbour)
    sessions = PatientSessions(redis, settings.redis_prefix)
    lookup = vault.lookup.digest("phone", phone).hex()
    busy = await sessions.create(phone_lookup=lookup, phone_hint="+91***", active_patient_id=p.id)
    other = await sessions.create(phone_lookup=vault.lookup.digest("phone", neighbour).hex(), phone_hint="+91***",
                                  active_patient_id=q.id)  # fmt: skip
    limit = ENDPOINT_LIMITS["patient.status"][0]
    codes = [
        (await client.get("/api/patient/status", headers={"Authorization": f"Bearer {busy}"})).status_code
        for _ in range(limit + 1)
    ]
    assert codes.count(200) == limit and codes[-1] == 429
    calm = await client.get("/api/patient/status", headers={"Authorization": f"Bearer {other}"})
    assert calm.status_code == 200  # another person behind the same address is unaffected
