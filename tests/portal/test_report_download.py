"""Report PDFs leave only through signed, expiring links, to the patient they belong to; each download is audited,
a forged, expired or over-used link gets a calm refusal, and a damaged file is never served."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from core.config import Settings
from core.patients.sessions import PATIENT_COOKIE, PatientSessions
from core.reports import render
from core.reports import service as reports
from core.reports.links import ReportLinks
from core.storage import LocalFileStore
from core.vault import Vault
from portal.app import create_app
from tests.core.test_reports import KEY, PHONE, _completed
from tests.support.asgi import app_client
from tests.support.factories import make_patient
from tests.support.inbox import Inbox

STRANGER = "+919811100000"


@pytest.fixture
async def released(pool: asyncpg.Pool, vault: Vault, files: LocalFileStore) -> tuple[str, str, str]:
    async with pool.acquire() as conn:
        barcode, pathologist = await _completed(conn, vault)
        out = await reports.issue(conn, vault, KEY, barcode=barcode, actor=pathologist, verify_base="https://l.ex")
        patient_id = await conn.fetchval("SELECT patient_id::text FROM samples WHERE barcode = $1", barcode)
    assert await render.render(pool, vault, files, str(out["report_id"]))
    return str(out["report_id"]), str(patient_id), barcode


@pytest.fixture
async def pc(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings, notifier=Inbox())) as c:
        yield c


async def _bearer(redis, settings, vault, phone: str, active: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = await PatientSessions(redis, settings.redis_prefix).create(
        phone_lookup=vault.lookup.digest("phone", phone).hex(), phone_hint="+91***", active_patient_id=active
    )
    return {"Authorization": f"Bearer {token}"}


async def _downloads(pool: asyncpg.Pool) -> list[str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT outcome FROM audit_log WHERE action = 'report.download' ORDER BY id")
    return [r["outcome"] for r in rows]


async def test_the_patient_downloads_their_own_report_through_a_signed_link(
    pc: httpx.AsyncClient,
    released,
    redis,
    settings,
    vault,
    pool,  # type: ignore[no-untyped-def]
) -> None:
    report_id, patient_id, barcode = released
    auth = await _bearer(redis, settings, vault, PHONE, patient_id)
    status = await pc.get("/api/patient/status", headers=auth)
    assert status.json()["samples"][0]["report_id"] == report_id
    link = await pc.post(f"/api/patient/reports/{report_id}/link?patient={patient_id}", headers=auth)
    assert link.status_code == 200 and link.json()["expires_in"] == 900
    pdf = await pc.get(link.json()["url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["cache-control"] == "no-store, private"
    assert f"labpulse-report-{barcode}-v1.pdf" in pdf.headers["content-disposition"]
    assert await _downloads(pool) == ["ok"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'report.link'") >= 1


async def test_another_phone_gets_no_link_and_a_forged_link_no_file(
    pc: httpx.AsyncClient,
    released,
    redis,
    settings,
    vault,
    pool,  # type: ignore[no-untyped-def]
) -> None:
    report_id, patient_id, _ = released
    async with pool.acquire() as conn:
        stranger = await make_patient(conn, vault, phone=STRANGER, name="Other Person")
    auth = await _bearer(redis, settings, vault, STRANGER, stranger.id)
    theirs = await pc.post(f"/api/patient/reports/{report_id}/link?patient={patient_id}", headers=auth)
    assert theirs.status_code == 404
    mine = await pc.post(f"/api/patient/reports/{report_id}/link?patient={stranger.id}", headers=auth)
    assert mine.status_code == 404 and mine.json()["error"] == "link_invalid"
    # A link signed with another key, or for another patient, opens nothing.
    forged = ReportLinks("not-our-secret-" * 3).make(report_id, patient_id)
    r = await pc.get(f"/reports/download/{forged}")
    assert r.status_code == 404 and "not valid" in r.json()["message"]
    settings_links = ReportLinks(settings.secret_key.reveal())
    wrong_patient = settings_links.make(report_id, stranger.id)
    assert (await pc.get(f"/reports/download/{wrong_patient}")).status_code == 404
    assert (await pc.get("/reports/download/" + "x" * 600)).status_code == 404
    assert await _downloads(pool) == ["link_invalid", "link_invalid"]  # the over-long one never reached the domain


async def test_an_expired_link_is_refused_calmly(
    pc: httpx.AsyncClient,
    released,
    settings,
    pool,  # type: ignore[no-untyped-def]
) -> None:
    report_id, patient_id, _ = released
    token = ReportLinks(settings.secret_key.reveal()).make(report_id, patient_id, ttl=1)
    await asyncio.sleep(2.1)
    r = await pc.get(f"/reports/download/{token}")
    assert r.status_code == 410 and "expired" in r.json()["message"] and "Sign in" in r.json()["message"]
    assert await _downloads(pool) == ["link_expired"]


async def test_a_damaged_file_is_never_served_and_raises_an_alert(
    released,  # before the app: its in-process job loop must find the report already rendered, not render it again
    pc: httpx.AsyncClient,
    settings,
    pool,
    files,  # type: ignore[no-untyped-def]
) -> None:
    report_id, patient_id, _ = released
    async with pool.acquire() as conn:
        name = await conn.fetchval("SELECT file_name FROM reports WHERE id = $1", report_id)
    path = files.path(name)
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")  # one byte flipped on disk
    token = ReportLinks(settings.secret_key.reveal()).make(report_id, patient_id)
    r = await pc.get(f"/reports/download/{token}")
    assert r.status_code == 503 and "Your results are safe" in r.json()["message"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT kind FROM alerts") == "report.file_damaged"
    assert await _downloads(pool) == ["damaged"]


async def test_downloads_are_rate_limited_per_address(
    pc: httpx.AsyncClient,
    released,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    report_id, patient_id, _ = released
    token = ReportLinks(settings.secret_key.reveal()).make(report_id, patient_id)
    codes = [(await pc.get(f"/reports/download/{token}")).status_code for _ in range(301)]
    assert codes[:300] == [200] * 300 and codes[300] == 429


async def test_the_page_button_takes_the_patient_to_their_pdf(
    pc: httpx.AsyncClient,
    released,
    redis,
    settings,
    vault,  # type: ignore[no-untyped-def]
) -> None:
    report_id, patient_id, _ = released
    token = await PatientSessions(redis, settings.redis_prefix).create(
        phone_lookup=vault.lookup.digest("phone", PHONE).hex(), phone_hint="+91***", active_patient_id=patient_id
    )
    pc.cookies.set(PATIENT_COOKIE, token)
    page = await pc.get("/my-tests")
    assert page.status_code == 200 and "Download your report (PDF)" in page.text, page.text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert csrf
    r = await pc.post("/my-tests/report", data={"csrf": csrf.group(1), "patient": patient_id, "report": report_id})
    assert r.status_code == 303 and r.headers["location"].startswith("/reports/download/")
    pdf = await pc.get(r.headers["location"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    hindi = await pc.get("/my-tests?lang=hi")
    assert "अपनी रिपोर्ट डाउनलोड करें" in hindi.text


async def test_the_data_export_carries_the_released_results_and_the_pdf(
    pc: httpx.AsyncClient,
    released,
    redis,
    settings,
    vault,  # type: ignore[no-untyped-def]
) -> None:
    import base64

    report_id, patient_id, barcode = released
    auth = await _bearer(redis, settings, vault, PHONE, patient_id)
    data = (await pc.get(f"/api/patient/export?patient={patient_id}", headers=auth)).json()
    [report] = data["reports"]
    assert report["report_id"] == report_id and report["barcode"] == barcode
    assert base64.b64decode(report["pdf_base64"]).startswith(b"%PDF")
    assert {r["name"]: r["value"] for r in data["results"]}["Haemoglobin"] == "10.1"
    fhir = (await pc.get(f"/api/patient/export.fhir.json?patient={patient_id}", headers=auth)).json()
    forms = [f for e in fhir["entry"] for f in e["resource"].get("presentedForm", [])]
    assert len(forms) == 1 and forms[0]["contentType"] == "application/pdf" and forms[0]["data"] == report["pdf_base64"]
