"""Whole WhatsApp and SMS conversations through the real webhook, signed exactly as Twilio signs (the twilio
library's RequestValidator), against real PostgreSQL and Redis: booking a home collection end to end,
rescheduling and cancelling, the report's status before and after it is ready, STOP and START, every flow in each
language (English, Hindi, Marathi), a forged and a retried webhook, an unknown message."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import httpx
import pytest
from twilio.request_validator import RequestValidator

from core import i18n, once
from core.booking import slots
from core.config import Secret, Settings
from core.i18n import LANGS, autonym
from core.identity import Actor, Role
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault
from portal.app import create_app
from tests.support.asgi import app_client
from tests.support.days import first_full_day
from tests.support.factories import PHLEB, TECH, make_sample

TOKEN = "twilio-test-auth-token-0123456789"
PUBLIC = "https://lab.example"
WA = "whatsapp:+919822200001"
_sids = itertools.count(1)
PATHOLOGIST = Actor("staff:path-1", Role.PATHOLOGIST)


@pytest.fixture
def bot_settings(settings: Settings) -> Settings:
    return settings.with_overrides(
        twilio_account_sid="AC" + "0" * 32, twilio_auth_token=Secret(TOKEN), public_url=PUBLIC
    )


@pytest.fixture
async def lab(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO centres (id, name, kind, city) VALUES ('LAB-1', 'Test Lab', 'lab', 'Pune'),
                   ('CC-1', 'Bandra Collection Centre', 'collection', 'Mumbai') ON CONFLICT DO NOTHING"""
        )
        await conn.execute("INSERT INTO served_pincodes VALUES ('400050', 'CC-1', 'Bandra West')")
        await slots.ensure(conn, first_full_day())


@pytest.fixture
async def wa(bot_settings: Settings, pool: asyncpg.Pool, lab: None) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(bot_settings)) as c:
        yield c


