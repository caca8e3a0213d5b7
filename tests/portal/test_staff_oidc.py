"""Staff sign-in through an OpenID Connect provider (a local stand-in served on loopback, talked to by authlib's
client): success with the role from the claim, PKCE, and refusals for a forged ID token, a wrong nonce, a wrong
state, and a person the provider gives no labpulse role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from core.config import Secret, Settings
from portal.app import create_app
from tests.support.asgi import app_client
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.support.server import serving


@pytest.fixture
async def idp() -> AsyncIterator[Provider]:
    provider = Provider(next_user={"sub": "u-1001", "preferred_username": "meera@lab.example", "name": "Meera",
                                   "roles": ["lab_technician"]})  # fmt: skip
    async with serving(provider.app()) as addr:
        provider.issuer = f"http://{addr}"
        yield provider


@pytest.fixture
async def staff_client(settings: Settings, pool: asyncpg.Pool, idp: Provider) -> AsyncIterator[httpx.AsyncClient]:
    sso = settings.with_overrides(
        oidc_issuer=idp.issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=Secret(CLIENT_SECRET)
    )
    async with app_client(create_app(sso)) as c:
        yield c


async def _round_trip(c: httpx.AsyncClient, *, tamper_state: bool = False) -> httpx.Response:
    """What the browser does: our login → the provider's authorize → back to our callback."""
    start = await c.get("/staff/oidc/login")
    assert start.status_code == 302, start.text
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    async with httpx.AsyncClient() as browser:
        back = await browser.get(start.headers["location"])
    assert back.status_code in (302, 307), back.text
    callback = back.headers["location"]
    if tamper_state:
        callback = callback.replace("state=", "state=x")
    return await c.get(callback.replace("https://testserver", ""))


async def test_sign_in_creates_the_account_with_the_claimed_role(staff_client: httpx.AsyncClient, pool) -> None:  # type: ignore[no-untyped-def]
    done = await _round_trip(staff_client)
    assert done.status_code == 303 and done.headers["location"] == "/staff"
    me = await staff_client.get("/api/staff/me")
    assert me.status_code == 200 and me.json()["role"] == "lab_technician" and me.json()["display_name"] == "Meera"
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT username, external_id FROM staff WHERE display_name = 'Meera'")
        assert row["username"].startswith("meera.") and row["external_id"].endswith("|u-1001")
        assert (
            await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'staff.sign_in.oidc' AND outcome = 'ok'")
            == 1
        )


async def test_the_providers_role_wins_at_the_next_sign_in(staff_client: httpx.AsyncClient, idp: Provider) -> None:
    await _round_trip(staff_client)
    idp.next_user = {**idp.next_user, "roles": ["pathologist", "lab_technician"]}
    staff_client.cookies.clear()
    await _round_trip(staff_client)
    assert (await staff_client.get("/api/staff/me")).json()["role"] == "pathologist"


@pytest.mark.parametrize("misbehave", ["forged signature", "wrong nonce", "wrong state", "no role"])
async def test_refusals(staff_client: httpx.AsyncClient, idp: Provider, pool, misbehave: str) -> None:  # type: ignore[no-untyped-def]
    if misbehave == "forged signature":
        idp.forge = True
    elif misbehave == "wrong nonce":
        idp.nonce_override = "not-the-nonce-we-sent"
    elif misbehave == "no role":
        idp.next_user = {**idp.next_user, "roles": ["visitor"]}
    r = await _round_trip(staff_client, tamper_state=misbehave == "wrong state")
    assert r.status_code in (401, 403), r.text
    assert "lp_staff" not in r.headers.get("set-cookie", "")
    assert (await staff_client.get("/api/staff/me")).status_code == 401
    async with pool.acquire() as conn:
        refused = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'staff.sign_in.oidc' AND outcome LIKE 'refused:%'"
        )
        created = await conn.fetchval("SELECT count(*) FROM staff")
    assert refused == 1 and created == 0


async def test_without_a_provider_configured_the_routes_say_so(client: httpx.AsyncClient) -> None:
    r = await client.get("/staff/oidc/login")
    assert r.status_code == 404 and "username and password" in r.json()["message"]
