"""Teleconsults over HTTP and the signalling socket, through a real server: booking on the portal, the join link
(window, first device keeps it, calm pages when it cannot open), the room page for each side, signalling frames
validated with calm errors and consent shared with both sides, the doctor's note endpoints (the patient's link
cannot use them), the reminder and suggested-tests messages, and the room released when both leave."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core.config import Settings
from core.identity import Role
from core.staff import service as staff
from core.teleconsult import messages, service, slots
from core.vault import Vault
from portal.app import create_app
from tests.support.asgi import app_client
from tests.support.days import first_full_day
from tests.support.factories import SYSTEM, make_patient
from tests.support.inbox import Inbox
from tests.support.server import serving

PHONE = "+919877711111"


async def _setup(conn: asyncpg.Connection, vault: Vault, minutes: int = 5) -> service.Booked:
    member = await staff.add(conn, username="dr.rao", display_name="Dr Kavita Rao", role=Role.DOCTOR,
                             password="x" * 12, actor=SYSTEM)  # fmt: skip
    patient = await make_patient(conn, vault, name="Asha Test", phone=PHONE)
    slot = await slots.add(conn, member.id, datetime.now(UTC) + timedelta(minutes=minutes))
    return await service.book(conn, vault, phone=PHONE, slot_id=slot, channel="sms", patient_id=patient.id)


def _cookie(jar: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}


async def _open(http: httpx.AsyncClient, token: str) -> tuple[httpx.Response, dict[str, str]]:
    r = await http.get(f"/consult/join/{token}")
    jar = {c.name: c.value for c in r.cookies.jar}
    http.cookies.clear()
    return r, jar


async def test_join_links_open_the_room_for_their_side_on_their_first_device_only(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        booked = await _setup(conn, vault)
        early = await _setup_other(conn, vault)
    async with serving(create_app(settings)) as addr, httpx.AsyncClient(base_url=f"http://{addr}") as http:
        r, jar = await _open(http, booked.patient_link)
        assert r.status_code == 303 and r.headers["location"] == f"/consult/{booked.consult.id}"
        assert "lp_device" in jar and any(k.startswith("lp_consult_") for k in jar)
        room = await http.get(r.headers["location"], headers=_cookie(jar))
        assert room.status_code == 200 and 'id="consent"' in room.text and "soap-subjective" not in room.text
        assert "understand English only for now" in room.text  # Hindi and Marathi speech: said plainly
        marathi = await http.get(r.headers["location"] + "?lang=mr", headers=_cookie(jar))
        assert "फक्त इंग्रजी" in marathi.text and 'lang="mr"' in marathi.text
        doctor_r, doctor_jar = await _open(http, booked.doctor_link)
        doctor_room = await http.get(doctor_r.headers["location"], headers=_cookie(doctor_jar))
        assert "soap-subjective" in doctor_room.text and booked.consult.ref in doctor_room.text
        assert "The transcript understands English only" in doctor_room.text
        # The patient's link on a second device: a calm refusal, with why.
        other = await http.get(f"/consult/join/{booked.patient_link}")
        assert other.status_code == 403 and "another phone or computer" in other.text
        # A made-up link, one that is not open yet: calm pages, no stack trace.
        bad = await http.get("/consult/join/" + "A" * 32)
        assert bad.status_code == 404 and "not valid" in bad.text
        http.cookies.clear()
        not_yet = await http.get(f"/consult/join/{early.patient_link}")
        assert not_yet.status_code == 409 and "15 minutes before" in not_yet.text
        # The room without the link's cookies is refused the same calm way.
        http.cookies.clear()
        assert (await http.get(f"/consult/{booked.consult.id}")).status_code == 404


async def _setup_other(conn: asyncpg.Connection, vault: Vault) -> service.Booked:
    doctor_id = await conn.fetchval("SELECT id FROM staff WHERE username = 'dr.rao'")
    slot = await slots.add(conn, str(doctor_id), datetime.now(UTC) + timedelta(hours=3))
    return await service.book(conn, vault, phone=PHONE, slot_id=slot, channel="sms")


async def _socket(addr: str, consult_id: str, jar: dict[str, str]):  # type: ignore[no-untyped-def]
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    return connect(f"ws://{addr}/consult/{consult_id}/ws", additional_headers={"Cookie": cookie},
                   origin=f"http://{addr}")  # fmt: skip


async def _until(ws: Any, kind: str, **match: object) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame  # type: ignore[no-any-return]


async def test_signalling_validates_frames_and_shares_consent(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        booked = await _setup(conn, vault)
    app = create_app(settings)
    async with serving(app) as addr, httpx.AsyncClient(base_url=f"http://{addr}") as http:
        _, patient_jar = await _open(http, booked.patient_link)
        _, doctor_jar = await _open(http, booked.doctor_link)
        async with (
            await _socket(addr, booked.consult.id, patient_jar) as patient,
            await _socket(addr, booked.consult.id, doctor_jar) as doctor,
        ):
            labs = await _until(doctor, "labs")  # the doctor's view starts with the patient's recent results
            assert labs["results"] == []
            assert (await _until(patient, "consent", side="patient"))["given"] is False
            await patient.send("not json")
            error = await _until(patient, "error")
            assert error["code"] == "not_json" and error["message"]
            await patient.send(json.dumps({"type": "offer", "sdp": "hello"}))
            assert (await _until(patient, "error"))["code"] == "bad_sdp"
            await patient.send(
                json.dumps(
                    {"type": "candidate", "candidate": "candidate:1 1 udp", "sdp_mid": "0", "sdp_mline_index": 0}
                )
            )
            assert (await _until(patient, "error"))["code"] == "bad_candidate"
            await patient.send(json.dumps({"type": "consent", "given": True}))
            await _until(doctor, "consent", side="patient", given=True)  # the doctor sees it at once
            await patient.send(json.dumps({"type": "ping"}))
            await _until(patient, "pong")
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT given FROM consult_consents WHERE side = 'patient'") is True
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'consult.consent'") == 1


async def test_a_socket_without_a_valid_link_is_closed_calmly(settings: Settings, pool: asyncpg.Pool) -> None:
    async with serving(create_app(settings)) as addr:
        url = f"ws://{addr}/consult/00000000-0000-0000-0000-000000000000/ws"
        async with connect(url, origin=f"http://{addr}") as ws:  # type: ignore[arg-type]
            frame = json.loads(await ws.recv())
            assert frame["type"] == "error" and "not valid" in frame["message"]
            try:
                await ws.recv()
            except ConnectionClosed as exc:
                assert exc.rcvd is not None and exc.rcvd.code == 4404


async def test_only_the_doctors_link_edits_and_signs_the_note(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        booked = await _setup(conn, vault)
    body = {"subjective": [{"text": "Headache for 4 days.", "sources": [1]}], "objective": [], "assessment": [],
            "plan": [{"text": "CBC.", "sources": [2]}], "tests": [{"name": "CBC", "code": "CBC"}]}  # fmt: skip
    async with serving(create_app(settings)) as addr, httpx.AsyncClient(base_url=f"http://{addr}") as http:
        _, patient_jar = await _open(http, booked.patient_link)
        _, doctor_jar = await _open(http, booked.doctor_link)
        url = f"/api/consults/{booked.consult.id}"
        refused = await http.put(f"{url}/note", json={"body": body}, headers=_cookie(patient_jar))
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
        assert (await http.get(f"{url}/note", headers=_cookie(doctor_jar))).json() == {"note": None}
        bad = await http.put(f"{url}/note", json={"body": {"plan": "CBC"}}, headers=_cookie(doctor_jar))
        assert bad.status_code == 422 and bad.json()["field"] == "plan"
        saved = (await http.put(f"{url}/note", json={"body": body}, headers=_cookie(doctor_jar))).json()["note"]
        signed = await http.post(f"{url}/note/sign", json={"version": saved["version"]}, headers=_cookie(doctor_jar))
        assert signed.status_code == 200 and signed.json()["note"]["status"] == "signed"
        again = await http.put(f"{url}/note", json={"body": body}, headers=_cookie(doctor_jar))
        assert again.status_code == 409 and "amend" in again.json()["message"]
        amended = await http.post(f"{url}/note/amend", headers=_cookie(doctor_jar))
        assert amended.json()["note"]["version"] == 2 and amended.json()["note"]["amends"] == 1
        sent = await http.post(f"{url}/tests", json={"codes": ["CBC", "NOPE"]}, headers=_cookie(doctor_jar))
        assert sent.status_code == 200 and sent.json()["codes"] == ["CBC"]


async def test_reminder_and_suggested_tests_reach_the_patient_once(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        booked = await _setup(conn, vault)
    inbox = Inbox()
    outcome = await messages.remind(pool, vault, {"sms": inbox}, booked.consult.id, "https://lab.example")
    assert outcome == "sent"
    ((to, text, purpose),) = inbox.sent
    assert to == PHONE and purpose == "consult.remind" and f"/consult/join/{booked.patient_link}" in text
    assert "Dr Kavita Rao" in text
    assert await messages.tests(pool, vault, {"sms": inbox}, booked.consult.id, ["CBC", "TSH"],
                                "https://lab.example") == "sent"  # fmt: skip
    assert "https://lab.example/book?tests=CBC%2CTSH" in inbox.sent[-1][1]


async def test_a_patient_books_a_teleconsult_on_the_portal(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    inbox = Inbox()
    async with pool.acquire() as conn:
        await staff.add(conn, username="dr.rao", display_name="Dr Kavita Rao", role=Role.DOCTOR, password="x" * 12,
                        actor=SYSTEM)  # fmt: skip
        await make_patient(conn, vault, name="Asha Test", phone=PHONE)
        await slots.ensure(conn, first_full_day(), days=7)
    async with app_client(create_app(settings, notifier=inbox)) as c:
        assert (await c.get("/consult/book")).status_code == 303
        page = await c.get("/signin")
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)  # type: ignore[union-attr]
        sent = await c.post("/signin", data={"csrf": csrf, "phone": PHONE})
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', sent.text).group(1)  # type: ignore[union-attr]
        await c.post("/signin/code", data={"csrf": csrf, "phone": PHONE, "code": inbox.last_code(PHONE)})
        tomorrow = first_full_day().isoformat()  # the lab's tomorrow: after 18:30 UTC it is already tomorrow in India
        page = await c.get(f"/consult/book?day={tomorrow}&reason=headache+for+four+days")
        times = re.findall(r'name="slot" value="(\d+)"', page.text)
        assert page.status_code == 200 and times and "headache for four days" in page.text
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)  # type: ignore[union-attr]
        done = await c.post("/consult/book", data={"csrf": csrf, "day": tomorrow, "slot": times[0],
                                                   "reason": "headache for four days"})  # fmt: skip
        assert done.status_code == 200 and "/consult/join/" in done.text and "Dr Kavita Rao" in done.text
        taken = await c.post("/consult/book", data={"csrf": csrf, "day": tomorrow, "slot": times[0]})
        assert taken.status_code == 409 and "just been taken" in taken.text
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT channel, reason_enc FROM consults")
        assert row["channel"] == "portal" and b"headache" not in bytes(row["reason_enc"])
