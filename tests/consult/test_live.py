"""LiveConsults without a browser: a participant's socket joins (consent state and presence are sent), bad frames
get calm error frames, consent is stored and shown to both sides, the patient never receives the transcript, and
when both sockets go the room and every task it started are released."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from consult.live import LiveConsults
from consult.transcribe import Transcriber
from core.identity import Role
from core.staff import service as staff
from core.teleconsult import service, slots
from core.vault import Vault
from tests.support.factories import SYSTEM


class Socket:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def __call__(self, frame: str) -> None:
        self.frames.append(json.loads(frame))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]


def _no_whisper() -> Transcriber:
    raise AssertionError("no audio flows in this test, so Whisper is never loaded")


async def test_sockets_consent_and_release(pool: asyncpg.Pool, vault: Vault) -> None:
    async with pool.acquire() as conn:
        member = await staff.add(conn, username="dr.live", display_name="Dr Live", role=Role.DOCTOR,
                                 password="x" * 12, actor=SYSTEM)  # fmt: skip
        slot = await slots.add(conn, member.id, datetime.now(UTC) + timedelta(minutes=5))
        booked = await service.book(conn, vault, phone="+919800000001", slot_id=slot, channel="sms")
    before = asyncio.all_tasks()
    live = LiveConsults(pool, vault, _no_whisper, ice_servers=[])
    patient = service.JoinGrant(booked.consult, "patient")
    doctor = service.JoinGrant(booked.consult, "doctor")
    p, d = Socket(), Socket()
    await live.connect(patient, p)
    await live.connect(doctor, d)
    assert {(f["side"], f["given"]) for f in p.of("consent")} == {("doctor", False), ("patient", False)}
    assert d.of("labs") == [{"type": "labs", "results": []}]
    await live.receive(patient, '{"type": "nonsense"}')
    assert p.of("error")[-1]["code"] == "unknown_type"
    await live.receive(patient, b"\xff\xfe")
    assert p.of("error")[-1]["code"] == "not_json"
    await live.receive(patient, '{"type": "consent", "given": true}')
    assert d.of("consent")[-1] == {"type": "consent", "side": "patient", "given": True}
    await live.receive(doctor, '{"type": "consent", "given": true}')
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM consult_consents WHERE given") == 2
    await live.receive(patient, '{"type": "mute", "audio": false, "video": true}')
    assert d.of("mute")[-1] == {"type": "mute", "side": "patient", "audio": False, "video": True}
    assert not p.of("transcript") and not p.of("soap_draft") and not p.of("labs")
    await live.disconnect(patient, p)
    await live.disconnect(doctor, d)
    assert len(live) == 0
    await live.close()
    await asyncio.sleep(0)
    assert {t for t in asyncio.all_tasks() - before if not t.done()} == set()
