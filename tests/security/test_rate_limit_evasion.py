"""Issue 16, item 4: rate limits cannot be dodged. A per-session bucket belongs to the person behind the session
(however the token is written, whichever of their sessions is used); X-Forwarded-For is believed only from the
proxies in LABPULSE_TRUSTED_PROXIES (none by default), and only an IP address ever reaches the audit log."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import asyncpg
import httpx
import pytest

from core.config import Settings
from core.vault import Vault
from portal.app import create_app
from tests.support.factories import make_patient, make_sample
from tests.support.inbox import Inbox
from tests.support.procs import env_for, free_port, labpulse_cmd, wait_healthy
from tests.support.server import served

PHONE = "+919811100044"


async def _signed_in(client: httpx.AsyncClient, inbox: Inbox) -> str:
    assert (await client.post("/api/patient/code", json={"phone": PHONE})).status_code == 202
    r = await client.post("/api/patient/session", json={"phone": PHONE, "code": inbox.last_code(PHONE)})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


async def test_the_export_limit_holds_however_the_token_is_written_and_across_sessions(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        await make_sample(conn, vault, patient=await make_patient(conn, vault, phone=PHONE))
    inbox = Inbox()
    async with served(create_app(settings, notifier=inbox)) as client:
        first, second = await _signed_in(client, inbox), await _signed_in(client, inbox)
        ways = [
            {"Authorization": f"Bearer {first}"},
            {"Authorization": f"bearer {first}"},
            {"Authorization": f"BEARER   {first}"},
            {"Cookie": f"lp_session={first}"},
            {"Authorization": f"Bearer {second}"},  # another session of the same phone
        ]
        codes = [(await client.get("/api/patient/export", headers=ways[i % len(ways)])).status_code for i in range(12)]
    assert codes[:10] == [200] * 10 and codes[10:] == [429, 429], codes


@pytest.mark.slow
async def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
    settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async def run_server(**extra: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        log = (tmp_path / f"serve-{port}.log").open("wb")
        proc = subprocess.Popen([*labpulse_cmd(), "serve", "--port", str(port), "--no-demo-data"],
                                env=env_for(settings, **extra), stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        await asyncio.to_thread(wait_healthy, f"http://127.0.0.1:{port}/healthz", 60)
        return proc, f"http://127.0.0.1:{port}"

    proc, base = await run_server()
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            codes = []
            for i in range(32):  # 30 code requests per address per 10 minutes
                r = await client.post("/api/patient/code", json={"phone": "+919811100045"},
                                      headers={"X-Forwarded-For": f"198.51.100.{i}"})  # fmt: skip
                codes.append(r.status_code)
            assert 429 in codes[30:], codes  # rotating the header changed nothing
            r = await client.post("/api/patient/code", json={"phone": "+919811100045"},
                                  headers={"X-Forwarded-For": "=HYPERLINK(1)"})  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(30)
    async with pool.acquire() as conn:
        ips = {r["source_ip"] for r in await conn.fetch("SELECT DISTINCT source_ip FROM audit_log")}
    assert ips <= {"127.0.0.1", None}, ips

    proc, base = await run_server(LABPULSE_TRUSTED_PROXIES="127.0.0.1/32")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            r = await client.post("/api/patient/code", json={"phone": "+919811100046"},
                                  headers={"X-Forwarded-For": "203.0.113.9"})  # fmt: skip
            assert r.status_code == 202  # a fresh bucket: the load balancer's word is taken for the address
            r = await client.post("/api/patient/code", json={"phone": "+919811100046"},
                                  headers={"X-Forwarded-For": "not-an-address"})  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(30)
    async with pool.acquire() as conn:
        ips = {r["source_ip"] for r in await conn.fetch("SELECT DISTINCT source_ip FROM audit_log")}
    assert "203.0.113.9" in ips and not any(ip and not ip[0].isdigit() for ip in ips), ips
