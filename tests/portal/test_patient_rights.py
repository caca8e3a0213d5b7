"""A patient's rights: a full copy of their data (JSON and a FHIR R4 Bundle), and closing the account (contact
details erased, medical record kept, sessions ended)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle

from core.config import Settings
from core.patients.sessions import PatientSessions
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault
from portal.app import create_app
from tests.support.asgi import app_client
from tests.support.factories import PHLEB, make_patient, make_sample
from tests.support.inbox import Inbox

PHONE = "+919877711111"


@pytest.fixture
async def family(pool: asyncpg.Pool, vault: Vault) -> tuple[str, str, str]:
    async with pool.acquire() as conn:
        mother = await make_patient(conn, vault, phone=PHONE, name="Lata Rights")
        tube = await make_sample(conn, vault, patient=mother)
        await samples.transition(
            conn, barcode=tube.barcode, to_state=SampleState.IN_TRANSIT, actor=PHLEB, centre_id="CC-1"
        )
        son = await make_patient(conn, vault, phone=PHONE, name="Arjun Rights")
    return mother.id, son.id, tube.barcode


@pytest.fixture
async def pc(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings, notifier=Inbox())) as c:
        yield c


async def _session(redis, settings, vault, active: str) -> str:  # type: ignore[no-untyped-def]
    lookup = vault.lookup.digest("phone", PHONE).hex()
    return await PatientSessions(redis, settings.redis_prefix).create(
        phone_lookup=lookup, phone_hint="+91***", active_patient_id=active
    )


async def test_export_as_json_and_as_a_valid_fhir_bundle(
    pc: httpx.AsyncClient,
    family,
    redis,
    settings,
    vault,
    pool,  # type: ignore[no-untyped-def]
) -> None:
    mother, _, barcode = family
    auth = {"Authorization": f"Bearer {await _session(redis, settings, vault, mother)}"}
    r = await pc.get("/api/patient/export", headers=auth)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    data = r.json()
    assert data["format"] == "labpulse-export/1"
    assert (data["patient"]["name"], data["patient"]["phone"]) == ("Lata Rights", PHONE)
    assert [s["barcode"] for s in data["samples"]] == [barcode] and data["samples"][0]["state"] == "in_transit"
    assert {e["action"] for e in data["access_log"]} >= {"patient.create", "patient.read"}
    f = await pc.get("/api/patient/export.fhir.json", headers=auth)
    assert f.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(f.json())  # valid FHIR, by fhir.resources' own models
    kinds = [e.resource.__resource_type__ for e in bundle.entry]
    assert kinds == ["Patient", "DiagnosticReport"]
    report = bundle.entry[1].resource
    assert report.status == "registered" and report.subject.reference == f"urn:uuid:{mother}"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'patient.export'") == 2


async def test_closing_one_family_member_erases_contact_details_and_keeps_the_record(
    pc: httpx.AsyncClient,
    family,
    redis,
    settings,
    vault,
    pool,  # type: ignore[no-untyped-def]
) -> None:
    mother, son, _ = family
    token = await _session(redis, settings, vault, son)
    auth = {"Authorization": f"Bearer {token}"}
    unsure = await pc.post("/api/patient/close", headers=auth, json={"patient": son, "confirm": "maybe"})
    assert unsure.status_code == 422 and unsure.json()["field"] == "confirm"
    done = await pc.post("/api/patient/close", headers=auth, json={"patient": son, "confirm": "close"})
    assert done.status_code == 200 and done.json()["signed_out"] is False
    assert "as long as the law requires" in done.json()["message"]
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM patients WHERE id = $1", son)
        assert (row["phone_enc"], row["phone_lookup"], row["address_enc"]) == (None, None, None)
        assert row["name_enc"] is not None and row["closed_at"] is not None
    # The phone still sees the mother, no longer the son.
    assert (await pc.get(f"/api/patient/status?patient={mother}", headers=auth)).status_code == 200
    assert (await pc.get(f"/api/patient/status?patient={son}", headers=auth)).status_code == 404
    # Closing the last one ends every session on the phone.
    last = await pc.post("/api/patient/close", headers=auth, json={"patient": mother, "confirm": "close"})
    assert last.json()["signed_out"] is True
    assert (await pc.get("/api/patient/status", headers=auth)).status_code == 401


async def test_close_through_the_page(pc: httpx.AsyncClient, family, redis, settings, vault) -> None:  # type: ignore[no-untyped-def]
    import re

    _, son, _ = family
    pc.cookies.set("lp_session", await _session(redis, settings, vault, son))
    page = await pc.get("/my-tests/my-data")
    assert page.status_code == 200 and "Download everything" in page.text and 'for="confirm"' in page.text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)  # type: ignore[union-attr]
    unsure = await pc.post("/my-tests/close", data={"csrf": csrf, "patient": son})
    assert unsure.status_code == 422
    done = await pc.post("/my-tests/close", data={"csrf": csrf, "patient": son, "confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == "/my-tests"  # the mother is still here
    pc.cookies.clear()
