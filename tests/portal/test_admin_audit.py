"""Request-level audit rows for PHI endpoints, the administrators' audit search and CSV export, and the alert
rules on staff access (many patients in an hour; reading outside one's shift)."""

from __future__ import annotations

import csv
import io

import asyncpg
import httpx

from core import alert_rules
from core.identity import Role
from core.vault import Vault
from tests.portal.conftest import username_for
from tests.support.factories import make_patient, make_sample


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "User-Agent": "audit-test/1.0", "X-Request-ID": "req-audit-0001"}


async def test_each_phi_request_leaves_one_row_with_who_what_outcome_and_where(
    client: httpx.AsyncClient,
    staff_token,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
    vault: Vault,
) -> None:
    tech = await staff_token(Role.LAB_TECHNICIAN)
    async with pool.acquire() as conn:
        sample = await make_sample(conn, vault)
    assert (await client.get(f"/api/staff/samples/{sample.barcode}", headers=_auth(tech))).status_code == 200
    assert (await client.get("/api/staff/samples/NO-SUCH-TUBE", headers=_auth(tech))).status_code == 404
    assert (await client.get("/healthz", headers=_auth(tech))).status_code == 200  # not PHI: no row
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM audit_log WHERE action LIKE 'http:%' ORDER BY id")
    assert [(r["action"], r["outcome"], r["entity_id"]) for r in rows] == [
        ("http:staff.samples.read", "http:200", "/api/staff/samples/{barcode}"),
        ("http:staff.samples.read", "http:404", "/api/staff/samples/{barcode}"),
    ]
    first = rows[0]
    assert (first["actor_role"], str(first["patient_id"]), first["source_ip"]) == (
        "lab_technician",
        sample.patient_id,
        "203.0.113.7",
    )
    assert (first["user_agent"], first["request_id"]) == ("audit-test/1.0", "req-audit-0001")
    assert first["actor_id"].startswith("staff:")


async def test_admins_search_and_export_the_audit_log(
    client: httpx.AsyncClient,
    staff_token,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
    vault: Vault,
) -> None:
    tech, admin = await staff_token(Role.LAB_TECHNICIAN), await staff_token(Role.ADMIN)
    async with pool.acquire() as conn:
        p = await make_patient(conn, vault)
    await client.get(f"/api/staff/patients/{p.id}", headers=_auth(tech))
    found = await client.get(f"/api/admin/audit?patient_id={p.id}&action=patient.read", headers=_auth(admin))
    assert found.status_code == 200
    assert [(r["action"], r["actor_role"]) for r in found.json()["rows"]] == [("patient.read", "lab_technician")]
    export = await client.get(f"/api/admin/audit.csv?patient_id={p.id}", headers=_auth(admin))
    assert (
        export.headers["content-type"].startswith("text/csv") and "attachment" in export.headers["content-disposition"]
    )
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert {r["action"] for r in table} >= {"patient.create", "patient.read", "http:staff.patient"}
    bad = await client.get("/api/admin/audit?since=yesterday", headers=_auth(admin))
    assert bad.status_code == 422 and bad.json()["field"] == "since"
    async with pool.acquire() as conn:
        searches = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'audit.search'")
    assert searches == 2  # searching the log is itself in the log (the refused one never ran)


async def test_reading_many_patients_in_an_hour_raises_one_alert(
    client: httpx.AsyncClient,
    staff_token,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
    vault: Vault,
) -> None:
    support = await staff_token(Role.SUPPORT)
    async with pool.acquire() as conn:
        people = [await make_patient(conn, vault) for _ in range(alert_rules.BULK_PATIENTS_PER_HOUR + 3)]
    for p in people:
        assert (await client.get(f"/api/staff/patients/{p.id}", headers=_auth(support))).status_code == 200
    async with pool.acquire() as conn:
        kinds = await conn.fetch("SELECT kind, detail FROM alerts")
    assert [k["kind"] for k in kinds] == ["bulk_access"]
    assert kinds[0]["detail"]["patients_last_hour"] == alert_rules.BULK_PATIENTS_PER_HOUR + 1


async def test_reading_outside_ones_shift_raises_an_alert(
    client: httpx.AsyncClient,
    staff_token,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
    vault: Vault,
) -> None:
    tech = await staff_token(Role.LAB_TECHNICIAN)
    async with pool.acquire() as conn:
        p = await make_patient(conn, vault)
        # A shift that has just ended, whatever the time now: from 2 hours ago to 1 hour ago, lab time.
        await conn.execute(
            """UPDATE staff SET shift_start = (now() AT TIME ZONE 'Asia/Kolkata' - interval '2 hours')::time,
                                shift_end = (now() AT TIME ZONE 'Asia/Kolkata' - interval '1 hour')::time
               WHERE username = $1""",
            username_for(Role.LAB_TECHNICIAN),
        )
    await client.get(f"/api/staff/patients/{p.id}", headers=_auth(tech))
    await client.get(f"/api/staff/patients/{p.id}", headers=_auth(tech))
    async with pool.acquire() as conn:
        assert [r["kind"] for r in await conn.fetch("SELECT kind FROM alerts")] == ["off_shift_access"]


def test_shift_windows_including_night_shifts() -> None:
    from datetime import UTC, datetime, time

    at = datetime(2026, 11, 21, 17, 30, tzinfo=UTC)  # 23:00 in the lab
    assert alert_rules.outside(time(9), time(17), at)
    assert not alert_rules.outside(time(21), time(7), at)  # a night shift across midnight
    assert alert_rules.outside(time(21), time(23), at)  # the end is not inside
    assert not alert_rules.outside(None, None, at)


async def test_the_audit_page_searches_and_links_the_same_export(
    client: httpx.AsyncClient,
    staff_token,  # type: ignore[no-untyped-def]
) -> None:
    admin = await staff_token(Role.ADMIN)
    page = await client.get("/admin/audit?action=staff.sign_in&limit=50", headers=_auth(admin))
    assert page.status_code == 200 and 'for="action"' in page.text
    assert "staff.sign_in" in page.text and 'href="/api/admin/audit.csv?action=staff.sign_in&amp;limit=50"' in page.text
    bad = await client.get("/admin/audit?until=soon", headers=_auth(admin))
    assert bad.status_code == 422 and "ISO date" in bad.text
    tech = await staff_token(Role.LAB_TECHNICIAN)
    assert (await client.get("/admin/audit", headers=_auth(tech))).status_code == 403
