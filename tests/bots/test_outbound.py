"""Report notices sent by the real twilio client, through the job queue, to a local stand-in of Twilio's REST API:
WhatsApp with the PDF as media inside the 24-hour window and outside it the kind's approved template in the
patient's language with its variables, SMS with the link and India's DLT ids, retries on 429/5xx and a permanent
refusal recorded, never retried."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import asyncpg
import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from bots import twilio_sender
from bots.twilio_sender import TwilioNotifier
from core.config import Secret, Settings
from core.i18n import LANGS
from core.jobs import runner
from core.message_templates import Templates
from core.notify import KINDS, Message
from core.vault import Vault
from portal import jobs as worker
from portal.app import create_app
from portal.drill.standins import ACCOUNT_SID, AUTH_TOKEN, Providers, providers
from portal.services import channels, rate_limited
from tests.core.test_report_jobs import _approved, _one, until
from tests.core.test_reports import PHONE
from tests.support.asgi import app_client

FAST = runner.RetryPolicy(max_retries=2, initial_delay=timedelta(milliseconds=50), max_delay=timedelta(seconds=1))
TEMPLATES = Templates(
    whatsapp={kind: {lang: f"HX{n:030d}{i:02d}" for i, lang in enumerate(LANGS)} for n, kind in enumerate(KINDS)},
    dlt_entity_id="1201159543060917386",
    dlt={kind: {lang: f"1207{n:013d}{i:02d}" for i, lang in enumerate(LANGS)} for n, kind in enumerate(KINDS)},
)


@pytest.fixture
async def stand_in() -> AsyncIterator[Providers]:
    async with providers() as p:
        yield p


@pytest.fixture
def twilio_settings(settings: Settings, stand_in: Providers) -> Settings:
    return settings.with_overrides(
        twilio_account_sid=ACCOUNT_SID, twilio_auth_token=Secret(AUTH_TOKEN), twilio_sms_from="+14155550100",
        twilio_whatsapp_from="+14155238886", templates=TEMPLATES, twilio_api_base=stand_in.base_url,
        public_url="https://lab.example",
    )  # fmt: skip


@pytest.fixture
async def run_worker(
    twilio_settings: Settings, pool: asyncpg.Pool, redis
) -> AsyncIterator[Callable[[], Awaitable[None]]]:  # type: ignore[no-untyped-def]
    stops: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    async def start() -> None:
        stop = asyncio.Event()
        vault = Vault.from_settings(twilio_settings)
        notifiers = rate_limited(twilio_settings, redis, vault, channels(twilio_settings, vault, redis, pool))
        task = asyncio.create_task(
            worker.run(twilio_settings, pool, stop, notifiers=notifiers, policy=FAST, poll_seconds=0.1)
        )
        stops.append((stop, task))

    yield start
    for stop, task in stops:
        stop.set()
        await asyncio.wait_for(task, 15)


async def _channel(pool: asyncpg.Pool, channel: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute("UPDATE patients SET notify_channels = $1", [channel])


async def _status(pool: asyncpg.Pool) -> str:
    async with pool.acquire() as conn:
        return str(await conn.fetchval("SELECT status FROM deliveries"))


async def test_whatsapp_inside_the_window_carries_the_pdf_itself(
    twilio_settings: Settings,
    pool: asyncpg.Pool,
    vault: Vault,
    stand_in: Providers,
    redis,
    run_worker,  # type: ignore[no-untyped-def]
) -> None:
    await _approved(pool, vault)
    await _channel(pool, "whatsapp")
    lookup = vault.lookup.digest("phone", PHONE).hex()
    await redis.set(f"{twilio_settings.redis_prefix}:bot:wa-window:{lookup[:32]}", b"1", ex=60)  # they wrote today
    await run_worker()
    await until(lambda: _status_is(pool, "sent"))
    [sent] = stand_in.seen.twilio
    assert sent["To"] == f"whatsapp:{PHONE}" and sent["From"] == "whatsapp:+14155238886"
    assert sent["MediaUrl"].startswith("https://lab.example/reports/download/") and "is ready" in sent["Body"]
    assert sent["StatusCallback"] == "https://lab.example/bots/twilio/status"
    # The media link is a real signed download: the provider fetches the PDF from it.
    async with app_client(create_app(twilio_settings)) as c:
        pdf = await c.get(sent["MediaUrl"].removeprefix("https://lab.example"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize("lang", LANGS)
async def test_whatsapp_outside_the_window_uses_the_kinds_template_in_the_patients_language(
    pool: asyncpg.Pool,
    vault: Vault,
    stand_in: Providers,
    run_worker,  # type: ignore[no-untyped-def]
    lang: str,
) -> None:
    await _approved(pool, vault)
    await _channel(pool, "whatsapp")
    async with pool.acquire() as conn:
        await conn.execute("UPDATE patients SET language = $1", lang)
    await run_worker()
    await until(lambda: _status_is(pool, "sent"))
    [sent] = stand_in.seen.twilio
    assert sent["ContentSid"] == TEMPLATES.whatsapp["report.ready"][lang] and "Body" not in sent
    variables = json.loads(sent["ContentVariables"])  # the barcode and the link, as {{1}} and {{2}}
    assert list(variables) == ["1", "2"] and variables["2"].startswith("https://lab.example/reports/download/")
    async with pool.acquire() as conn:
        assert variables["1"] == await conn.fetchval("SELECT barcode FROM samples")


async def test_sms_gets_the_link_and_provider_errors_are_retried(
    pool: asyncpg.Pool,
    vault: Vault,
    stand_in: Providers,
    run_worker,  # type: ignore[no-untyped-def]
) -> None:
    stand_in.seen.fail_next = [503, 429]
    await _approved(pool, vault)
    await run_worker()
    await until(lambda: _status_is(pool, "sent"))
    [sent] = stand_in.seen.twilio  # the two failed tries were not recorded as messages
    assert sent["To"] == PHONE and sent["From"] == "+14155550100" and "MediaUrl" not in sent
    assert "/reports/download/" in sent["Body"]
    # An Indian number: the SMS carries the DLT principal entity id and the kind's template id in its language.
    assert sent["DltEntityId"] == TEMPLATES.dlt_entity_id
    assert sent["DltTemplateId"] == TEMPLATES.dlt["report.ready"]["en"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT attempts FROM deliveries") == 3


async def test_a_permanent_refusal_is_recorded_and_not_retried(
    pool: asyncpg.Pool,
    vault: Vault,
    stand_in: Providers,
    run_worker,  # type: ignore[no-untyped-def]
) -> None:
    stand_in.seen.fail_next = [400]
    await _approved(pool, vault)
    await run_worker()
    await until(lambda: _status_is(pool, "failed"))
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT attempts, last_error FROM deliveries")
        assert row["attempts"] == 1 and "21211" in row["last_error"]
    await until(lambda: _one(pool, "SELECT count(*) = 1 FROM dead_letters"))  # written just after the refusal
    assert stand_in.seen.twilio == []


async def _status_is(pool: asyncpg.Pool, status: str) -> bool:
    return await _status(pool) == status


async def test_the_stand_in_checks_credentials(stand_in: Providers) -> None:
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{stand_in.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
                            data={"To": PHONE}, auth=(ACCOUNT_SID, "wrong"))  # fmt: skip
    assert r.status_code == 401


async def test_reports_off_is_respected_and_reports_on_undoes_it(
    pool: asyncpg.Pool,
    vault: Vault,
    stand_in: Providers,
    run_worker,  # type: ignore[no-untyped-def]
) -> None:
    from core import consent

    lookup = vault.lookup.digest("phone", PHONE).hex()
    async with pool.acquire() as conn:  # as "REPORTS OFF" from any channel records it
        await consent.update(conn, lookup, via="whatsapp", reports=False)
    await _approved(pool, vault)
    await run_worker()
    await until(lambda: _status_is(pool, "skipped"))
    async with pool.acquire() as conn:
        assert "chose no report messages" in await conn.fetchval("SELECT last_error FROM deliveries")
    assert stand_in.seen.twilio == []


async def test_template_variables_stay_within_twilios_limits(stand_in: Providers) -> None:
    """A long tests list and a line break in a field: each variable goes out as one line of at most 255 characters
    (the stand-in refuses anything else, as Twilio does)."""
    api = twilio_sender.client(ACCOUNT_SID, AUTH_TOKEN, stand_in.base_url)
    closed = TwilioNotifier(api, "whatsapp", "+14155238886", templates=TEMPLATES, window_open=_closed)
    tests = ", ".join(f"Test number {n}" for n in range(40))
    fields = {"doctor": "Dr Asha\nRao", "tests": tests, "link": "https://lab.example/book?tests=CBC"}
    await closed.send(PHONE, Message("consult.tests", "en", fields))
    [sent] = stand_in.seen.twilio
    variables = json.loads(sent["ContentVariables"])
    assert variables["1"] == "Dr Asha Rao" and variables["3"] == fields["link"]
    assert len(variables["2"]) == twilio_sender.VARIABLE_LIMIT and variables["2"].endswith("…")
    with pytest.raises(TwilioRestException, match="255"):  # the stand-in can refuse: the same variable sent uncut
        uncut = json.dumps({"1": tests})
        await api.messages.create_async(to=f"whatsapp:{PHONE}", from_="whatsapp:+14155238886",
                                        content_sid="HX" + "0" * 32, content_variables=uncut)  # fmt: skip


async def _closed(phone: str) -> bool:
    return False