def signed(params: dict[str, str], url: str = f"{PUBLIC}/bots/twilio", token: str = TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


async def say(c: httpx.AsyncClient, body: str, sender: str = WA, sid: str | None = None) -> list[str]:
    params = {"MessageSid": sid or f"SM{next(_sids):032d}", "AccountSid": "AC" + "0" * 32, "From": sender,
              "To": "whatsapp:+14155238886", "Body": body, "NumMedia": "0"}  # fmt: skip
    r = await c.post("/bots/twilio", data=params, headers=signed(params))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    return [m.findtext("Body") or m.text or "" for m in ET.fromstring(r.text).iter("Message")]  # noqa: S314 - our own reply


async def test_book_a_home_collection_then_reschedule_then_cancel_on_whatsapp(
    wa: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    assert "1 Book a test" in (await say(wa, "hi"))[0]
    items = (await say(wa, "1"))[0]
    assert "Basic health check" in items and "₹499" in items and "Complete blood count" in items
    assert "At home" in (await say(wa, "1"))[0]  # the basic package
    assert "pincode" in (await say(wa, "1"))[0]
    assert "do not visit homes in 110001" in (await say(wa, "110001"))[0]
    assert "We visit Bandra West" in (await say(wa, "400050"))[0]
    assert "Which day?" in (await say(wa, "Flat 4, Sea View, Hill Road, Bandra West"))[0]
    times = (await say(wa, "1"))[0]
    assert "07:00 (4)" in times or "(4)" in times
    confirm = (await say(wa, "1"))[0]
    assert "Reply YES" in confirm and "₹499" in confirm and "at home (400050)" in confirm
    [booked] = await say(wa, "yes")
    assert "Booked. Your booking number is B" in booked and "fasting" in booked
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM bookings")
        assert row["kind"] == "home" and row["items"] == ["PKG-BASIC"] and row["channel"] == "whatsapp"
        assert b"Sea View" not in bytes(row["address_enc"])  # encrypted at rest
        assert vault.open("bookings", "address", str(row["id"]), row["address_enc"]).startswith("Flat 4")
        assert await conn.fetchval("SELECT booked FROM slots WHERE id = $1", row["slot_id"]) == 1
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'booking.create'") == 1
        reminders = await conn.fetchval("SELECT count(*) FROM pgqueuer WHERE entrypoint = 'booking.remind'")
        assert reminders >= 1
        first_slot = row["slot_id"]
    # Reschedule to the second time of that day.
    assert "Reply with a number to change or cancel" in (await say(wa, "my bookings"))[0]
    assert "1 Change the time" in (await say(wa, "1"))[0]
    assert "Which day?" in (await say(wa, "1"))[0]
    await say(wa, "1")
    [moved] = await say(wa, "2")
    assert "is now" in moved
    async with pool.acquire() as conn:
        new_slot = await conn.fetchval("SELECT slot_id FROM bookings")
        assert new_slot != first_slot
        assert await conn.fetchval("SELECT booked FROM slots WHERE id = $1", first_slot) == 0
        assert await conn.fetchval("SELECT booked FROM slots WHERE id = $1", new_slot) == 1
    # Cancel.
    await say(wa, "cancel booking")
    await say(wa, "1")
    [cancelled] = await say(wa, "2")
    assert "is cancelled" in cancelled
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM bookings") == "cancelled"
        assert await conn.fetchval("SELECT booked FROM slots WHERE id = $1", new_slot) == 0
    assert "no upcoming bookings" in (await say(wa, "my bookings"))[0]


async def test_where_is_my_report_asks_for_the_date_of_birth_first(
    wa: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        p = await patients.create(conn, vault, NewPatient(name="Kiran Chat", sex=Sex.FEMALE, phone="+919822200001",
                                                          date_of_birth=date(1980, 5, 17)), actor=PHLEB)  # fmt: skip
        tube = await make_sample(conn, vault, patient=p)
        await samples.transition(conn, barcode=tube.barcode, to_state=SampleState.IN_TRANSIT, actor=PHLEB,
                                 centre_id="CC-1")  # fmt: skip
    ask = (await say(wa, "where is my report"))[0]
    assert "date of birth" in ask and "Kiran" not in ask  # nothing about anyone before the check
    assert "does not match" in (await say(wa, "01-01-1980"))[0]
    [status] = await say(wa, "17-05-1980")
    assert "Complete blood count: on its way to our lab." in status
    async with pool.acquire() as conn:
        for step in (SampleState.RECEIVED_AT_LAB, SampleState.PROCESSING, SampleState.COMPLETED):
            await samples.transition(conn, barcode=tube.barcode, to_state=step, actor=TECH, centre_id="LAB-1")
        await samples.transition(conn, barcode=tube.barcode, to_state=SampleState.REPORTED, actor=PATHOLOGIST,
                                 centre_id="LAB-1")  # fmt: skip
        outcomes = await conn.fetch("SELECT outcome FROM audit_log WHERE action = 'patient.verify_dob' ORDER BY id")
        assert [o["outcome"] for o in outcomes] == ["no_match", "matched"]
    await say(wa, "report")
    [ready] = await say(wa, "17/05/1980")
    assert "your report is ready" in ready


async def test_a_flood_of_date_guesses_from_every_channel_gets_three_checks_in_all(
    wa: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    import asyncio

    async with pool.acquire() as conn:
        await patients.create(conn, vault, NewPatient(name="Flood Guard", sex=Sex.MALE, phone="+919822200001",
                                                      date_of_birth=date(1975, 1, 2)), actor=PHLEB)  # fmt: skip
    await say(wa, "report")
    await say(wa, "report", sender="+919822200001")  # the same phone by SMS: its own conversation
    guesses = [say(wa, f"{d:02d}-01-1990", sender=WA if d % 2 else "+919822200001") for d in range(1, 21)]
    await asyncio.gather(*guesses)
    async with pool.acquire() as conn:
        checks = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'patient.verify_dob'")
    assert checks == 3
    assert "cannot check more dates of birth" in (await say(wa, "report"))[-1]  # even before the right date


async def test_odd_input_gets_a_calm_answer(wa: httpx.AsyncClient) -> None:
    for text in ("²", "①", "", " ", "🙂", "1" * 1000, "1-1-99999999999999999999", "3-²-2000", "ok" * 900):
        replies = await say(wa, text)
        assert replies and all(r for r in replies), text
    await say(wa, "report")


async def test_three_wrong_dates_of_birth_stop_the_checks(wa: httpx.AsyncClient, pool: asyncpg.Pool,
                                                          vault: Vault) -> None:  # fmt: skip
    async with pool.acquire() as conn:
        await patients.create(conn, vault, NewPatient(name="Guard Chat", sex=Sex.MALE, phone="+919822200001",
                                                      date_of_birth=date(1975, 1, 2)), actor=PHLEB)  # fmt: skip
    await say(wa, "report")
    await say(wa, "01-01-2000")
    await say(wa, "02-01-2000")
    assert "cannot check more dates of birth" in (await say(wa, "03-01-2000"))[0]
    assert "cannot check more dates of birth" in (await say(wa, "report"))[0]  # even the right one, for now


async def test_stop_and_start_are_one_consent_across_channels_and_audited(wa: httpx.AsyncClient,
                                                                          pool: asyncpg.Pool) -> None:  # fmt: skip
    [stopped] = await say(wa, "STOP")
    assert "no more reminders" in stopped and "START" in stopped
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT reminders FROM consents") is False
    # The same person by SMS: one record, and START there turns reminders back on everywhere.
    assert "back on" in (await say(wa, "start", sender="+919822200001"))[0]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM consents") == 1
        assert await conn.fetchval("SELECT reminders FROM consents") is True
        vias = await conn.fetch("SELECT summary->>'via' AS via FROM audit_log WHERE action = 'consent.update'")
        assert [v["via"] for v in vias] == ["whatsapp", "sms"]
    assert "1800" in (await say(wa, "help"))[0]
    assert "no more reminders" in (await say(wa, "रोको"))[0]


async def test_hindi_is_chosen_remembered_and_used_everywhere(
    wa: httpx.AsyncClient,
    pool: asyncpg.Pool,
    redis,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    [set_, menu] = await say(wa, "हिंदी")
    assert "हिंदी में बात" in set_ and "टेस्ट बुक करें" in menu
    assert "बेसिक हेल्थ चेक" in (await say(wa, "1"))[0]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT language FROM consents") == "hi"
    async for key in redis.scan_iter(match=f"{settings.redis_prefix}:bot:session:*"):
        await redis.delete(key)  # the conversation expires; the language does not
    replies = await say(wa, "hello")
    assert "नमस्ते" in replies[-1]


async def test_forged_and_unsigned_webhooks_are_refused_and_change_nothing(
    wa: httpx.AsyncClient,
    pool: asyncpg.Pool,
    redis,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    params = {"MessageSid": "SM-forged", "From": WA, "Body": "STOP"}
    for headers in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}, signed(params, token="another-token"),
                    signed(params, url="https://evil.example/bots/twilio")):  # fmt: skip
        r = await wa.post("/bots/twilio", data=params, headers=headers)
        assert r.status_code == 403 and "signature" in r.text
    tampered = {**params, "Body": "START"}
    assert (await wa.post("/bots/twilio", data=tampered, headers=signed(params))).status_code == 403
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM consents") == 0
    assert [k async for k in redis.scan_iter(match=f"{settings.redis_prefix}:bot:*")] == []


async def test_a_retried_webhook_is_processed_once_and_answered_the_same(wa: httpx.AsyncClient) -> None:
    await say(wa, "hi")
    first = await say(wa, "1", sid="SM-retried")
    again = await say(wa, "1", sid="SM-retried")  # Twilio retried: same MessageSid
    assert first == again and "Which tests?" in first[0]
    assert "Where should we collect" in (await say(wa, "1"))[0]  # the state moved once, not twice


async def test_a_retry_of_a_delivery_that_never_finished_asks_for_the_message_again(
    wa: httpx.AsyncClient,
    pool: asyncpg.Pool,
    redis,
    bot_settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    """Found by the fault drill: a process killed mid-answer, or PostgreSQL gone before the claim could be let go,
    left the MessageSid claimed with no answer, and Twilio's retry got an empty reply: the message was lost. Now
    the claim is settled only once the message is answered; a retry finding it unsettled asks the person to send
    it again (nothing is run twice). A settled claim whose answer Redis lost still answers nothing."""
    await once.claim(pool, "twilio", "SM-died", ttl=timedelta(hours=1), settled=False)  # as the dead process left it
    assert await say(wa, "1", sid="SM-died") == [
        "Sorry, we could not take your last message just then. Please send it again."
    ]
    await say(wa, "hi", sid="SM-answered")
    await redis.delete(f"{bot_settings.redis_prefix}:bot:twilio:SM-answered")  # Redis lost the first answer
    assert await say(wa, "hi", sid="SM-answered") == []


async def test_unknown_messages_and_symptoms_get_help_not_errors(wa: httpx.AsyncClient) -> None:
    replies = await say(wa, "asdf qwerty")
    assert any("did not understand" in r or "start again" in r for r in replies) and "1 Book a test" in replies[-1]
    assert "usually gets better at home" in (await say(wa, "I have fever and headache since 2 days"))[0]
    urgent = (await say(wa, "mujhe 4 din se bukhar hai"))[0]
    assert "within the next 24 hours" in urgent and "Dengue NS1" in urgent and "Reply BOOK" in urgent
    assert f"by video: {PUBLIC}/consult/book" in urgent  # the hand-off to a teleconsult
    emergency = (await say(wa, "seene mein dard aur pasina aa raha hai"))[0]
    assert "call an ambulance on 108" in emergency and "BOOK" not in emergency  # never only a booking
    assert "consult/book" not in emergency
    assert "day-month-year" not in (await say(wa, "9999"))[0]


async def test_delivery_status_callbacks_are_recorded(wa: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    params = {"MessageSid": "SM123", "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
    url = f"{PUBLIC}/bots/twilio/status"
    assert (await wa.post("/bots/twilio/status", data=params)).status_code == 403
    assert (await wa.post("/bots/twilio/status", data=params, headers=signed(params, url=url))).status_code == 204
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM provider_statuses WHERE message_id = 'SM123'") == "delivered"


async def test_without_twilio_configured_the_webhook_says_so(settings: Settings, pool: asyncpg.Pool) -> None:
    async with app_client(create_app(settings)) as c:
        r = await c.post("/bots/twilio", data={"Body": "hi"})
    assert r.status_code == 503 and "not set up" in r.text


async def test_reports_off_and_on_by_chat(wa: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    assert "no longer message you when a report is ready" in (await say(wa, "REPORTS OFF"))[0]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT (reports, reminders) FROM consents") == (False, True)
    assert "We will message you" in (await say(wa, "reports on"))[0]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT reports FROM consents") is True


def _opening(lang: str, key: str) -> str:
    """The words a catalogue message opens with, before its first field or line break."""
    return i18n.text(lang, f"bot:{key}").split("{")[0].split("\n")[0].strip()


@pytest.mark.parametrize("lang", LANGS)
async def test_every_flow_speaks_the_language_chosen_from_the_menu(
    wa: httpx.AsyncClient, pool: asyncpg.Pool, lang: str
) -> None:
    """Language from the menu (each listed in its own name), then booking at a centre, the report question, help,
    STOP and START and a symptom check, each answered from the catalogue in that language; the lab's names of the
    packages and the centre in it too."""
    await say(wa, "hi")
    languages = (await say(wa, "4"))[0]
    assert all(autonym(code) in languages for code in LANGS)
    chosen, menu = await say(wa, str(LANGS.index(lang) + 1))
    assert chosen == i18n.text(lang, "bot:lang_set") and menu == i18n.text(lang, "bot:menu")
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT language FROM consents") == lang
        await conn.execute("""UPDATE centres SET names = '{"hi": "बांद्रा सेंटर", "mr": "वांद्रे सेंटर"}'""")
    items = (await say(wa, "1"))[0]
    assert items.startswith(_opening(lang, "items"))
    basic = {"en": "Basic health check", "hi": "बेसिक हेल्थ चेक", "mr": "बेसिक हेल्थ चेक (CBC, शुगर, लघवी)"}[lang]
    assert basic in items
    assert (await say(wa, "1"))[0].startswith(_opening(lang, "where"))
    centres = (await say(wa, "2"))[0]
    assert centres.startswith(_opening(lang, "centre"))
    assert {"en": "Bandra Collection Centre", "hi": "बांद्रा सेंटर", "mr": "वांद्रे सेंटर"}[lang] in centres
    assert (await say(wa, "1"))[0].startswith(_opening(lang, "day"))
    await say(wa, "1")
    assert (await say(wa, "1"))[0].startswith(_opening(lang, "confirm"))
    [booked] = await say(wa, {"en": "yes", "hi": "हाँ", "mr": "हो"}[lang])
    assert booked.startswith(_opening(lang, "booked"))
    await say(wa, "menu")
    assert (await say(wa, "2"))[0] == i18n.text(lang, "bot:no_phone_records")  # no tests on record for this phone
    assert (await say(wa, "help"))[0] == i18n.text(lang, "bot:help")
    assert (await say(wa, "STOP"))[0] == i18n.text(lang, "bot:stopped")
    assert (await say(wa, "START"))[0] == i18n.text(lang, "bot:started")
    emergency = (await say(wa, "seene mein dard aur pasina aa raha hai"))[0]
    assert emergency == i18n.text(lang, "triage:advice.emergency", ambulance="108")


async def test_marathi_words_reach_each_flow(wa: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    """Typed in Marathi, without the menu: the language, a symptom (answered in Marathi), STOP, help, a report."""
    assert (await say(wa, "मराठी"))[0] == i18n.text("mr", "bot:lang_set")
    fever = (await say(wa, "मला दोन दिवसांपासून ताप आहे"))[0]
    assert fever.startswith(i18n.text("mr", "triage:advice.self_care")[:20])
    assert (await say(wa, "थांबवा"))[0] == i18n.text("mr", "bot:stopped")
    assert (await say(wa, "मदत"))[0] == i18n.text("mr", "bot:help")
    assert (await say(wa, "माझा रिपोर्ट कुठे आहे?"))[0] == i18n.text("mr", "bot:no_phone_records")
