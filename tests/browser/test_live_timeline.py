"""A real browser (Debian's chromium via Playwright): sign in, watch a transition appear without a reload,
lose the server, miss a transition, and see it appear once the page has reconnected and resumed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from core.config import Settings
from core.samples import service as samples
from core.samples.model import RejectionReason, SampleState
from core.vault import Vault
from portal.app import create_app
from tests.support.factories import PHLEB, TECH, make_patient, make_sample
from tests.support.inbox import Inbox
from tests.support.procs import free_port
from tests.support.server import serving

CHROMIUM = Path("/usr/bin/chromium")
PHONE = "+919866600001"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM.exists(), "install Debian's chromium: apt-get install -y chromium (./run test does it as root)"
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield b
        finally:
            await b.close()


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
    """axe-core's WCAG 2.0/2.1 A and AA rules (contrast, labels, language, landmarks…) on every page, in both
    languages, with a rejected tube so the warning card is checked too."""
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
        await page.goto(f"{base}/signin")
        pages = {"sign-in": (await axe.run(page, options=rules)).response["violations"]}
        await _sign_in(page, base, inbox)
        for name, path in (
            ("my tests", "/my-tests?lang=en"),
            ("my tests (hi)", "/my-tests?lang=hi"),
            ("who viewed", "/my-tests/access?lang=en"),
            ("who viewed (hi)", "/my-tests/access?lang=hi"),
            ("my data", "/my-tests/my-data?lang=en"),
            ("my data (hi)", "/my-tests/my-data?lang=hi"),
        ):
            await page.goto(base + path)
            pages[name] = (await axe.run(page, options=rules)).response["violations"]
    found = {name: [(v["id"], v["impact"], len(v["nodes"])) for v in violations] for name, violations in pages.items()}
    assert found == {name: [] for name in pages}
