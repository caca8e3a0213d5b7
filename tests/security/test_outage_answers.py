"""Issue 16, "Also": while PostgreSQL is away, a real server answers calmly: staff sign-in gets a 503 with
Retry-After (not a dropped connection), a status socket is closed with 1013 "try again later" after an error frame
(not an HTTP 500), and both work again once PostgreSQL is back."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core.config import Secret, Settings
from core.db.migrate import migrate
from core.identity import Role
from core.patients.sessions import PatientSessions
from core.staff import service as staff
from core.vault import Vault
from portal.app import create_app
from portal.drill.servers import OwnPostgres
from tests.support.factories import SYSTEM, make_patient
from tests.support.server import serving

PASSWORD = "a long enough staff password"


@pytest.mark.slow
async def test_a_postgres_outage_gets_calm_answers(settings: Settings, redis: aioredis.Redis) -> None:
    pg = OwnPostgres()
    s = settings.with_overrides(database_url=Secret(pg.url))
    try:
        conn = await asyncpg.connect(pg.url)
        await migrate(conn, s.db_schema)
        await conn.execute(f'SET search_path = "{s.db_schema}"')
        from core.db.pool import init_connection

        await init_connection(conn)
        vault = Vault.from_settings(s)
        await staff.add(conn, username="tech.out", display_name="T", role=Role.LAB_TECHNICIAN, password=PASSWORD,
                        actor=SYSTEM)  # fmt: skip
        patient = await make_patient(conn, vault, phone="+919811100099")
        await conn.close()
        token = await PatientSessions(redis, s.redis_prefix).create(
            phone_lookup=vault.lookup.digest("phone", "+919811100099").hex(), phone_hint="+91***",
            active_patient_id=patient.id)  # fmt: skip
        async with serving(create_app(s)) as addr, httpx.AsyncClient(base_url=f"http://{addr}", timeout=20) as http:
            pg.stop()
            r = await http.post("/api/staff/session", json={"username": "tech.out", "password": PASSWORD})
            assert r.status_code == 503 and r.headers["retry-after"] and "try again" in r.json()["message"], r.text
            async with connect(f"ws://{addr}/ws/status", additional_headers={"Cookie": f"lp_session={token}"},
                               origin=f"http://{addr}", open_timeout=10) as ws:  # type: ignore[arg-type]  # fmt: skip
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert frame["type"] == "error" and frame["code"] == "unavailable"
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
            pg.start()
            for _ in range(40):
                r = await http.post("/api/staff/session", json={"username": "tech.out", "password": PASSWORD})
                if r.status_code == 200:
                    break
                await asyncio.sleep(0.5)
            assert r.status_code == 200, r.text
    finally:
        pg.close()
