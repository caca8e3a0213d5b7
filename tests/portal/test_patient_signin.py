"""Patient sign-in over HTTP: one-time codes (hash only, single use, 10 minutes, 5 tries, rate limits),
magic links (signed, single use, one hour), sessions, and that no code ever reaches a log."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer

from core.config import Settings
from core.vault import Vault
from portal.app import create_app
from tests.support.asgi import app_client, state_of
from tests.support.factories import make_patient, make_sample
from tests.support.inbox import Inbox

PHONE = "+919833300001"


@pytest.fixture
async def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def pc(settings: Settings, pool: asyncpg.Pool, vault: Vault, inbox: Inbox) -> AsyncIterator[httpx.AsyncClient]:
    async with pool.acquire() as conn:
        p = await make_patient(conn, vault, phone=PHONE)
        await make_sample(conn, vault, patient=p)
    async with app_client(create_app(settings, notifier=inbox)) as c:
        yield c


async def _code(pc: httpx.AsyncClient, inbox: Inbox, phone: str = PHONE) -> str:
    r = await pc.post("/api/patient/code", json={"phone": phone})
    assert r.status_code == 202, r.text
    return inbox.last_code(phone)


async def test_a_code_signs_in_once_and_is_stored_only_as_a_hash(
    pc: httpx.AsyncClient,
    inbox: Inbox,
    redis,
    settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    r = await pc.post("/api/patient/code", json={"phone": "98333 00001"})  # local format is normalised
    assert r.status_code == 202 and r.json()["sent_to"] == "+91******0001"
    code = inbox.last_code(PHONE)
    stored = [k async for k in redis.scan_iter(match=f"{settings.redis_prefix}:otp:*")]
    assert len(stored) == 1
    values = await redis.hgetall(stored[0])
    assert code.encode() not in b"".join(values.values()) and 590 <= await redis.ttl(stored[0]) <= 600
    r = await pc.post("/api/patient/session", json={"phone": PHONE, "code": code})
    assert r.status_code == 200 and r.json()["idle_seconds"] == 1800 and r.json()["max_seconds"] == 43200
    again = await pc.post("/api/patient/session", json={"phone": PHONE, "code": code})
    assert again.status_code == 401 and again.json()["error"] == "sign_in_failed"


async def test_an_expired_code_does_not_work(pc: httpx.AsyncClient, inbox: Inbox, redis, settings) -> None:  # type: ignore[no-untyped-def]
    code = await _code(pc, inbox)
    async for key in redis.scan_iter(match=f"{settings.redis_prefix}:otp:*"):
        await redis.pexpire(key, 1)  # what ten minutes do
    await asyncio.sleep(0.01)
    r = await pc.post("/api/patient/session", json={"phone": PHONE, "code": code})
    assert r.status_code == 401


async def test_five_wrong_tries_kill_the_code(pc: httpx.AsyncClient, inbox: Inbox) -> None:
    code = await _code(pc, inbox)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    messages = []
    for _ in range(5):
        r = await pc.post("/api/patient/session", json={"phone": PHONE, "code": wrong})
        assert r.status_code == 401
        messages.append(r.json()["message"])
    assert "no longer works" in messages[-1] and "ask for a new one" in messages[-1]
    r = await pc.post("/api/patient/session", json={"phone": PHONE, "code": code})
    assert r.status_code == 401  # even the right code is dead now


async def test_asking_for_too_many_codes_is_calmly_refused(pc: httpx.AsyncClient, inbox: Inbox) -> None:
    for _ in range(5):
        await _code(pc, inbox)
    r = await pc.post("/api/patient/code", json={"phone": PHONE})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0 and "please wait" in r.json()["message"]
    assert len(inbox.sent) == 5


async def test_one_address_cannot_try_codes_for_many_phones(pc: httpx.AsyncClient) -> None:
    statuses = [
        (await pc.post("/api/patient/session", json={"phone": f"+9198444{i:05d}", "code": "123456"})).status_code
        for i in range(31)
    ]
    assert statuses[:30] == [401] * 30 and statuses[30] == 429


async def test_an_unknown_number_gets_the_same_answer_and_no_message(pc: httpx.AsyncClient, inbox: Inbox) -> None:
    known = await pc.post("/api/patient/code", json={"phone": PHONE})
    unknown = await pc.post("/api/patient/code", json={"phone": "+919899999999"})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json()["message"] == known.json()["message"]
    assert [to for to, _, _ in inbox.sent] == [PHONE]


async def test_a_bad_phone_number_says_what_is_wrong(pc: httpx.AsyncClient) -> None:
    r = await pc.post("/api/patient/code", json={"phone": "call me"})
    assert r.status_code == 422 and r.json()["field"] == "phone"


async def test_a_code_never_reaches_a_log(
    pc: httpx.AsyncClient, inbox: Inbox, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    code = await _code(pc, inbox)
    await pc.post("/api/patient/session", json={"phone": PHONE, "code": "000000" if code != "000000" else "111111"})
    await pc.post("/api/patient/session", json={"phone": PHONE, "code": code})
    captured = capsys.readouterr()
    for text in (caplog.text, captured.out, captured.err):
        assert code not in text and PHONE not in text


async def test_a_magic_link_signs_in_once(pc: httpx.AsyncClient, settings: Settings) -> None:
    token = state_of(pc)["signin"].magic_link_token(PHONE)
    r = await pc.post("/api/patient/link", json={"token": token})
    assert r.status_code == 200 and len(r.json()["patients"]) == 1
    again = await pc.post("/api/patient/link", json={"token": token})
    assert again.status_code == 401 and "already used" in again.json()["message"]
    forged = await pc.post("/api/patient/link", json={"token": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")})
    assert forged.status_code == 401 and "not valid" in forged.json()["message"]


async def test_a_magic_link_older_than_an_hour_is_refused(pc: httpx.AsyncClient, settings: Settings) -> None:
    from itsdangerous import TimestampSigner

    class HourAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3601

    assert settings.secret_key is not None
    old = URLSafeTimedSerializer(settings.secret_key.reveal(), salt="labpulse.magic-link", signer=HourAgo)
    signin = state_of(pc)["signin"]
    lookup = signin._lookup(PHONE)[1]
    token = old.dumps({"l": lookup, "h": "+91***", "p": None, "j": "x" * 32})
    r = await pc.post("/api/patient/link", json={"token": token})
    assert r.status_code == 401 and "expired" in r.json()["message"]


async def test_status_shows_only_this_phones_patients(pc: httpx.AsyncClient, inbox: Inbox, pool, vault) -> None:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        stranger = await make_patient(conn, vault, phone="+919833300002")
    code = await _code(pc, inbox)
    token = (await pc.post("/api/patient/session", json={"phone": PHONE, "code": code})).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    mine = await pc.get("/api/patient/status", headers=auth)
    assert mine.status_code == 200 and mine.json()["samples"][0]["steps"][0]["state"] == "collected"
    assert mine.json()["samples"][0]["steps"][0]["centre"] == "Test Collection Centre"
    for path in ("/api/patient/status", "/api/patient/access-log"):
        theirs = await pc.get(f"{path}?patient={stranger.id}", headers=auth)
        assert theirs.status_code == 404, path
    log = await pc.get("/api/patient/access-log", headers=auth)
    assert {"patient.status.read", "patient.create"} <= {e["action"] for e in log.json()["entries"]}
    assert (await pc.get("/api/patient/status")).status_code == 401


async def test_cookie_sessions_need_the_csrf_header_to_change_anything(pc: httpx.AsyncClient, inbox: Inbox) -> None:
    code = await _code(pc, inbox)
    token = (await pc.post("/api/patient/session", json={"phone": PHONE, "code": code})).json()["token"]
    pc.cookies.set("lp_session", token)
    r = await pc.post("/api/patient/socket-token")
    assert r.status_code == 403 and r.json()["error"] == "csrf"
    pc.cookies.clear()
