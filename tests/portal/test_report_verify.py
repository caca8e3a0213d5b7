"""Issuing a report over HTTP (pathologists only) and the public verification page: genuine, and no PHI."""

from __future__ import annotations

import asyncpg
import httpx

from core.identity import Role
from core.vault import Vault
from tests.core.test_reports import _completed


async def test_issue_then_verify_publicly(
    client: httpx.AsyncClient,
    staff_token,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
    vault: Vault,
) -> None:
    async with pool.acquire() as conn:
        barcode, _ = await _completed(conn, vault)
    tech = await staff_token(Role.LAB_TECHNICIAN)
    refused = await client.post(f"/api/staff/samples/{barcode}/report", headers={"Authorization": f"Bearer {tech}"})
    assert refused.status_code == 403
    path = await staff_token(Role.PATHOLOGIST)
    r = await client.post(f"/api/staff/samples/{barcode}/report", headers={"Authorization": f"Bearer {path}"})
    assert r.status_code == 201, r.text
    page = await client.get(f"/verify/{r.json()['report_id']}")
    assert page.status_code == 200 and "Genuine." in page.text and "Haemoglobin" in page.text
    assert "Sunita" not in page.text and "10.1" not in page.text
    unknown = await client.get("/verify/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404 and "not from our lab" in unknown.text
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'report.verify'") == 2
    marathi = await client.get(f"/verify/{r.json()['report_id']}?lang=mr")  # the QR code, scanned on a Marathi phone
    assert "खरा." in marathi.text and "Genuine" not in marathi.text
    unknown = await client.get("/verify/00000000-0000-0000-0000-000000000000")  # the language is remembered
    assert unknown.status_code == 404 and "आमच्या लॅबचा नसू शकतो" in unknown.text
