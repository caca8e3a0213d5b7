"""The booking page with JavaScript off: sign-in required (and back afterwards); a symptom check's tests come
ticked; a centre or a home visit (a served pincode and an address); a day and a time with room; the booking is made
on channel "portal" and confirmed; a time taken meanwhile asks calmly for another, nothing lost; one form, one
booking."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from core.booking import slots
from core.config import Settings
from core.vault import Vault
from portal.app import create_app
from tests.support.asgi import app_client
from tests.support.days import first_full_day
from tests.support.factories import ensure_centres, make_patient
from tests.support.inbox import Inbox

PHONE = "+919877700001"
ADDRESS = "Flat 4, Sea View, 12 Hill Road, near the church"


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert match, page
    return match.group(1)


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, page
    return match.group(1)


def _checked(page: str) -> set[str]:
    return set(re.findall(r'name="item" value="([^"]+)" checked', page))


def _times(page: str) -> list[str]:
    return re.findall(r'name="slot" value="(\d+)"', page)


@pytest.fixture
async def browser(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> AsyncIterator[tuple[httpx.AsyncClient, Inbox]]:
    inbox = Inbox()
    async with pool.acquire() as conn:
        await ensure_centres(conn)
        await conn.execute("INSERT INTO served_pincodes VALUES ('400050', 'CC-1', 'Bandra West')")
        await slots.ensure(conn, first_full_day())
        await make_patient(conn, vault, phone=PHONE, name="Meera Test")
    async with app_client(create_app(settings, notifier=inbox)) as c:
        yield c, inbox


async def _sign_in(c: httpx.AsyncClient, inbox: Inbox) -> httpx.Response:
    page = await c.get("/signin")
    sent = await c.post("/signin", data={"csrf": _csrf(page.text), "phone": PHONE})
    return await c.post("/signin/code", data={"csrf": _csrf(sent.text), "phone": PHONE, "code": inbox.last_code(PHONE)})


async def _times_for(c: httpx.AsyncClient, **form: object) -> httpx.Response:
    page = await c.get("/book")
    data = {"csrf": _csrf(page.text), "once": _hidden(page.text, "once"), "step": "times", **form}
    return await c.post("/book", data=data)  # type: ignore[arg-type]


async def _book(c: httpx.AsyncClient, shown: httpx.Response, slot: str, **form: object) -> httpx.Response:
    data = {"csrf": _csrf(shown.text), "once": _hidden(shown.text, "once"), "step": "book", "slot": slot, **form}
    return await c.post("/book", data=data)  # type: ignore[arg-type]


async def test_sign_in_is_required_and_brings_you_back_with_the_tests(browser: tuple[httpx.AsyncClient, Inbox]) -> None:
    c, inbox = browser
    r = await c.get("/book?tests=CBC&tests=Lipid+profile")
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    r = await c.post("/book", data={"kind": "centre"})
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    done = await _sign_in(c, inbox)
    assert done.status_code == 303 and done.headers["location"] == "/book?tests=CBC&tests=Lipid+profile"
    page = await c.get(done.headers["location"])
    assert page.status_code == 200 and _checked(page.text) == {"CBC", "LIPID"}
    again = await _sign_in(c, inbox)  # the way back is used once
    assert again.headers["location"] == "/my-tests"


async def test_the_tests_of_a_symptom_check_come_ticked(browser: tuple[httpx.AsyncClient, Inbox]) -> None:
    c, inbox = browser
    await _sign_in(c, inbox)
    r = await c.get("/book?consult=1&tests=CBC+with+platelet+count&tests=Dengue+NS1&tests=Urine+routine&tests=CBC")
    assert r.status_code == 200
    assert _checked(r.text) == {"CBC", "URINE"}
    assert "cannot be booked online yet: Dengue NS1" in r.text and "ticked the tests from your symptom check" in r.text
    assert "Teleconsult booking is coming soon; you can book the tests now." in r.text
    assert "Complete blood count: ₹350" in r.text and "Full body check" in r.text and "Total: ₹550" in r.text
    plain = await c.get("/book")
    assert _checked(plain.text) == set() and "coming soon" not in plain.text


async def test_books_a_centre_slot_and_confirms_it(
    browser: tuple[httpx.AsyncClient, Inbox], pool: asyncpg.Pool, vault: Vault
) -> None:
    c, inbox = browser
    await _sign_in(c, inbox)
    shown = await _times_for(c, item=["CBC", "FBS"], kind="centre", centre="CC-1")
    assert shown.status_code == 200 and 'id="day"' in shown.text and _checked(shown.text) == {"CBC", "FBS"}
    slot = _times(shown.text)[0]
    r = await _book(c, shown, slot, item=["CBC", "FBS"], kind="centre", centre="CC-1")
    assert r.status_code == 303 and r.headers["location"].startswith("/book?done=")
    done = await c.get(r.headers["location"])
    assert done.status_code == 200 and "Your collection is booked" in done.text
    assert "Test Collection Centre" in done.text and "₹450" in done.text
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM bookings")
        assert row["channel"] == "portal" and row["kind"] == "centre" and row["slot_id"] == int(slot)
        assert list(row["items"]) == ["CBC", "FBS"] and row["price_paise"] == 45000 and row["address_enc"] is None
        assert vault.open("bookings", "phone", str(row["id"]), row["phone_enc"]) == PHONE
        assert row["ref"] in done.text
        assert await conn.fetchval("SELECT booked FROM slots WHERE id = $1", int(slot)) == 1
        actions = await conn.fetch("SELECT action, outcome FROM audit_log WHERE action LIKE '%book%'")
    seen = {(a["action"], a["outcome"]) for a in actions}
    assert ("booking.create", "ok") in seen and ("http:page.book.create", "http:303") in seen
    assert ("http:page.book", "http:200") in seen  # the confirmation is a PHI read, audited too


async def test_home_collection_needs_a_served_pincode_and_an_address(
    browser: tuple[httpx.AsyncClient, Inbox], pool: asyncpg.Pool, vault: Vault
) -> None:
    c, inbox = browser
    await _sign_in(c, inbox)
    for pincode, address, message in [
        ("12345", ADDRESS, "Please enter the 6-digit pincode"),
        ("110001", ADDRESS, "We do not collect at home in pincode 110001 yet"),
        ("400050", "Bandra", "Please write the full address"),
    ]:
        r = await _times_for(c, item="CBC", kind="home", pincode=pincode, address=address)
        assert r.status_code == 422 and message in r.text and 'aria-invalid="true"' in r.text
        assert f'value="{pincode}"' in r.text and f">{address}</textarea>" in r.text and 'name="slot"' not in r.text
    shown = await _times_for(c, item="CBC", kind="home", pincode="400050", address=ADDRESS)
    assert shown.status_code == 200
    slot = _times(shown.text)[0]
    r = await _book(c, shown, slot, item="CBC", kind="home", pincode="400050", address=ADDRESS)
    assert r.status_code == 303
    done = await c.get(r.headers["location"])
    assert "At your home, pincode 400050 (Bandra West)" in done.text
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM bookings")
    assert row["kind"] == "home" and row["pincode"] == "400050"
    assert vault.open("bookings", "address", str(row["id"]), row["address_enc"]) == ADDRESS


async def test_a_time_taken_meanwhile_asks_calmly_for_another_and_keeps_the_rest(
    browser: tuple[httpx.AsyncClient, Inbox], pool: asyncpg.Pool
) -> None:
    c, inbox = browser
    await _sign_in(c, inbox)
    shown = await _times_for(c, item=["CBC", "TSH"], kind="home", pincode="400050", address=ADDRESS)
    slot = _times(shown.text)[0]
    async with pool.acquire() as conn:
        await conn.execute("UPDATE slots SET booked = capacity WHERE id = $1", int(slot))  # someone else took it
    r = await _book(c, shown, slot, item=["CBC", "TSH"], kind="home", pincode="400050", address=ADDRESS)
    assert r.status_code == 409
    assert "That time has just been taken by someone else. Nothing is lost: please choose another time." in r.text
    assert _checked(r.text) == {"CBC", "TSH"} and 'value="400050"' in r.text and f">{ADDRESS}</textarea>" in r.text
    assert slot not in _times(r.text) and _times(r.text)  # other times are offered
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM bookings") == 0
    retry = await _book(c, r, _times(r.text)[0], item=["CBC", "TSH"], kind="home", pincode="400050", address=ADDRESS)
    assert retry.status_code == 303


async def test_nothing_chosen_or_a_time_from_elsewhere_is_refused_clearly(
    browser: tuple[httpx.AsyncClient, Inbox],
) -> None:
    c, inbox = browser
    await _sign_in(c, inbox)
    shown = await _times_for(c, kind="centre", centre="CC-1")
    r = await _book(c, shown, _times(shown.text)[0], kind="centre", centre="CC-1")
    assert r.status_code == 422 and "Please choose at least one test or package." in r.text
    home = await _times_for(c, item="CBC", kind="home", pincode="400050", address=ADDRESS)
    r = await _book(c, shown, _times(home.text)[0], item="CBC", kind="centre", centre="CC-1")  # a home time
    assert r.status_code == 422 and "Please choose one of the times shown." in r.text
    r = await _book(c, shown, "99999999999999999999", item="CBC", kind="centre", centre="CC-1")
    assert r.status_code == 422


async def test_the_same_form_sent_twice_books_once(
    browser: tuple[httpx.AsyncClient, Inbox], pool: asyncpg.Pool
) -> None:
    c, inbox = browser
    await _sign_in(c, inbox)
    shown = await _times_for(c, item="CBC", kind="centre", centre="CC-1")
    slot = _times(shown.text)[0]
    first, second = await asyncio.gather(
        _book(c, shown, slot, item="CBC", kind="centre", centre="CC-1"),
        _book(c, shown, slot, item="CBC", kind="centre", centre="CC-1"),
    )
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM bookings") == 1


async def test_someone_elses_booking_is_not_shown(browser: tuple[httpx.AsyncClient, Inbox]) -> None:
    c, inbox = browser
    await _sign_in(c, inbox)
    r = await c.get("/book?done=00000000-0000-0000-0000-000000000000")
    assert r.status_code == 303 and r.headers["location"] == "/book"


async def test_the_page_in_hindi(browser: tuple[httpx.AsyncClient, Inbox]) -> None:
    c, inbox = browser
    await _sign_in(c, inbox)
    page = await c.get("/book?lang=hi&tests=CBC")
    assert 'lang="hi"' in page.text and "सैंपल कलेक्शन बुक करें" in page.text and "कम्प्लीट ब्लड काउंट (CBC): ₹350" in page.text
