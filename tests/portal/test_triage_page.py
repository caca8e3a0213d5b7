"""The symptom-check pages with JavaScript off: a calm form anyone may use; an emergency leads with the ambulance
number and offers no booking; other levels offer to book the suggested tests (or a teleconsult); bad input
shows the form again with the person's words kept; a signed-in person's check is kept, encrypted and audited."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from core.config import Settings
from core.patients.sessions import PatientSessions
from core.vault import Vault
from portal.app import create_app
from tests.support.asgi import app_client
from tests.support.factories import make_patient

PHONE = "+919833300011"


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert match, page
    return match.group(1)


def _links(page: str) -> dict[str, str]:
    """Link text → href, for the page's links."""
    return {
        html.unescape(text).strip(): html.unescape(href)
        for href, text in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>([^<]+)</a>', page)
    }


@pytest.fixture
async def client(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings.with_overrides(ambulance_number="112"))) as c:
        yield c


async def _check(c: httpx.AsyncClient, text: str, *, lang: str = "en", **fields: str) -> httpx.Response:
    form = await c.get(f"/triage?lang={lang}")
    assert form.status_code == 200
    return await c.post("/triage", data={"csrf": _csrf(form.text), "text": text, **fields})


async def test_the_form_needs_no_sign_in_and_names_the_ambulance(client: httpx.AsyncClient) -> None:
    r = await client.get("/triage")
    assert r.status_code == 200 and 'lang="en"' in r.text
    assert '<label for="text">Your symptoms</label>' in r.text and 'for="age"' in r.text and 'for="sex"' in r.text
    assert 'href="tel:112"' in r.text and "nothing you write here is stored" in r.text


async def test_an_emergency_leads_with_the_ambulance_and_offers_no_booking(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    r = await _check(client, "severe chest pain and sweating")
    assert r.status_code == 200
    page = r.text
    assert "Get emergency help now" in page and "Call an ambulance: 112" in page
    call = page.index('href="tel:112"')
    assert call < page.index("Why we suggest this") and call < page.index("Which doctor")  # first and foremost
    assert "<q>chest pain</q>" in page and "<q>sweating</q>" in page  # the words that fired each rule
    assert "<form" not in page and "/book" not in page and "Book" not in page  # nothing to book, only to call
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM triage_assessments") == 0  # anonymous: kept nowhere


@pytest.mark.parametrize(
    ("text", "level_words", "tests", "words"),
    [
        (
            "fever for 4 days and body ache, no cough",
            "within 24 hours",
            ["CBC", "Dengue NS1", "Urine routine"],
            ["fever", "4 days"],
        ),
        ("joint pain in my knees for 2 weeks", "in the coming days", ["Uric acid", "CBC"], ["joint pain"]),
    ],
)
async def test_other_levels_offer_to_book_the_suggested_tests(
    client: httpx.AsyncClient, text: str, level_words: str, tests: list[str], words: list[str]
) -> None:
    r = await _check(client, text)
    assert r.status_code == 200 and level_words in r.text and "tel:112" not in r.text.split("What to do now")[0]
    links = _links(r.text)
    book, consult = urlsplit(links["Book these tests"]), urlsplit(links["Book a teleconsult"])
    assert book.path == "/book" and set(tests) <= set(parse_qs(book.query)["tests"])
    assert consult.path == "/consult/book" and not consult.query  # the patient's words never go in a URL
    for word in words:
        assert f"<q>{word}</q>" in r.text
    for name in tests:
        assert f"<li>{name}</li>" in r.text


async def test_what_was_said_to_be_absent_is_listed(client: httpx.AsyncClient) -> None:
    r = await _check(client, "fever for 4 days and body ache, no cough")
    absent = r.text.split("You said these are not there")[1].split("</ul>")[0]
    assert "<li>cough</li>" in absent


async def test_the_page_follows_the_language_switch(client: httpx.AsyncClient) -> None:
    form = await client.get("/triage?lang=hi")
    assert 'lang="hi"' in form.text and "अपने लक्षण जाँचें" in form.text
    r = await client.post("/triage", data={"csrf": _csrf(form.text), "text": "4 din se bukhar hai, khansi nahi"})
    assert r.status_code == 200 and 'lang="hi"' in r.text
    assert "कृपया 24 घंटों के अंदर डॉक्टर को दिखाएँ" in r.text  # the level
    assert "तीन दिन या उससे ज़्यादा से बुखार" in r.text and "<q>bukhar</q>" in r.text  # reason, their own words
    assert "<li>khansi</li>" in r.text and "सामान्य चिकित्सक" in r.text
    assert "ये टेस्ट बुक करें" in r.text and "टेली-परामर्श बुक करें" in r.text
    emergency = await _check(client, "सीने में दर्द और पसीना", lang="hi")
    assert "अभी इमरजेंसी मदद लें" in emergency.text and "एम्बुलेंस बुलाएँ: 112" in emergency.text
    assert "/book" not in emergency.text


@pytest.mark.parametrize(
    ("text", "fields", "message"),
    [
        ("   ", {}, "Please describe the symptoms in words"),
        ("fever " * 400, {}, "Please keep it under 2000 characters"),
        ("fever since yesterday", {"age": "forty"}, "Age is a whole number of years from 0 to 120."),
        ("fever since yesterday", {"age": "130"}, "Age is a whole number of years from 0 to 120."),
    ],
)
async def test_bad_input_shows_the_form_again_with_a_calm_message_and_the_words_kept(
    client: httpx.AsyncClient, text: str, fields: dict[str, str], message: str
) -> None:
    r = await _check(client, text, **fields)
    assert r.status_code == 422
    assert 'role="alert"' in r.text and message in r.text and 'aria-invalid="true"' in r.text
    assert f">{text}</textarea>" in r.text and 'action="/triage"' in r.text
    if "age" in fields:
        assert f'value="{fields["age"]}"' in r.text


async def test_hindi_validation_messages(client: httpx.AsyncClient) -> None:
    r = await _check(client, "", lang="hi")
    assert r.status_code == 422 and "कृपया लक्षण शब्दों में लिखें" in r.text


async def test_a_form_from_elsewhere_is_refused_and_the_words_kept(client: httpx.AsyncClient) -> None:
    r = await client.post("/triage", data={"text": "fever and headache"})
    assert r.status_code == 403 and "open too long" in r.text and ">fever and headache</textarea>" in r.text


async def test_a_signed_in_check_is_kept_encrypted_and_audited(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    vault: Vault,
    redis,
    settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    async with pool.acquire() as conn:
        patient = await make_patient(conn, vault, phone=PHONE)
    lookup = vault.lookup.digest("phone", PHONE).hex()
    token = await PatientSessions(redis, settings.redis_prefix).create(
        phone_lookup=lookup, phone_hint="+91***", active_patient_id=patient.id
    )
    client.cookies.set("lp_session", token)
    form = await client.get("/triage")
    assert "this check is kept in your record, encrypted" in form.text
    r = await client.post("/triage", data={"csrf": _csrf(form.text), "text": "fever for 4 days and body ache"})
    assert r.status_code == 200 and "within 24 hours" in r.text
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM triage_assessments")
        assert row["phone_lookup"] == lookup and row["level"] == "urgent"
        assert b"body ache" not in bytes(row["text_enc"])
        assert (
            vault.open("triage_assessments", "text", str(row["id"]), row["text_enc"])
            == "fever for 4 days and body ache"
        )
        audited = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'triage.assess' AND entity_id = $1", str(row["id"])
        )
        assert audited == 1
