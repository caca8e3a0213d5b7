"""A real browser (Debian's chromium via Playwright): sign in, watch a transition appear without a reload,
lose the server, miss a transition, and see it appear once the page has reconnected and resumed; and axe-core's
accessibility checks on every patient page, the symptom check and booking included."""

from __future__ import annotations

import re

import asyncpg
from playwright.async_api import Browser, Page, expect

from core.config import Settings
from core.i18n import LANGS, text
from core.samples import service as samples
from core.samples.model import RejectionReason, SampleState
from core.vault import Vault
from portal.app import create_app
from tests.support.days import first_full_day
from tests.support.factories import PHLEB, TECH, make_patient, make_sample
from tests.support.inbox import Inbox
from tests.support.procs import free_port
from tests.support.server import serving

PHONE = "+919866600001"


async def _sign_in(page: Page, base: str, inbox: Inbox) -> None:
    await page.goto(f"{base}/signin")
    await page.get_by_label("Mobile number").fill("98666 00001")
    await page.get_by_role("button", name="Send me a code").click()
    await page.get_by_label("6-digit code").fill(inbox.last_code(PHONE))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/my-tests$"))


async def test_the_timeline_moves_live_and_survives_a_server_restart(
    browser: Browser, settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        patient = await make_patient(conn, vault, phone=PHONE)
        sample = await make_sample(conn, vault, patient=patient)
    inbox = Inbox()
    live_settings = settings.with_overrides(serve_relay=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    page = await browser.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    async with serving(create_app(live_settings, notifier=inbox), port=port):
        await _sign_in(page, base, inbox)
        await expect(page.locator("#sample-" + sample.id + " .message")).to_contain_text("was collected at")
        await expect(page.locator("#live")).to_have_attribute("data-state", "live")
        async with pool.acquire() as conn:
            await samples.transition(
                conn, barcode=sample.barcode, to_state=SampleState.IN_TRANSIT, actor=PHLEB, centre_id="CC-1"
            )
        await expect(page.locator("#sample-" + sample.id + " .message")).to_contain_text("on its way to our lab")
    # The server is gone (uvicorn closed the socket with 1012): the page says so and keeps trying.
    await expect(page.locator("#live")).to_have_attribute("data-state", "reconnecting")
    async with pool.acquire() as conn:
        await samples.transition(
            conn, barcode=sample.barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1"
        )
    async with serving(create_app(live_settings, notifier=inbox), port=port):
        await expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=20_000)
        await expect(page.locator("#sample-" + sample.id + " .message")).to_contain_text("reached our lab safely")
        await expect(page.locator("#sample-" + sample.id + " li.current .label")).to_have_text("Received at the lab")
    assert not [c for c in console if "error" in c.lower() and "websocket" not in c.lower()], console


async def test_every_patient_page_passes_the_wcag_21_aa_checks(
    browser: Browser, settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    """axe-core's WCAG 2.0/2.1 A and AA rules (contrast, labels, language, landmarks…) on every page, in every
    language, with a rejected tube so the warning card is checked too."""
    from axe_playwright_python.async_playwright import Axe

    async with pool.acquire() as conn:
        patient = await make_patient(conn, vault, phone=PHONE)
        await make_sample(conn, vault, patient=patient)
        rejected = await make_sample(conn, vault, patient=patient)
        await samples.transition(
            conn,
            barcode=rejected.barcode,
            to_state=SampleState.REJECTED,
            actor=TECH,
            centre_id="LAB-1",
            reason=RejectionReason.HAEMOLYSED,
        )
        await make_patient(conn, vault, phone=PHONE, name="Second Person")  # the family switcher shows
    inbox = Inbox()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    page = await browser.new_page()
    axe = Axe()
    rules = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    async with serving(create_app(settings, notifier=inbox), port=port):
        pages = {}
        for lang in LANGS:
            await page.goto(f"{base}/signin?lang={lang}")
            pages[f"sign-in ({lang})"] = (await axe.run(page, options=rules)).response["violations"]
        await page.goto(f"{base}/signin?lang=en")
        await _sign_in(page, base, inbox)
        for name, path in (
            ("my tests", "/my-tests?lang=en"),
            ("my tests (hi)", "/my-tests?lang=hi"),
            ("who viewed", "/my-tests/access?lang=en"),
            ("who viewed (hi)", "/my-tests/access?lang=hi"),
            ("my data", "/my-tests/my-data?lang=en"),
            ("my data (hi)", "/my-tests/my-data?lang=hi"),
            ("my tests (mr)", "/my-tests?lang=mr"),
            ("who viewed (mr)", "/my-tests/access?lang=mr"),
            ("my data (mr)", "/my-tests/my-data?lang=mr"),
        ):
            await page.goto(base + path)
            pages[name] = (await axe.run(page, options=rules)).response["violations"]
    found = {name: [(v["id"], v["impact"], len(v["nodes"])) for v in violations] for name, violations in pages.items()}
    assert found == {name: [] for name in pages}


async def test_the_symptom_check_and_booking_pages_pass_the_wcag_21_aa_checks(
    browser: Browser, settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    """The same axe-core rules on the symptom form, an urgent and an emergency result (in every language), and the
    booking page: as first opened, with its days and times shown, and the confirmation."""
    from axe_playwright_python.async_playwright import Axe

    from core.booking import slots

    async with pool.acquire() as conn:
        await make_sample(conn, vault, patient=await make_patient(conn, vault, phone=PHONE))  # and the centres
        await slots.ensure(conn, first_full_day())
    inbox = Inbox()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    page = await browser.new_page()
    axe = Axe()
    rules = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    pages: dict[str, list[dict[str, object]]] = {}

    async def check(name: str) -> None:
        pages[name] = (await axe.run(page, options=rules)).response["violations"]

    async with serving(create_app(settings, notifier=inbox), port=port):
        for lang, label, submit, urgent, emergency in (
            ("en", "Your symptoms", "Check my symptoms", "fever for 4 days and body ache", "chest pain and sweating"),
            ("hi", "आपके लक्षण", "मेरे लक्षण जाँचें", "4 din se bukhar hai, khansi nahi", "सीने में दर्द और पसीना"),
            (
                "mr",
                text("mr", "symptoms_label"),
                text("mr", "triage_submit"),
                "4 divas taap aahe",
                "छातीत दुखतंय आणि घाम येतोय",
            ),
        ):
            await page.goto(f"{base}/triage?lang={lang}")
            await check(f"symptom form ({lang})")
            for level, words in (("urgent", urgent), ("emergency", emergency)):
                await page.goto(f"{base}/triage")
                await page.get_by_label(label).fill(words)
                await page.get_by_role("button", name=submit).click()
                await expect(page.locator("#level")).to_be_visible()
                await check(f"{level} result ({lang})")
        await page.goto(f"{base}/triage?lang=en")
        await _sign_in(page, base, inbox)
        await page.goto(f"{base}/book?tests=CBC&tests=Dengue+NS1&consult=1")
        await check("booking form")
        await page.get_by_role("button", name="Show available times").click()
        await page.locator('input[name="slot"]').first.check()
        await check("booking form with times")
        await page.get_by_role("button", name="Book this time").click()
        await expect(page.get_by_role("heading", name="Your collection is booked")).to_be_visible()
        await check("booking confirmed")
        await page.goto(f"{base}/consult/book")
        await check("teleconsult booking")
        for lang in LANGS[1:]:
            await page.goto(f"{base}/book?lang={lang}&tests=CBC")
            await check(f"booking form ({lang})")
            await page.get_by_role("button", name=text(lang, "show_times")).click()
            await page.locator('input[name="slot"]').first.check()
            await check(f"booking form with times ({lang})")
            await page.goto(f"{base}/consult/book?lang={lang}")
            await check(f"teleconsult booking ({lang})")
    found = {name: [(v["id"], v["impact"], len(v["nodes"])) for v in violations] for name, violations in pages.items()}  # type: ignore[arg-type]
    assert found == {name: [] for name in pages}
