"""POST /api/triage: anyone may ask; a signed-in person's check is kept (their words encrypted) and audited; bad
input gets a clear 422; an emergency answer offers no booking."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from core.config import Settings
from core.patients.sessions import PatientSessions
from core.vault import Vault
from portal.app import create_app
from tests.support.asgi import app_client
from tests.support.factories import make_patient

PHONE = "+919833300001"


@pytest.fixture
async def api(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings.with_overrides(ambulance_number="112"))) as c:
        yield c


async def test_anyone_can_ask_and_nothing_is_kept(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    r = await api.post("/api/triage", json={"text": "fever for 4 days and body ache", "age": 30, "sex": "male"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["level"] == "urgent" and body["specialty"] == "general medicine"
    assert "Dengue NS1" in body["tests"] and body["reasons"][0]["words"] and "id" not in body
    assert body["actions"] == ["book_tests", "book_teleconsult"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM triage_assessments") == 0


async def test_an_emergency_leads_with_the_configured_ambulance(api: httpx.AsyncClient) -> None:
    body = (await api.post("/api/triage", json={"text": "सीने में दर्द और पसीना", "language": "hi"})).json()
    assert body["level"] == "emergency" and body["actions"] == ["call_ambulance"] and "112" in body["advice"]


async def test_a_signed_in_check_is_kept_encrypted_and_audited(
    api: httpx.AsyncClient,
    pool: asyncpg.Pool,
    vault: Vault,
    redis,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    async with pool.acquire() as conn:
        p = await make_patient(conn, vault, phone=PHONE)
    token = await PatientSessions(redis, settings.redis_prefix).create(
        phone_lookup=vault.lookup.digest("phone", PHONE).hex(), phone_hint="+91***", active_patient_id=p.id
    )
    r = await api.post(
        "/api/triage", json={"text": "mild cold and sneezing"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200 and r.json()["level"] == "self_care"
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM triage_assessments WHERE id = $1", r.json()["id"])
        assert b"sneezing" not in bytes(row["text_enc"]) and row["level"] == "self_care"
        assert vault.open("triage_assessments", "text", str(row["id"]), row["text_enc"]) == "mild cold and sneezing"
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'triage.assess'") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "text"), ({"text": ""}, "text"), ({"text": 5}, "text"), ({"text": "x" * 2001}, "text"),
     ({"text": "fever", "age": 200}, "age"), ({"text": "fever", "sex": "other"}, "sex"),
     ({"text": "fever", "language": "ta"}, "language")],
)  # fmt: skip
async def test_bad_input_gets_a_clear_422(api: httpx.AsyncClient, body: dict[str, object], field: str) -> None:
    r = await api.post("/api/triage", json=body)
    assert r.status_code == 422 and r.json()["field"] == field and r.json()["message"]


async def test_not_json_is_refused(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/triage", content=b"fever", headers={"content-type": "text/plain"})
    assert r.status_code in (400, 415, 422)
