"""Seed PHI, drive it through every flow of a real `labpulse serve` logging at DEBUG, and find none of it in what
the process wrote: no name, phone number (any format), address, password, session token or socket token, nor the
text of a WhatsApp conversation."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import connect

from core.config import Settings
from core.identity import Actor, Role
from core.orders import service as orders
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.patients.sessions import PatientSessions
from core.samples import service as samples
from core.staff import service as staff
from core.vault import Vault
from tests.support.factories import PHLEB, ensure_centres
from tests.support.procs import env_for, free_port, labpulse_cmd, wait_healthy

NAME = "Kavya Ramanathan"
PHONE = "+919876543210"
ADDRESS = "14 Lotus Lane, Koramangala"
PASSWORD = "staff password that must not leak"
TWILIO_SID = "AC" + "2" * 32
TWILIO_TOKEN = "twilio-token-for-the-log-test-0000"


@pytest.mark.slow
async def test_phi_seeded_through_every_flow_never_reaches_the_logs(
    settings: Settings, pool: asyncpg.Pool, vault: Vault, redis: aioredis.Redis, tmp_path: Path
) -> None:
    async with pool.acquire() as conn:
        await ensure_centres(conn)
        p = await patients.create(
            conn, vault, NewPatient(name=NAME, sex=Sex.FEMALE, phone=PHONE, address=ADDRESS), actor=Actor.system("t")
        )
        order = await orders.place(conn, patient_id=p.id, centre_id="CC-1", test_codes=["CBC"], actor=PHLEB)
        tube = await samples.register(
            conn,
            order_id=order.id,
            barcode="PHI-TUBE-01",
            sample_type="whole_blood_edta",
            actor=PHLEB,
            centre_id="CC-1",
        )
        await staff.add(
            conn, username="tech.logs", display_name="Tech", role=Role.LAB_TECHNICIAN, password=PASSWORD, actor=PHLEB
        )
    patient_token = await PatientSessions(redis, settings.redis_prefix).create(
        phone_lookup=vault.lookup.digest("phone", PHONE).hex(), phone_hint="+91***", active_patient_id=p.id
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    secrets_seen = [patient_token]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*labpulse_cmd(), "serve", "--port", str(port), "--no-demo-data"],
            env=env_for(
                settings,
                LABPULSE_LOG_LEVEL="debug",
                LABPULSE_SERVE_RELAY="on",
                TWILIO_ACCOUNT_SID=TWILIO_SID,
                TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
                LABPULSE_PUBLIC_URL=base,
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(f"{base}/healthz")
            async with httpx.AsyncClient(base_url=base) as http:
                r = await http.post("/api/staff/session", json={"username": "tech.logs", "password": PASSWORD})
                staff_token = r.json()["token"]
                secrets_seen.append(staff_token)
                auth = {"Authorization": f"Bearer {staff_token}"}
                await http.post("/api/staff/session", json={"username": "tech.logs", "password": PASSWORD + "x"})
                await http.post(
                    "/api/staff/scan",
                    headers=auth,
                    json={"barcode": tube.barcode, "to": "received_at_lab", "centre_id": "LAB-1"},
                )
                await http.post(
                    "/api/staff/scan", headers=auth, json={"barcode": PHONE, "to": "processing", "centre_id": NAME}
                )
                await http.get(f"/api/staff/samples/{tube.barcode}", headers=auth)
                await http.post("/api/patient/code", json={"phone": PHONE})  # no messaging provider here: 503
                await http.post("/api/patient/session", json={"phone": PHONE, "code": "123456"})
                await http.post(
                    "/api/patient/code",
                    content=f'{{"phone": "{PHONE}", "name": "{NAME}"'.encode(),
                    headers={"content-type": "application/json"},
                )  # malformed JSON carrying PHI
                pauth = {"Authorization": f"Bearer {patient_token}"}
                await http.get("/api/patient/status", headers=pauth)
                await http.get("/api/patient/access-log", headers=pauth)
                r = await http.post("/api/patient/socket-token", headers=pauth)
                socket_token = r.json()["token"]
                secrets_seen.append(socket_token)
                cookie = {"Cookie": f"lp_session={patient_token}"}
                for path in ("/my-tests", "/my-tests/access", "/my-tests/cards"):
                    page = await http.get(path, headers=cookie)
                    assert page.status_code == 200, path
                # A WhatsApp conversation carrying PHI in its text, and a forged webhook.
                for body in ("where is my report", "14-03-1968", "book", "1", "1", "400050", ADDRESS, NAME):
                    params = {"MessageSid": f"SM{len(body):032d}{body[:3]}", "From": f"whatsapp:{PHONE}", "Body": body}
                    sig = RequestValidator(TWILIO_TOKEN).compute_signature(f"{base}/bots/twilio", params)
                    r = await http.post("/bots/twilio", data=params, headers={"X-Twilio-Signature": sig})
                    assert r.status_code == 200
                forged = {"From": f"whatsapp:{PHONE}", "Body": NAME}
                assert (await http.post("/bots/twilio", data=forged)).status_code == 403
            async with connect(f"ws://127.0.0.1:{port}/ws/status?token={socket_token}") as ws:
                assert json.loads(await ws.recv())["type"] == "snapshot"
        finally:
            proc.terminate()
            proc.wait(30)
    text = log_path.read_text(errors="replace")
    assert '"level": "debug"' in text or '"level": "info"' in text  # the server did log
    forbidden = [
        NAME,
        "Kavya",
        "Ramanathan",
        PHONE,
        "9876543210",
        "98765 43210",
        ADDRESS,
        "Koramangala",
        "14-03-1968",
        PASSWORD,
        *secrets_seen,
    ]
    assert [f for f in forbidden if f in text] == []
