"""Everything through a transaction-pooling PgBouncer (issue 20), as managed PostgreSQL is usually fronted: `labpulse
serve`, `worker` and `mllp` run with DATABASE_URL on Debian's PgBouncer (LABPULSE_DB_POOLER=transaction), only the
job queue's LISTEN and the migrations on a session of their own. A scan moves a tube and the patient's socket hears
it (the relay's lock is per transaction), an analyzer's result is stored and acknowledged, a signed report is
rendered by the job queue; PgBouncer's own statistics show it carried the work. Without the schema set by the
pooler, every process refuses to start and says how to set it."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import asyncpg
import httpx
from hl7.mllp import open_hl7_connection
from websockets.asyncio.client import connect

from core.config import Settings
from core.identity import Actor, Role
from core.patients.sessions import PatientSessions
from core.staff import service as staff
from core.vault import Vault
from portal.drill.servers import pgbouncer, transactions_carried
from tests.core.test_reports import PHONE, _completed
from tests.support.procs import env_for, free_port, labpulse_cmd, stop_all, wait_healthy

PASSWORD = "correct horse battery"


def _env(settings: Settings, through: str) -> dict[str, str]:
    assert settings.database_url is not None
    direct = settings.database_url.reveal()
    return env_for(settings, DATABASE_URL=through, LABPULSE_DB_POOLER="transaction",
                   LABPULSE_LISTEN_DATABASE_URL=direct, LABPULSE_MIGRATION_DATABASE_URL=direct,
                   LABPULSE_DATA_DIR=str(settings.data_dir))  # fmt: skip


async def test_serve_worker_and_mllp_work_through_pgbouncer_in_transaction_mode(
    settings: Settings,
    pool: asyncpg.Pool,
    vault: Vault,
    redis,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    assert settings.database_url is not None
    async with pool.acquire() as conn:
        barcode, _ = await _completed(conn, vault)  # results in, waiting for the pathologist
        patient_id = await conn.fetchval("SELECT patient_id::text FROM samples WHERE barcode = $1", barcode)
        await staff.add(conn, username="pgb.phleb", display_name="P", role=Role.PHLEBOTOMIST, password=PASSWORD,
                        actor=Actor.system("tests"))  # fmt: skip
        other = await conn.fetchval("SELECT barcode FROM samples WHERE barcode <> $1 LIMIT 1", barcode)
    token = await PatientSessions(redis, settings.redis_prefix).create(
        phone_lookup=vault.lookup.digest("phone", PHONE).hex(), phone_hint="+91***", active_patient_id=patient_id
    )
    web, worker_health, mllp, mllp_health = (free_port() for _ in range(4))
    with pgbouncer(settings.database_url.reveal(), settings.db_schema) as through:
        env = _env(settings, through)
        logs = [(tmp_path / f"{name}.log").open("wb") for name in ("serve", "worker", "mllp")]
        procs = [
            subprocess.Popen([*labpulse_cmd(), "serve", "--port", str(web)], env=env, stderr=logs[0]),
            subprocess.Popen([*labpulse_cmd(), "worker", "--health-port", str(worker_health)], env=env,
                             stderr=logs[1]),
            subprocess.Popen([*labpulse_cmd(), "mllp", "--port", str(mllp), "--health-port", str(mllp_health)],
                             env=env, stderr=logs[2]),
        ]  # fmt: skip
        try:
            base = f"http://127.0.0.1:{web}"
            for url in (f"{base}/readyz", f"http://127.0.0.1:{worker_health}/readyz",
                        f"http://127.0.0.1:{mllp_health}/readyz"):  # fmt: skip
                wait_healthy(url, timeout=60)
            before = transactions_carried(through)
            async with (
                httpx.AsyncClient(base_url=base) as http,
                connect(f"ws://127.0.0.1:{web}/ws/status", additional_headers={"Cookie": f"lp_session={token}"},
                        origin=base) as ws,
            ):  # fmt: skip
                assert json.loads(await ws.recv())["type"] == "snapshot"
                signin = await http.post("/api/staff/session", json={"username": "dr.path", "password": "x" * 12})
                bearer = {"Authorization": f"Bearer {signin.json()['token']}"}
                signed = await http.post(f"/api/staff/samples/{barcode}/report", json={}, headers=bearer)
                assert signed.status_code in (200, 201, 202), signed.text
                heard = [json.loads(await asyncio.wait_for(ws.recv(), 20))]  # the relay, through the pooler
                while heard[-1].get("data", {}).get("to") != "reported":
                    heard.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))  # rendered by a job
            reader, writer = await open_hl7_connection("127.0.0.1", mllp)
            oru = (f"MSH|^~\\&|HEMA|LAB|LABPULSE|LAB|20261207||ORU^R01|PGB-1|P|2.5.1\rPID|1||M\r"
                   f"OBR|1|{other or 'NO-TUBE'}\rOBX|1|NM|718-7^Hb^LN||13|g/dL|||||F\r")  # fmt: skip
            writer.writeblock(oru.encode())
            await writer.drain()
            ack = (await asyncio.wait_for(reader.readblock(), 10)).decode()
            writer.close()
            assert "MSA|A" in ack and "PGB-1" in ack  # stored and answered (AA or AE), through the pooler
            assert transactions_carried(through) - before >= 10
        finally:
            stop_all(procs)  # type: ignore[arg-type]
            for log in logs:
                log.close()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM reports WHERE rendered_at IS NOT NULL") == 1
        assert await conn.fetchval("SELECT count(*) FROM hl7_messages WHERE control_id = 'PGB-1'") == 1


async def test_without_the_schema_set_by_the_pooler_every_process_refuses_to_start(settings: Settings) -> None:
    assert settings.database_url is not None
    with pgbouncer(settings.database_url.reveal(), settings.db_schema, set_schema=False) as through:
        done = subprocess.run([*labpulse_cmd(), "worker"], env=_env(settings, through), capture_output=True,
                              text=True, timeout=60)  # fmt: skip
    assert done.returncode != 0
    assert f"connect_query = 'SET search_path TO {settings.db_schema}'" in done.stderr
