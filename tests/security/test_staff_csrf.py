"""Issue 16, item 8: a staff state change signed in by the cookie alone must come from our own origin and carry
the CSRF token that came with the sign-in. A cross-site text/plain POST with only ``lp_staff`` acknowledged a
critical alert and started TOTP enrolment; now it is refused (403) and changes nothing. Bearer-token clients are
not browsers and need neither."""

from __future__ import annotations

import asyncpg

from core.config import Settings
from core.identity import Role
from core.staff import service as staff
from core.vault import Vault
from portal.app import create_app
from tests.core.hl7.test_critical import _setup
from tests.support.factories import SYSTEM
from tests.support.server import served

PASSWORD = "a long enough staff password"


async def test_cookie_signed_changes_need_our_origin_and_the_csrf_token(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        await _setup(conn, vault)
        await staff.add(conn, username="path.csrf", display_name="P", role=Role.PATHOLOGIST, password=PASSWORD,
                        actor=SYSTEM)  # fmt: skip
        alert_id = await conn.fetchval("SELECT id FROM critical_alerts")
    async with served(create_app(settings)) as client:
        r = await client.post("/api/staff/session", json={"username": "path.csrf", "password": PASSWORD})
        assert r.status_code == 200 and "lp_staff" in r.cookies and r.json()["csrf"]
        csrf, token = r.json()["csrf"], r.json()["token"]
        # What a browser holds after signing in (sent by hand: over plain http the client keeps Secure cookies back).
        jar = {"Cookie": f"lp_staff={r.cookies['lp_staff']}; lp_csrf={r.cookies['lp_csrf']}"}
        client.cookies.clear()
        evil = {**jar, "Origin": "http://evil.example", "Content-Type": "text/plain"}
        for path in (f"/api/staff/critical/{alert_id}/ack", "/api/staff/totp"):
            assert (await client.post(path, headers=evil, content=b"x")).status_code == 403, path
        ours = {**jar, "Origin": str(client.base_url).rstrip("/")}
        assert (await client.post(f"/api/staff/critical/{alert_id}/ack", headers=ours)).status_code == 403  # no token
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT acknowledged_at FROM critical_alerts") is None
            assert await conn.fetchval("SELECT totp_secret_enc FROM staff WHERE username = 'path.csrf'") is None
        ok = await client.post(f"/api/staff/critical/{alert_id}/ack", headers={**ours, "X-CSRF-Token": csrf})
        assert ok.status_code == 200, ok.text
        bearer = await client.post("/api/staff/totp", headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 200  # an API client with its token: no browser, no cross-site risk
