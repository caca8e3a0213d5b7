"""The staff workspace in a real browser (Debian's chromium via Playwright): a technician signs in and scans a tube
through the lab with the keyboard alone (as a barcode scanner does: the code, then Enter) while the patient's page
follows each step live; and axe-core's WCAG 2.1 AA checks on every staff page, in English and Hindi."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from playwright.async_api import Browser, Page, Route, expect

from core.config import Settings
from core.hl7 import intake, links
from core.i18n import LANGS
from core.identity import Actor, Role
from core.jobs import runner
from core.samples import service as samples
from core.samples.model import SampleState
from core.staff import service as staff
from core.vault import Vault
from portal.app import create_app
from realtime import staff_socket
from tests.support.factories import TECH, make_patient, make_sample
from tests.support.inbox import Inbox
from tests.support.procs import free_port
from tests.support.server import serving

PHONE = "+919866600071"
PASSWORD = "correct horse battery"
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


async def _add(pool: asyncpg.Pool, username: str, role: Role) -> None:
    async with pool.acquire() as conn:
        await staff.add(conn, username=username, display_name="Asha Tech", role=role, password=PASSWORD,
                        actor=Actor.system("tests"))  # fmt: skip


async def _sign_in_by_keyboard(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/staff")
    await expect(page.get_by_label("Username")).to_be_focused()  # no mouse needed from here on
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Your pages")).to_be_visible()


async def _scan(page: Page, barcode: str) -> None:
    await expect(page.get_by_label("Scan a tube")).to_be_focused()  # ready for the scanner after every scan
    await page.keyboard.type(barcode)
    await page.keyboard.press("Enter")


async def test_a_technician_scans_a_tube_through_the_lab_by_keyboard_and_the_patient_sees_it_live(
    browser: Browser, settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        patient = await make_patient(conn, vault, phone=PHONE)
        tube = await make_sample(conn, vault, patient=patient)
    await _add(pool, "asha.tech", Role.LAB_TECHNICIAN)
    inbox, port = Inbox(), free_port()
    base = f"http://127.0.0.1:{port}"
    desk = await browser.new_context()  # the lab's browser: two tabs on one bench, one signed-in session
    bench, mine = await desk.new_page(), await browser.new_page()
    async with serving(create_app(settings.with_overrides(serve_relay=True), notifier=inbox), port=port):
        await mine.goto(f"{base}/signin")
        await mine.get_by_label("Mobile number").fill("98666 00071")
        await mine.get_by_role("button", name="Send me a code").click()
        await mine.get_by_label("6-digit code").fill(inbox.last_code(PHONE))
        await mine.get_by_role("button", name="Sign in").click()
        await expect(mine.locator("#live")).to_have_attribute("data-state", "live")

        await _sign_in_by_keyboard(bench, base, "asha.tech")
        await bench.goto(f"{base}/staff/bench")
        row = bench.locator(f"#tube-{tube.barcode}")
        watcher = await desk.new_page()  # a colleague's screen on the same bench: live, never reloaded
        await watcher.goto(f"{base}/staff/bench")
        await expect(watcher.locator("#live")).to_have_attribute("data-state", "live")
        watched = watcher.locator(f"#tube-{tube.barcode}")
        await expect(row).to_have_attribute("data-state", "collected")
        for step, words, patient_words in (
            ("received_at_lab", "Received at the lab", "reached our lab safely"),
            ("processing", "On the analyzer", None),
            ("completed", "Complete, to release", None),
        ):
            await _scan(bench, tube.barcode)
            await expect(bench.get_by_role("status")).to_have_text(f"{tube.barcode} is now: {words}.")
            await expect(row).to_have_attribute("data-state", step)
            await expect(watched).to_have_attribute("data-state", step)
            await expect(watched.locator("td").nth(1)).to_have_text(words)
            if patient_words:
                await expect(mine.locator(f"#sample-{tube.id} .message")).to_contain_text(patient_words)
        await _scan(bench, tube.barcode)
        await expect(bench.get_by_role("alert")).to_contain_text("waits for the pathologist")


async def test_every_staff_page_passes_the_wcag_21_aa_checks(
    browser: Browser, settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    from axe_playwright_python.async_playwright import Axe

    async with pool.acquire() as conn:
        late = await make_sample(conn, vault)
        await make_sample(conn, vault)
        await conn.execute("UPDATE samples SET collected_at = now() - interval '8 hours' WHERE id = $1", late.id)
        [held] = await intake.receive(conn, vault, (
            b"MSH|^~\\&|HEMA-1|LAB|LABPULSE|LAB|20261207130000||ORU^R01|AXE-1|P|2.5.1\r"
            b"PID|1||MRN-9^^^LAB^MR||Rao^Meera\rOBR|1|NO-SUCH-TUBE\rOBX|1|NM|718-7^Hb^LN||13|g/dL|||||F\r"
        ))  # fmt: skip
        received = await make_sample(conn, vault)
        await samples.transition(conn, barcode=received.barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH,
                                 centre_id="LAB-1")  # fmt: skip
        await intake.receive(conn, vault, (  # a critical white cell count: the board has an alert
            f"MSH|^~\\&|CHEM|LAB|LABPULSE|LAB|20261121||ORU^R01|AXE-2|P|2.5.1\rPID|1||M\rOBR|1|{received.barcode}||CBC\r"
            "OBX|1|NM|6690-2^WBC^LN||1.2|10*3/uL||||||F\r"
        ).encode())  # fmt: skip
        for step in (SampleState.PROCESSING, SampleState.COMPLETED):  # the critical tube waits for approval
            await samples.transition(conn, barcode=received.barcode, to_state=step, actor=TECH, centre_id="LAB-1")
        known = await make_patient(conn, vault, phone="+919866600072", name="Meera Rao")
    await runner.dead_letter(pool, "reports.render", {"report_id": late.id}, 5, "the store was unreachable")
    async with pool.acquire() as conn:  # a listener up with a sender connected, and one gone quiet
        up = links.Links("lab-1:4242", "0.0.0.0:2575")
        up.opened(1, "10.0.0.7:51000")
        up.heard(1, "HEMA-1^LAB", 3)
        await links.report(conn, up, datetime.now(UTC))
        await links.report(conn, links.Links("lab-2:99", "0.0.0.0:2575"), datetime.now(UTC) - timedelta(minutes=2))
    await _add(pool, "ravi.admin", Role.ADMIN)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    page, axe = await browser.new_page(), Axe()
    found: dict[str, list[tuple[str, str, int]]] = {}

    async def check(name: str) -> None:
        violations = (await axe.run(page, options=RULES)).response["violations"]
        found[name] = [(v["id"], v["impact"], len(v["nodes"])) for v in violations]

    async with serving(create_app(settings), port=port):
        for lang in LANGS:
            await page.goto(f"{base}/staff?lang={lang}")
            await check(f"sign-in ({lang})")
        await page.goto(f"{base}/staff?lang=en")
        await page.get_by_label("Username").fill("ravi.admin")
        await page.get_by_label("Password").fill("wrong")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_be_visible()
        await check("sign-in, refused (en)")
        await page.get_by_label("Username").fill("ravi.admin")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="Your pages")).to_be_visible()
        for lang in LANGS:
            await page.goto(f"{base}/staff?lang={lang}")
            await check(f"home ({lang})")
            await page.goto(f"{base}/staff/bench?lang={lang}&done={late.barcode}&to=processing")
            await expect(page.locator("tr.overdue")).to_have_count(1)
            await check(f"bench ({lang})")
            await page.goto(f"{base}/staff/bench?lang={lang}&error=unknown&barcode=NO-SUCH-1")
            await check(f"bench, refused scan ({lang})")
            await page.goto(
                f"{base}/staff/bench?lang={lang}&rejected={late.barcode}&new=LPT00000009&order={late.order_id}"
            )
            await page.locator("details.reject summary").click()  # the rejection form, opened
            await check(f"bench, a tube rejected ({lang})")
            await page.goto(f"{base}/staff/hl7?lang={lang}")
            await check(f"HL7 queue ({lang})")
            await page.goto(f"{base}/staff/hl7/{held.message_id}?lang={lang}")
            await check(f"HL7 message ({lang})")
            await page.goto(f"{base}/staff/critical?lang={lang}")
            await expect(page.locator("section.card")).to_have_count(1)
            await check(f"critical values ({lang})")
            await page.goto(f"{base}/staff/admin/accounts?lang={lang}")
            await check(f"staff accounts ({lang})")
            await page.goto(f"{base}/staff/admin/centres?lang={lang}")
            await check(f"centres ({lang})")
            await page.goto(f"{base}/staff/admin/lab?lang={lang}")
            await check(f"tests and ranges ({lang})")
            await page.goto(f"{base}/staff/admin/analytes?lang={lang}")
            await check(f"analytes ({lang})")
            await page.goto(f"{base}/staff/critical/chain?lang={lang}")
            await check(f"escalation chain ({lang})")
            await page.goto(f"{base}/staff/critical/roster?lang={lang}")
            await check(f"on-duty roster ({lang})")
            await page.goto(f"{base}/staff/operations?lang={lang}")
            await check(f"operations ({lang})")
            await page.goto(f"{base}/staff/approvals?lang={lang}")
            await check(f"approvals ({lang})")
            await page.goto(f"{base}/staff/approvals/{received.barcode}?lang={lang}&done=corrected")
            await page.locator("details.reject summary").click()  # the corrections, opened
            await check(f"approval ({lang})")
            await page.goto(f"{base}/admin/audit?lang={lang}&action=staff.")
            await check(f"audit log ({lang})")
            await page.goto(f"{base}/staff/reception?lang={lang}&phone=98666%2000072")
            await check(f"reception, found ({lang})")
            await page.goto(f"{base}/staff/reception/order?lang={lang}&patient={known.id}")
            await check(f"order form ({lang})")
        await page.goto(f"{base}/staff/reception/order?lang=en&patient={known.id}")
        await page.get_by_label("Complete blood count (CBC)", exact=False).check()
        await page.get_by_role("button", name="Place the order").click()
        await expect(page.get_by_role("status")).to_contain_text("1 tube, collected now")
        await check("order placed (en)")
    assert len(found) == 2 + 20 * len(LANGS) and found == {name: [] for name in found}


async def test_a_whole_shift_across_roles_while_the_patient_watches(
    browser: Browser, settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    """Reception orders a CBC for a known patient; the technician scans the tube in by keyboard; the analyzer's
    result arrives with a critical white cell count and a haemoglobin 41 % below last month's; the critical board
    shows it without a reload and the pathologist acknowledges it with a read-back; the approval page marks the
    haemoglobin; the pathologist signs; the report is rendered and released. The patient's page follows it all."""
    phone = "+919866600081"
    async with pool.acquire() as conn:
        patient = await make_patient(conn, vault, phone=phone, name="Sunita Desai")
        earlier = await make_sample(conn, vault, patient=patient)  # last month's CBC: haemoglobin 13.5
        await conn.execute("UPDATE samples SET collected_at = now() - interval '30 days' WHERE id = $1", earlier.id)
        await samples.transition(conn, barcode=earlier.barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH,
                                 centre_id="LAB-1")  # fmt: skip
        await intake.receive(conn, vault, (
            f"MSH|^~\\&|HEMA|LAB|LABPULSE|LAB|20261107||ORU^R01|SHIFT-0|P|2.5.1\rPID|1||M\rOBR|1|{earlier.barcode}\r"
            "OBX|1|NM|718-7^Hb^LN||13.5|g/dL|||||F\r"
        ).encode())  # fmt: skip
    for username, role in (("rita.desk", Role.PHLEBOTOMIST), ("asha.tech", Role.LAB_TECHNICIAN),
                           ("dr.path", Role.PATHOLOGIST)):  # fmt: skip
        await _add(pool, username, role)
    inbox, port = Inbox(), free_port()
    base = f"http://127.0.0.1:{port}"
    desk, bench, path, mine = [await browser.new_page() for _ in range(4)]
    async with serving(create_app(settings.with_overrides(serve_relay=True), notifier=inbox), port=port):
        await mine.goto(f"{base}/signin")
        await mine.get_by_label("Mobile number").fill("98666 00081")
        await mine.get_by_role("button", name="Send me a code").click()
        await mine.get_by_label("6-digit code").fill(inbox.last_code(phone))
        await mine.get_by_role("button", name="Sign in").click()
        await expect(mine.locator("#live")).to_have_attribute("data-state", "live")

        await _sign_in_by_keyboard(desk, base, "rita.desk")  # reception: find her, order a CBC
        await desk.goto(f"{base}/staff/reception?phone=98666%2000081")
        await desk.get_by_role("link", name="Order tests").click()
        await desk.get_by_label("Complete blood count (CBC)", exact=False).check()
        await desk.get_by_label("Collection centre").select_option("CC-1")
        await desk.get_by_role("button", name="Place the order").click()
        barcode = (await desk.locator("tbody th").first.text_content() or "").strip()
        async with pool.acquire() as conn:
            tube_id = await conn.fetchval("SELECT id::text FROM samples WHERE barcode = $1", barcode)
        card = mine.locator(f"#sample-{tube_id} .message")
        await expect(card).to_contain_text("was collected at")

        await _sign_in_by_keyboard(bench, base, "asha.tech")  # the bench: two scans, keyboard only
        await bench.goto(f"{base}/staff/bench")
        for words in ("Received at the lab", "On the analyzer"):
            await _scan(bench, barcode)
            await expect(bench.get_by_role("status")).to_have_text(f"{barcode} is now: {words}.")
        await expect(card).to_contain_text("being tested now")

        await _sign_in_by_keyboard(path, base, "dr.path")  # the board is open when the result comes in
        await path.goto(f"{base}/staff/critical")
        await expect(path.locator("#live")).to_have_attribute("data-state", "live")
        await expect(path.get_by_text("No critical value is waiting.")).to_be_visible()
        async with pool.acquire() as conn:  # the analyzer: the whole CBC, a critical white cell count among it
            [out] = await intake.receive(conn, vault, (
                f"MSH|^~\\&|HEMA|LAB|LABPULSE|LAB|20261207||ORU^R01|SHIFT-1|P|2.5.1\rPID|1||M\rOBR|1|{barcode}\r"
                "OBX|1|NM|718-7^Hb^LN||8.0|g/dL|||||F\rOBX|2|NM|6690-2^WBC^LN||1.2|10*3/uL|||||F\r"
                "OBX|3|NM|777-3^PLT^LN||210|10*3/uL|||||F\rOBX|4|NM|789-8^RBC^LN||3.1|10*6/uL|||||F\r"
                "OBX|5|NM|4544-3^HCT^LN||26|%|||||F\r"
            ).encode())  # fmt: skip
            assert out.ack_code == "AA"
        alert = path.locator("section.card")
        await expect(alert).to_have_count(1, timeout=15_000)  # no reload: the board re-read itself
        await expect(alert.locator("h2")).to_contain_text("WBC: 1.2")
        await alert.get_by_label("What you read back").fill("Read back WBC 1.2 to Dr Rao; repeat sent")
        await alert.get_by_role("button", name="Acknowledge").click()
        await expect(path.get_by_role("status")).to_contain_text("the escalation has stopped")
        await expect(card).to_contain_text("A doctor is checking your results")

        await path.goto(f"{base}/staff/approvals/{barcode}")  # the haemoglobin is marked against last month's
        await expect(path.locator("#result-718-7")).to_have_class("delta")
        await expect(path.locator("#result-718-7")).to_contain_text("-41%")
        await path.get_by_role("button", name="Approve and sign").click()
        await expect(path.get_by_role("status")).to_contain_text("is being prepared")
        await expect(card).to_contain_text("Your report is ready", timeout=30_000)  # rendered, stored, released


