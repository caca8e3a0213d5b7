"""Telegram through python-telegram-bot in webhook mode: the real PTB client talks to the local stand-in of the Bot
API; updates are posted to the webhook with the secret token, as Telegram does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from bots import telegram_channel, telegram_sender
from core import once
from core.config import Secret, Settings
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.vault import Vault
from portal.app import create_app
from portal.drill.standins import BOT_TOKEN, Providers, providers, telegram_update
from tests.support.asgi import app_client
from tests.support.factories import PHLEB, make_sample

SECRET = "telegram-webhook-secret-0123456789"
CHAT = 777001
PHONE = "+919822200077"


@pytest.fixture
async def stand_in() -> AsyncIterator[Providers]:
    async with providers() as p:
        yield p


@pytest.fixture
def tg_settings(settings: Settings, stand_in: Providers) -> Settings:
    return settings.with_overrides(telegram_bot_token=Secret(BOT_TOKEN), telegram_webhook_secret=Secret(SECRET),
                                   telegram_api_base=stand_in.base_url, public_url="https://lab.example")  # fmt: skip


@pytest.fixture
async def tg(tg_settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(tg_settings)) as c:
        yield c


_ids = iter(range(1000, 100000))


async def post(c: httpx.AsyncClient, update: dict[str, Any], secret: str = SECRET) -> httpx.Response:
    return await c.post("/bots/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})


def sent_texts(stand_in: Providers) -> list[str]:
    return [str(d.get("text", "")) for m, d in stand_in.seen.telegram if m == "sendMessage"]


async def test_a_chat_links_its_own_number_then_talks_like_any_channel(
    tg: httpx.AsyncClient, stand_in: Providers, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        p = await patients.create(conn, vault, NewPatient(name="Tara Gram", sex=Sex.FEMALE, phone=PHONE,
                                                          date_of_birth=date(1992, 2, 29)), actor=PHLEB)  # fmt: skip
        await make_sample(conn, vault, patient=p)
    assert (await post(tg, telegram_update(next(_ids), CHAT, text="where is my report"))).status_code == 200
    [ask] = [d for m, d in stand_in.seen.telegram if m == "sendMessage"]
    assert "share your phone number" in ask["text"] and "request_contact" in str(ask["reply_markup"])
    # Someone else's contact is not a link.
    await post(tg, telegram_update(next(_ids), CHAT, contact="+919800000099", contact_user=424242))
    assert "your own number" in sent_texts(stand_in)[-1]
    await post(tg, telegram_update(next(_ids), CHAT, contact="+91 98222 00077"))
    *_, linked, menu = sent_texts(stand_in)
    assert linked == "Thank you, your number is linked." and "1 Book a test" in menu
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT phone_lookup, phone_enc FROM telegram_links WHERE chat_id = $1", CHAT)
        assert row["phone_lookup"] == vault.lookup.digest("phone", PHONE).hex() and b"9822" not in row["phone_enc"]
    await post(tg, telegram_update(next(_ids), CHAT, text="report"))
    assert "date of birth" in sent_texts(stand_in)[-1]
    await post(tg, telegram_update(next(_ids), CHAT, text="29-02-1992"))
    assert "Complete blood count: collected at" in sent_texts(stand_in)[-1]
    # STOP here is the same consent as WhatsApp and SMS for that number.
    await post(tg, telegram_update(next(_ids), CHAT, text="STOP"))
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT reminders FROM consents WHERE phone_lookup = $1",
                                   vault.lookup.digest("phone", PHONE).hex()) is False  # fmt: skip


async def test_a_wrong_or_missing_secret_is_refused_and_changes_nothing(
    tg: httpx.AsyncClient, stand_in: Providers
) -> None:
    update = telegram_update(next(_ids), CHAT, text="hi")
    assert (await post(tg, update, secret="wrong-secret-000000000000")).status_code == 403
    assert (await tg.post("/bots/telegram", json=update)).status_code == 403
    assert stand_in.seen.telegram == []
    bad = await tg.post("/bots/telegram", content=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert bad.status_code == 400


async def test_a_redelivered_update_is_processed_once(tg: httpx.AsyncClient, stand_in: Providers) -> None:
    update = telegram_update(424242, CHAT, text="hi")
    assert (await post(tg, update)).status_code == 200
    assert (await post(tg, update)).status_code == 200
    assert len(sent_texts(stand_in)) == 1


async def test_group_chats_are_ignored(tg: httpx.AsyncClient, stand_in: Providers, pool: asyncpg.Pool) -> None:
    update = telegram_update(next(_ids), -100123, contact="+919822200077", contact_user=CHAT)
    update["message"]["chat"] = {"id": -100123, "type": "group", "title": "family"}
    update["message"]["from"]["id"] = CHAT
    assert (await post(tg, update)).status_code == 200
    assert sent_texts(stand_in) == []
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM telegram_links") == 0


async def test_hindi_speakers_are_asked_in_hindi(tg: httpx.AsyncClient, stand_in: Providers) -> None:
    update = telegram_update(next(_ids), CHAT + 1, text="नमस्ते")
    update["message"]["from"]["language_code"] = "hi"
    await post(tg, update)
    assert "फ़ोन नंबर साझा करें" in sent_texts(stand_in)[-1]


async def test_set_webhook_registers_the_url_and_the_secret(tg_settings: Settings, pool: asyncpg.Pool,
                                                            vault: Vault, stand_in: Providers) -> None:  # fmt: skip
    channel = telegram_channel.build(tg_settings, None, pool, vault)
    assert channel is not None
    assert await telegram_channel.set_webhook(channel, "https://lab.example/bots/telegram", SECRET) is True
    await channel.close()
    [(_, data)] = [(m, d) for m, d in stand_in.seen.telegram if m == "setWebhook"]
    assert data["url"] == "https://lab.example/bots/telegram" and data["secret_token"] == SECRET


async def test_without_telegram_configured_the_webhook_says_so(settings: Settings, pool: asyncpg.Pool) -> None:
    async with app_client(create_app(settings)) as c:
        r = await post(c, telegram_update(1, CHAT, text="hi"))
    assert r.status_code == 503 and "not set up" in r.text


async def test_a_report_notice_reaches_the_linked_chat(
    tg: httpx.AsyncClient, tg_settings: Settings, stand_in: Providers, pool: asyncpg.Pool, vault: Vault,
    files,  # type: ignore[no-untyped-def]
) -> None:  # fmt: skip
    from core.reports import delivery, render
    from core.reports.links import ReportLinks
    from tests.core.test_report_jobs import _approved
    from tests.core.test_reports import PHONE as REPORT_PHONE

    await post(tg, telegram_update(next(_ids), CHAT, contact=REPORT_PHONE))
    _, report_id = await _approved(pool, vault)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE patients SET notify_channels = '{telegram}'")
    assert await render.render(pool, vault, files, report_id)
    async with pool.acquire() as conn:
        delivery_id = await conn.fetchval("SELECT id FROM deliveries WHERE channel = 'telegram'")
    client = telegram_sender.bot(tg_settings)
    assert client is not None
    sender = telegram_sender.TelegramNotifier(client, pool, vault)
    status = await delivery.deliver(pool, vault, {"telegram": sender}, ReportLinks("s" * 40), "https://lab.example",
                                    delivery_id)  # fmt: skip
    await sender.close()
    assert status == "sent"
    last_method, last = stand_in.seen.telegram[-1]
    assert last_method == "sendMessage" and int(last["chat_id"]) == CHAT and "/reports/download/" in last["text"]


async def test_a_redelivery_of_an_update_that_never_finished_asks_for_the_message_again(
    tg: httpx.AsyncClient, stand_in: Providers, pool: asyncpg.Pool
) -> None:
    """As with WhatsApp (found by the fault drill): a claim left unsettled by a process that died mid-update is not
    taken for "handled"; the person is asked to send their message again, and nothing is run twice."""
    await once.claim(pool, "telegram", "434343", ttl=timedelta(hours=1), settled=False)
    assert (await post(tg, telegram_update(434343, CHAT, text="hi"))).status_code == 200
    assert sent_texts(stand_in) == ["Sorry, we could not take your last message just then. Please send it again."]
