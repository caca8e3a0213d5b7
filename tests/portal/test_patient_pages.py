"""The patient pages with JavaScript off: sign in by form, read the timeline, switch family, see who viewed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from core.config import Settings
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault
from portal.app import create_app
from tests.support.asgi import app_client
from tests.support.factories import PHLEB, make_patient, make_sample
from tests.support.inbox import Inbox

PHONE = "+919855500001"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert match, html
    return match.group(1)


@pytest.fixture
async def browser(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> AsyncIterator[tuple[httpx.AsyncClient, Inbox]]:
    inbox = Inbox()
    async with pool.acquire() as conn:
        mother = await make_patient(conn, vault, phone=PHONE, name="Asha Test")
        sample = await make_sample(conn, vault, patient=mother)
        await samples.transition(
            conn, barcode=sample.barcode, to_state=SampleState.IN_TRANSIT, actor=PHLEB, centre_id="CC-1"
        )
        child = await make_patient(conn, vault, phone=PHONE, name="Rohan Test")
        await make_sample(conn, vault, patient=child)
    async with app_client(create_app(settings, notifier=inbox)) as c:
        yield c, inbox


async def _sign_in(c: httpx.AsyncClient, inbox: Inbox) -> httpx.Response:
    page = await c.get("/signin")
    assert page.status_code == 200 and 'for="phone"' in page.text
    sent = await c.post("/signin", data={"csrf": _csrf(page.text), "phone": "98555 00001"})
    assert sent.status_code == 200 and "+91******0001" in sent.text
    return await c.post(
        "/signin/code", data={"csrf": _csrf(sent.text), "phone": "98555 00001", "code": inbox.last_code(PHONE)}
    )


async def test_sign_in_then_see_a_timeline_written_for_people(browser: tuple[httpx.AsyncClient, Inbox]) -> None:
    c, inbox = browser
    done = await _sign_in(c, inbox)
    assert done.status_code == 303 and done.headers["location"] == "/my-tests"
    cookie = done.headers["set-cookie"]
    assert "lp_session=" in cookie and "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
    page = await c.get("/my-tests")
    assert page.status_code == 200
    assert "Your sample is on its way to our lab" in page.text
    assert "Your report should be ready by" in page.text
    assert "Test Collection Centre" in page.text and 'aria-current="step"' in page.text
    assert page.headers["cache-control"] == "no-store"
    hindi = await c.get("/my-tests?lang=hi")
    assert "आपका सैंपल सही तापमान में हमारी लैब की ओर जा रहा है।" in hindi.text and 'lang="hi"' in hindi.text


async def test_cards_name_the_tests_and_the_centre_as_the_lab_does_in_each_language(
    browser: tuple[httpx.AsyncClient, Inbox], pool: asyncpg.Pool
) -> None:
    c, inbox = browser
    await _sign_in(c, inbox)
    async with pool.acquire() as conn:
        await conn.execute("""UPDATE centres SET names = '{"mr": "टेस्ट कलेक्शन सेंटर, पुणे"}' WHERE id = 'CC-1'""")
    marathi = (await c.get("/my-tests?lang=mr")).text
    assert 'lang="mr"' in marathi and "कम्प्लीट ब्लड काउंट (CBC)" in marathi  # the lab's Marathi name for CBC
    assert "टेस्ट कलेक्शन सेंटर, पुणे" in marathi and "Test Collection Centre" not in marathi
    hindi = (await c.get("/my-tests?lang=hi")).text
    assert "कम्प्लीट ब्लड काउंट (CBC)" in hindi and "Test Collection Centre" in hindi  # no Hindi name: the English
    english = (await c.get("/my-tests?lang=en")).text
    assert "Complete blood count" in english and "टेस्ट कलेक्शन" not in english


async def test_family_switch_and_who_viewed(browser: tuple[httpx.AsyncClient, Inbox]) -> None:
    c, inbox = browser
    await _sign_in(c, inbox)
    page = await c.get("/my-tests")
    assert "Asha" in page.text and "Rohan" in page.text  # first names only, in the switcher
    ids = re.findall(r'<option value="([0-9a-f-]{36})"', page.text)
    r = await c.post("/switch", data={"csrf": _csrf(page.text), "patient": ids[1]})
    assert r.status_code == 303
    switched = await c.get("/my-tests")
    assert re.search(rf'<option value="{ids[1]}" selected>', switched.text)
    assert "Your sample was collected at Test Collection Centre" in switched.text
    access = await c.get("/my-tests/access")
    assert access.status_code == 200 and "opened your record" in access.text


async def test_forms_without_the_csrf_token_are_refused(browser: tuple[httpx.AsyncClient, Inbox]) -> None:
    c, inbox = browser
    r = await c.post("/signin", data={"phone": PHONE})
    assert r.status_code == 403 and "open too long" in r.text
    assert inbox.sent == []


async def test_a_stranger_id_in_the_switch_is_refused(browser: tuple[httpx.AsyncClient, Inbox], pool, vault) -> None:  # type: ignore[no-untyped-def]
    c, inbox = browser
    async with pool.acquire() as conn:
        stranger = await make_patient(conn, vault, phone="+919855500099")
    await _sign_in(c, inbox)
    page = await c.get("/my-tests")
    r = await c.post("/switch", data={"csrf": _csrf(page.text), "patient": stranger.id})
    assert r.status_code == 404
    r = await c.get(f"/my-tests?patient={stranger.id}")
    assert stranger.id not in r.text


async def test_pages_send_to_sign_in_without_a_session(browser: tuple[httpx.AsyncClient, Inbox]) -> None:
    c, _ = browser
    for path in ("/my-tests", "/my-tests/access"):
        r = await c.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/signin", path
    home = await c.get("/")  # the front door is the sign-in form itself
    assert home.status_code == 200 and 'action="/signin"' in home.text


async def test_a_link_preview_does_not_use_up_a_magic_link(browser: tuple[httpx.AsyncClient, Inbox]) -> None:
    c, _ = browser
    token = c.app_state["signin"].magic_link_token(PHONE)  # type: ignore[attr-defined]
    preview = await c.get(f"/signin/link?t={token}")
    assert preview.status_code == 200 and "lp_session" not in preview.headers.get("set-cookie", "")
    r = await c.post("/signin/link", data={"csrf": _csrf(preview.text), "t": token})
    assert r.status_code == 303 and r.headers["location"] == "/my-tests"


@pytest.mark.parametrize(
    "path",
    [
        "/api/patient/status?patient={id}",
        "/api/patient/access-log?patient={id}",
        "/my-tests?patient={id}",
        "/my-tests/cards?patient={id}",
        "/my-tests/access?patient={id}",
    ],
)
async def test_no_read_endpoint_shows_a_patient_of_another_phone(
    browser: tuple[httpx.AsyncClient, Inbox],
    pool,  # type: ignore[no-untyped-def]
    vault,  # type: ignore[no-untyped-def]
    path: str,
) -> None:
    c, inbox = browser
    async with pool.acquire() as conn:
        stranger = await make_patient(conn, vault, phone="+919855500098", name="Zed Stranger")
        tube = await make_sample(conn, vault, patient=stranger)
    await _sign_in(c, inbox)
    r = await c.get(path.format(id=stranger.id))
    assert r.status_code in (200, 404), r.status_code
    assert tube.barcode not in r.text and "Zed" not in r.text  # (a 404 may echo back the id the caller sent)
    if r.status_code == 200:  # a page falls back to the signed-in phone's own patient
        assert "Asha" in r.text or "Your sample" in r.text
    async with pool.acquire() as conn:
        leaked = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE patient_id = $1 AND actor_role = 'patient' AND outcome = 'ok'",
            stranger.id,
        )
    assert leaked == 0


async def test_a_demo_over_plain_http_signs_in_without_secure_cookies_and_production_keeps_them(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    """A phone on the LAN opening a demo served over http must get its cookies back (a Secure cookie never comes
    back over http: the sign-in form would say it had been open too long); production stays Secure (behind TLS)."""
    async with pool.acquire() as conn:
        await make_patient(conn, vault, phone=PHONE, name="Asha Test")
    for mode, secure, base in (("demo", False, "http://192.0.2.10:8000"), ("production", True, "https://lab.example")):
        inbox = Inbox()
        app = create_app(settings.with_overrides(mode=mode), notifier=inbox)
        async with app_client(app, base_url=base) as c:
            page = await c.get("/signin")
            assert ("Secure" in page.headers["set-cookie"]) is secure  # the CSRF cookie
            done = await _sign_in(c, inbox)
            assert done.status_code == 303, done.text
            assert ("Secure" in done.headers["set-cookie"]) is secure


async def test_a_refusal_is_said_in_the_pages_language(browser: tuple[httpx.AsyncClient, Inbox]) -> None:
    """A wrong code, a number that is not one and a flood of codes, on Marathi pages: each refusal in Marathi
    (from the catalogue, the wait in CLDR's words), and in English on English pages."""
    c, _inbox = browser
    page = await c.get("/signin?lang=mr")
    sent = await c.post("/signin", data={"csrf": _csrf(page.text), "phone": "98555 00001"})
    wrong = await c.post("/signin/code", data={"csrf": _csrf(sent.text), "phone": "98555 00001", "code": "000000"})
    assert wrong.status_code == 401 and "हा कोड चालला नाही" in wrong.text and "did not work" not in wrong.text
    bad = await c.post("/signin", data={"csrf": _csrf(page.text), "phone": "12"})
    assert bad.status_code == 422 and "फोन नंबर" in bad.text
    for _ in range(6):
        flood = await c.post("/signin", data={"csrf": _csrf(page.text), "phone": "98555 00001"})
    alert = re.search(r'role="alert">([^<]*)<', flood.text)
    assert flood.status_code == 429 and alert is not None, flood.text
    assert "थांबा" in alert.group(1) and re.search(r"\d+ (तास|मिनिट)", alert.group(1)), alert.group(1)
    english = await c.post("/signin?lang=en", data={"csrf": _csrf(page.text), "phone": "12"})
    assert "phone number" in english.text