async def test_a_board_that_opens_as_an_alert_is_raised_shows_it(
    browser: Browser, settings: Settings, pool: asyncpg.Pool, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race between a board's read and its socket's opening: the page renders an empty board, an alert is raised
    and the process's watch reads the change before the page's script opens the socket (the script is held back
    here). The socket's ready frame carries the board's current mark, the page's differs, and it re-reads itself."""
    monkeypatch.setattr(staff_socket, "BOARD_POLL_SECONDS", 0.2)
    await _add(pool, "dr.late", Role.PATHOLOGIST)
    async with pool.acquire() as conn:
        tube = await make_sample(conn, vault)
        await samples.transition(conn, barcode=tube.barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH,
                                 centre_id="LAB-1")  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    page = await browser.new_page()
    held: list[Route] = []
    async with serving(create_app(settings), port=port):
        await _sign_in_by_keyboard(page, base, "dr.late")

        async def hold_the_first(route: Route) -> None:
            if held:
                await route.continue_()
            else:
                held.append(route)

        await page.route("**/static/staff.js", hold_the_first)
        await page.goto(f"{base}/staff/critical", wait_until="commit")
        await expect(page.get_by_text("No critical value is waiting.")).to_be_visible()
        async with pool.acquire() as conn:
            await intake.receive(conn, vault, (
                f"MSH|^~\\&|HEMA|LAB|LABPULSE|LAB|20261207||ORU^R01|LATE-1|P|2.5.1\rPID|1||M\rOBR|1|{tube.barcode}\r"
                "OBX|1|NM|6690-2^WBC^LN||1.1|10*3/uL|||||F\r"
            ).encode())  # fmt: skip
        await asyncio.sleep(1.0)  # the watch has read the new mark, with no board listening yet
        assert len(held) == 1
        await held[0].continue_()
        await expect(page.locator("section.card h2")).to_contain_text("WBC: 1.1", timeout=10_000)
