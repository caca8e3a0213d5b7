"""Issue 16, item 2 (and the OTP race of item 10): what must happen once is recorded in PostgreSQL, so Redis losing
its data lets nothing happen twice: a processed Twilio message (same MessageSid), a Telegram update (same
update_id), a used magic link, a used sign-in code. At most CODE_MAX_TRIES guesses are ever compared with a code,
however many arrive together."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import redis.asyncio as aioredis

from core.config import Settings
from core.patients.signin import CODE_MAX_TRIES
from portal.drill.standins import Providers, telegram_update
from tests.bots.test_telegram import CHAT, post, sent_texts
from tests.bots.test_twilio_conversations import say
from tests.portal.test_patient_signin import PHONE
from tests.support.asgi import state_of
from tests.support.inbox import Inbox


async def _redis_loses_everything(redis: aioredis.Redis, settings: Settings) -> None:
    keys = [k async for k in redis.scan_iter(f"{settings.redis_prefix}*")]
    if keys:
        await redis.delete(*keys)


async def test_a_replayed_twilio_message_is_not_processed_again_after_redis_lost_its_data(
    wa: httpx.AsyncClient, pool: asyncpg.Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    first = await say(wa, "STOP", sid="SM" + "7" * 32)
    assert first  # the confirmation
    await _redis_loses_everything(redis, settings)
    again = await say(wa, "STOP", sid="SM" + "7" * 32)
    assert again == []  # handled already: nothing said, nothing done
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'consent.update'") == 1


async def test_a_redelivered_telegram_update_is_handled_once_after_redis_lost_its_data(
    tg: httpx.AsyncClient, stand_in: Providers, redis: aioredis.Redis, settings: Settings
) -> None:
    update = telegram_update(777001, CHAT, text="hi")
    assert (await post(tg, update)).status_code == 200
    await _redis_loses_everything(redis, settings)
    assert (await post(tg, update)).status_code == 200
    assert len(sent_texts(stand_in)) == 1


async def test_a_used_magic_link_stays_used_after_redis_lost_its_data(
    pc: httpx.AsyncClient, redis: aioredis.Redis, settings: Settings
) -> None:
    token = state_of(pc)["signin"].magic_link_token(PHONE)
    assert (await pc.post("/api/patient/link", json={"token": token})).status_code == 200
    await _redis_loses_everything(redis, settings)
    again = await pc.post("/api/patient/link", json={"token": token})
    assert again.status_code == 401 and "already used" in again.json()["message"]


async def test_forty_guesses_at_once_compare_at_most_the_limit(
    pc: httpx.AsyncClient, inbox: Inbox, pool: asyncpg.Pool
) -> None:
    assert (await pc.post("/api/patient/code", json={"phone": PHONE})).status_code == 202
    right = inbox.last_code(PHONE)
    wrong = [f"{(int(right) + i) % 1_000_000:06d}" for i in range(1, 41)]
    signin = state_of(pc)["signin"]

    async def guess(code: str) -> None:
        async with pool.acquire() as conn:
            try:
                await signin.verify_code(conn, PHONE, code)
            except Exception:  # noqa: BLE001, S110 - refused (or rate-limited) is the expected outcome
                pass

    await asyncio.gather(*(guess(c) for c in wrong))
    async with pool.acquire() as conn:
        compared = await conn.fetchval(
            """SELECT count(*) FROM audit_log WHERE action = 'patient.sign_in'
               AND outcome IN ('refused', 'refused:locked')"""
        )
    assert compared <= CODE_MAX_TRIES
    r = await pc.post("/api/patient/session", json={"phone": PHONE, "code": right})
    assert r.status_code in (401, 429)  # the code is spent (and the phone is slowed down): no sign-in
