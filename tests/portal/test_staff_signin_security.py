"""Local staff sign-in hardening over HTTP: lockout after five failures, and the TOTP second factor (enrol,
confirm, required at sign-in, wrong and replayed codes refused)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pyotp

from core.identity import Role
from tests.portal.conftest import PASSWORD, username_for


async def _sign_in(client: httpx.AsyncClient, role: Role, **extra: str) -> httpx.Response:
    return await client.post("/api/staff/session", json={"username": username_for(role), "password": PASSWORD, **extra})


async def test_five_failures_lock_the_account_even_against_the_right_password(
    client: httpx.AsyncClient,
    staff_token,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
) -> None:
    await staff_token(Role.LAB_TECHNICIAN)  # creates the account
    name = username_for(Role.LAB_TECHNICIAN)
    statuses = [
        (await client.post("/api/staff/session", json={"username": name, "password": "wrong password!"})).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    locked = await _sign_in(client, Role.LAB_TECHNICIAN)
    assert locked.status_code == 429 and locked.json()["error"] == "account_locked"
    assert "locked for 15 minutes" in locked.json()["message"] and int(locked.headers["retry-after"]) > 800
    async with pool.acquire() as conn:
        outcomes = await conn.fetch(
            "SELECT outcome FROM audit_log WHERE action = 'staff.sign_in' ORDER BY id DESC LIMIT 2"
        )
        assert [r["outcome"] for r in outcomes] == ["refused:locked", "refused:locked_now"]
        await conn.execute("UPDATE staff SET locked_until = now() - interval '1 second' WHERE username = $1", name)
    assert (await _sign_in(client, Role.LAB_TECHNICIAN)).status_code == 200  # the lock ends; success resets the count
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT failed_attempts FROM staff WHERE username = $1", name) == 0


async def test_totp_enrolment_then_required_at_sign_in(
    client: httpx.AsyncClient,
    staff_token,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
) -> None:
    token = await staff_token(Role.PATHOLOGIST)
    auth = {"Authorization": f"Bearer {token}"}
    r = await client.post("/api/staff/totp", headers=auth)
    uri = r.json()["otpauth_uri"]
    assert r.status_code == 200 and uri.startswith("otpauth://totp/labpulse:")
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    async with pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT totp_secret_enc FROM staff WHERE username = $1", username_for(Role.PATHOLOGIST)
        )
    assert secret.encode() not in bytes(stored)  # encrypted at rest
    # Not required until confirmed with a working code.
    assert (await _sign_in(client, Role.PATHOLOGIST)).status_code == 200
    bad = await client.post("/api/staff/totp/confirm", headers=auth, json={"code": "000000"})
    assert bad.status_code == 422
    totp = pyotp.TOTP(secret)
    previous = totp.at(time.time() - 30)  # one step back: still accepted for clock drift
    ok = await client.post("/api/staff/totp/confirm", headers=auth, json={"code": previous})
    assert ok.status_code == 200, ok.text

    missing = await _sign_in(client, Role.PATHOLOGIST)
    assert missing.status_code == 401 and missing.json()["error"] == "totp_required"
    wrong = await _sign_in(client, Role.PATHOLOGIST, totp="123456" if totp.now() != "123456" else "654321")
    assert wrong.status_code == 401
    code = totp.now()
    assert (await _sign_in(client, Role.PATHOLOGIST, totp=code)).status_code == 200
    replay = await _sign_in(client, Role.PATHOLOGIST, totp=code)
    assert replay.status_code == 401  # each step's code works once
    older = await _sign_in(client, Role.PATHOLOGIST, totp=previous)
    assert older.status_code == 401  # nor does a code from before the last one used
