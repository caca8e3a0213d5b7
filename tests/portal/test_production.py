"""Production mode end to end, as real processes: `serve`, `worker` and `mllp` with LABPULSE_MODE=production,
every secret set and Twilio pointed at the local stand-in of its API. A patient imported from CSV asks for a
sign-in code, the stand-in receives the SMS, and the code signs them in; an analyzer's critical result over MLLP
reaches the on-duty doctor (set with `labpulse escalation set`) through the stand-in and is acknowledged; the
report the pathologist releases is announced to the patient by SMS; a booked teleconsult sends each side its own
join link.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from hl7.mllp import open_hl7_connection

from core.config import Secret, Settings
from core.labtime import LAB_TZ
from core.samples import service as samples
from core.samples.model import SampleState
from core.teleconsult import service as consults
from core.teleconsult import slots as consult_slots
from core.vault import Vault
from portal.drill.standins import ACCOUNT_SID, AUTH_TOKEN, providers, template_env
from tests.core.test_reports import VALUES
from tests.security.test_db_role import _as
from tests.support.factories import TECH, make_sample
from tests.support.procs import env_for, free_port, labpulse_cmd, run, stop_all, wait_healthy

PATIENT_PHONE, DOCTOR_PHONE = "+919800055501", "+919800055502"
PASSWORD = "a long enough staff password"


async def _until(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)
    return found


@pytest.mark.slow
async def test_production_mode_signs_in_escalates_and_announces_through_the_providers(
    settings: Settings, pool: asyncpg.Pool, vault: Vault, tmp_path: Path
) -> None:
    # As in production: the processes' role owns nothing; migrations run as the owner.
    role = f"lpa_{uuid.uuid4().hex[:12]}"
    async with pool.acquire() as conn:
        await conn.execute(f'CREATE ROLE "{role}" LOGIN')
    owner_url = settings.database_url.reveal()  # type: ignore[union-attr]
    try:
        await _run(settings.with_overrides(database_url=Secret(_as(owner_url, role))), owner_url, pool, vault,
                   tmp_path)  # fmt: skip
    finally:
        async with pool.acquire() as conn:
            await conn.execute(f'DROP OWNED BY "{role}"')
            await conn.execute(f'DROP ROLE "{role}"')


async def _run(settings: Settings, owner_url: str, pool: asyncpg.Pool, vault: Vault, tmp_path: Path) -> None:
    async with providers() as stand_in:
        env = env_for(
            settings,
            LABPULSE_MIGRATION_DATABASE_URL=owner_url,
            TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_SMS_FROM="+14155550100",
            TWILIO_API_BASE=stand_in.base_url, LABPULSE_PUBLIC_URL="https://lab.example",
            LABPULSE_ESCALATION_TICK_SECONDS="1", **template_env(),
        )  # fmt: skip
        assert run(["migrate"], env).returncode == 0  # as the owner; the processes' role is granted row access
        csv = tmp_path / "patients.csv"
        csv.write_text(f"mrn,name,date_of_birth,sex,phone\nH-9001,Meena Iyer,1979-05-02,F,{PATIENT_PHONE}\n")
        assert run(["patients", "import", str(csv)], env).returncode == 0
        for username, role in (("dr.duty", "doctor"), ("dr.path", "pathologist")):
            added = run(["staff", "add", "--username", username, "--role", role, "--password-stdin"], env, PASSWORD)
            assert added.returncode == 0, added.stderr
        assert run(["escalation", "set", f"dr.duty:sms:{DOCTOR_PHONE}"], env).returncode == 0
        assert run(["staff", "contact", "dr.duty", "--phone", DOCTOR_PHONE], env).returncode == 0

        web, mllp, mllp_health, worker_health = free_port(), free_port(), free_port(), free_port()
        procs: list[subprocess.Popen[bytes]] = []
        for name, args in (
            ("web", ["serve", "--port", str(web)]),
            ("worker", ["worker", "--health-port", str(worker_health)]),
            ("mllp", ["mllp", "--port", str(mllp), "--health-port", str(mllp_health)]),
        ):
            with (tmp_path / f"{name}.log").open("wb") as log:
                procs.append(subprocess.Popen([*labpulse_cmd(), *args], env=env, stdout=log, stderr=subprocess.STDOUT))
        try:
            for port in (web, worker_health, mllp_health):
                await asyncio.to_thread(wait_healthy, f"http://127.0.0.1:{port}/readyz", 90)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web}", timeout=10) as client:
                # Sign-in: the code goes out by SMS through Twilio (the stand-in) and signs the patient in.
                r = await client.post("/api/patient/code", json={"phone": PATIENT_PHONE})
                assert r.status_code == 202, r.text
                sms = [m for m in stand_in.seen.twilio if m["To"] == PATIENT_PHONE]
                code = re.search(r"\b(\d{6})\b", sms[-1]["Body"])
                assert code is not None and sms[-1]["From"] == "+14155550100"
                r = await client.post("/api/patient/session", json={"phone": PATIENT_PHONE, "code": code.group(1)})
                assert r.status_code == 200, r.text

                # A critical result over MLLP reaches the on-duty doctor through the provider.
                async with pool.acquire() as conn:
                    patient_id = await conn.fetchval("SELECT id::text FROM patients WHERE mrn = 'H-9001'")
                    sample = await make_sample(conn, vault, patient=await _patient(conn, vault, patient_id))
                    await samples.transition(conn, barcode=sample.barcode, to_state=SampleState.RECEIVED_AT_LAB,
                                             actor=TECH, centre_id="LAB-1")  # fmt: skip
                values = {**VALUES, "6690-2": ("WBC", "1.2")}  # critically low white cells
                obx = "".join(
                    f"OBX|{i}|NM|{c}^{n}^LN||{v}|u|||||F\r" for i, (c, (n, v)) in enumerate(values.items(), 1)
                )
                msh = "MSH|^~\\&|CHEM|LAB|LABPULSE|LAB|2026||ORU^R01|PROD-1|P|2.5.1\r"
                oru = f"{msh}PID|1||H-9001\rOBR|1|{sample.barcode}||CBC\r{obx}"
                reader, writer = await open_hl7_connection("127.0.0.1", mllp)
                try:
                    writer.writemessage(oru)  # type: ignore[arg-type]
                    await writer.drain()
                    ack = str(await asyncio.wait_for(reader.readmessage(), 15))
                finally:
                    writer.close()
                assert "|AA|" in ack or "MSA|AA" in ack, ack
                alert_sms = await _until(
                    lambda: [m for m in stand_in.seen.twilio if m["To"] == DOCTOR_PHONE], 30, "the doctor's alert"
                )
                assert "CRITICAL" in alert_sms[0]["Body"] and "H-9001" in alert_sms[0]["Body"]  # type: ignore[index]
                alert_id = re.search(r"alert (\d+)", alert_sms[0]["Body"]).group(1)  # type: ignore[index,union-attr]
                doctor = await _staff_token(client, "dr.duty")
                r = await client.post(f"/api/staff/critical/{alert_id}/ack", headers=doctor)
                assert r.status_code in (200, 204), r.text

                # The pathologist releases the report; the worker renders it and tells the patient by SMS.
                pathologist = await _staff_token(client, "dr.path")
                r = await client.post(f"/api/staff/samples/{sample.barcode}/report", headers=pathologist)
                assert r.status_code == 201, r.text
                notice = await _until(
                    lambda: [m for m in stand_in.seen.twilio if m["To"] == PATIENT_PHONE and "report" in m["Body"]],
                    60,
                    "the report notice",
                )
                assert "lab.example" in notice[0]["Body"]  # type: ignore[index]

                # A booked teleconsult: each side gets its own join link (the worker made the doctor's slots).
                async with pool.acquire() as conn:
                    now = datetime.now(UTC)
                    free = await _until_slots(conn, now)
                    booked = await consults.book(conn, vault, phone=PATIENT_PHONE, slot_id=free[0].id,
                                                 channel="portal", patient_id=patient_id)  # fmt: skip
                for phone, token in ((PATIENT_PHONE, booked.patient_link), (DOCTOR_PHONE, booked.doctor_link)):
                    await _until(lambda p=phone, t=token: [m for m in stand_in.seen.twilio  # type: ignore[misc]
                                                           if m["To"] == p and f"/consult/join/{t}" in m["Body"]],
                                 30, f"the join link for {phone[-4:]}")  # fmt: skip
            for proc in procs:
                assert proc.poll() is None
            async with pool.acquire() as conn:  # the processes' role owned nothing and still did everything
                role = str(urlsplit(settings.database_url.reveal()).username)  # type: ignore[union-attr]
                assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE tableowner = $1", role) == 0
        finally:
            stop_all(procs)


async def _until_slots(conn: asyncpg.Connection, now: datetime) -> list[consult_slots.ConsultSlot]:
    deadline = time.monotonic() + 30
    while True:
        for days in range(3):
            free = await consult_slots.open_slots(conn, (now + timedelta(days=days)).astimezone(LAB_TZ).date(), now)
            if free:
                return free
        if time.monotonic() > deadline:
            raise AssertionError("the worker made no teleconsult slots")
        await asyncio.sleep(0.5)


async def _patient(conn: asyncpg.Connection, vault: Vault, patient_id: str):  # type: ignore[no-untyped-def]
    from core.patients import service

    return await service.read(conn, vault, patient_id, actor=TECH, purpose="test")


async def _staff_token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await client.post("/api/staff/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}
