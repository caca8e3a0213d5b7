"""A whole teleconsult in real browsers: Debian's chromium joins as the patient and as the doctor, each with a fake
camera and a microphone that plays their side of a scripted consultation spoken by espeak-ng. Media goes through
the server's aiortc relay, the server transcribes each side's track with Whisper (tiny.en, bundled), and the doctor's
page shows the lines attributed to the right speaker and a SOAP draft with the complaint in Subjective; the doctor
signs the note. Nothing is transcribed before both have consented on screen."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from core.config import Settings
from core.identity import Role
from core.staff import service as staff
from core.teleconsult import service, slots
from core.vault import Vault
from portal.app import create_app
from portal.drill.servers import haproxy
from tests.support import speech
from tests.support.factories import SYSTEM, make_patient
from tests.support.procs import free_port
from tests.support.server import serving

CHROMIUM = Path("/usr/bin/chromium")
SCRIPT = Path(__file__).parents[1] / "data" / "consult" / "short_consult.json"  # about 20 s, played in a loop
PHONE = "+919877700001"
pytestmark = pytest.mark.skipif(not speech.have_tools(), reason="needs espeak-ng and sox (./run test installs them)")


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> speech.Rendered:
    # One voice for both: lines are attributed by track, not by voice, and tiny.en hears espeak's American voice
    # best through the browser's Opus (the British one turned "headache" into "hair make" there).
    voices = {"doctor": "en-us", "patient": "en-us"}
    return speech.render(speech.load_script(SCRIPT), tmp_path_factory.mktemp("voices"), voices=voices)


async def _browser(pw, audio: Path) -> Browser:  # type: ignore[no-untyped-def]
    assert CHROMIUM.exists(), "install Debian's chromium: apt-get install -y chromium (./run test does it as root)"
    return await pw.chromium.launch(  # type: ignore[no-any-return]
        executable_path=str(CHROMIUM),
        args=[
            "--no-sandbox",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={audio}",
            "--allow-loopback-in-peer-connection",
            "--disable-background-networking",
            "--disable-component-update",
        ],
    )


@pytest.fixture
async def browsers(voices: speech.Rendered) -> AsyncIterator[tuple[Browser, Browser]]:
    async with async_playwright() as pw:
        patient = await _browser(pw, voices.per_speaker["patient"])
        doctor = await _browser(pw, voices.per_speaker["doctor"])
        try:
            yield patient, doctor
        finally:
            await patient.close()
            await doctor.close()


async def _booked(conn: asyncpg.Connection, vault: Vault) -> service.Booked:
    member = await staff.add(conn, username="dr.mehta", display_name="Dr Anil Mehta", role=Role.DOCTOR,
                             password="x" * 12, actor=SYSTEM)  # fmt: skip
    patient = await make_patient(conn, vault, name="Ravi Test", phone=PHONE)
    slot = await slots.add(conn, member.id, datetime.now(UTC) + timedelta(minutes=5))
    return await service.book(conn, vault, phone=PHONE, slot_id=slot, channel="portal", patient_id=patient.id)


async def _join(browser: Browser, base: str, token: str) -> Page:
    page = await browser.new_page()
    await page.goto(f"{base}/consult/join/{token}")
    await expect(page).to_have_url(re.compile(r"/consult/[0-9a-f-]{36}$"))
    return page


async def _lines_until(page: Page, wanted: re.Pattern[str], seconds: float) -> list[tuple[str | None, str]]:
    """The doctor's transcript once a line matches ``wanted`` (or, failing, what it held: to see why)."""
    said: list[tuple[str | None, str]] = []
    for _ in range(int(seconds * 2)):
        lines = await page.locator("#transcript li").all()
        said = [(await li.get_attribute("data-speaker"), await li.inner_text()) for li in lines]
        if any(wanted.search(text) for _, text in said):
            return said
        await page.wait_for_timeout(500)
    raise AssertionError(f"no line matched {wanted.pattern!r} in {seconds} s; the transcript: {said}")


async def test_a_teleconsult_in_two_browsers_is_transcribed_by_speaker_and_drafted_and_signed(
    browsers: tuple[Browser, Browser], settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        booked = await _booked(conn, vault)
    async with serving(create_app(settings)) as addr:
        base = f"http://{addr}"
        patient = await _join(browsers[0], base, booked.patient_link)
        doctor = await _join(browsers[1], base, booked.doctor_link)
        await expect(doctor.locator("#status")).to_have_text("Connected", timeout=20_000)
        await expect(patient.locator("#status")).to_have_text("Connected", timeout=20_000)
        # Talking, but no consent yet: nothing is transcribed.
        await doctor.wait_for_timeout(4000)
        assert await doctor.locator("#transcript li").count() == 0
        await patient.get_by_label(re.compile("I agree")).check()
        await doctor.get_by_label(re.compile("I agree")).check()
        await expect(doctor.locator("#patient-consent")).to_be_visible()
        # The files loop: within a couple of passes both sides' key lines appear, attributed by track.
        lines = doctor.locator("#transcript li")
        days = re.compile(r"(four|4) days", re.I)  # Whisper writes numbers either way
        await expect(lines.filter(has_text=days)).not_to_have_count(0, timeout=90_000)
        # Whisper hears espeak over Opus a little differently from run to run ("chest pain" came out "cast pain",
        # "blood count" "loud count"), and with each speaker's last lines as context a pass hears a repeated line as
        # the pass before did: the checks use what every run so far has heard (bench/transcribe.py measures WER).
        said = await _lines_until(doctor, re.compile(r"complete.{0,12}count|blood count", re.I), seconds=60)
        assert any(who == "patient" and days.search(text) for who, text in said), said
        assert any(who == "doctor" and re.search(r"temperature|degrees|count", text, re.I) for who, text in said)
        assert not any(who == "doctor" and days.search(text) for who, text in said), said
        # The complaint, in note style ("4 days"), under its part's heading in Subjective.
        subjective = doctor.locator("#soap-subjective")
        complaint = re.compile(r"History of present illness:\n[\s\S]*headache[\s\S]*(4|four) days", re.I)
        await expect(subjective).to_have_value(complaint, timeout=60_000)
        await doctor.get_by_role("button", name="Sign note").click()
        await expect(doctor.locator("#note-status")).to_contain_text("Signed", timeout=10_000)
        await patient.get_by_role("button", name="Leave").click()
        await doctor.get_by_role("button", name="Leave").click()
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, signed_by FROM consult_notes WHERE consult_id = $1",
                                  booked.consult.id)  # fmt: skip
        assert row["status"] == "signed"
        assert await conn.fetchval("SELECT count(*) FROM consult_lines WHERE consult_id = $1", booked.consult.id) > 0
        assert await conn.fetchval("SELECT status FROM consults WHERE id = $1", booked.consult.id) == "completed"


async def test_two_web_processes_behind_haproxy_put_both_sides_in_the_owners_room(
    browsers: tuple[Browser, Browser], settings: Settings, pool: asyncpg.Pool, vault: Vault, tmp_path: Path
) -> None:
    """The doctor's page reaches web-1, which claims the room; the patient's is sent by the load balancer to web-2,
    which answers 'moved'; the page sets the lp_node cookie and comes back through HAProxy to web-1: both connected."""
    async with pool.acquire() as conn:
        booked = await _booked(conn, vault)
    ports = {"web-1": free_port(), "web-2": free_port()}
    async with (
        serving(create_app(settings.with_overrides(node="web-1")), port=ports["web-1"]),
        serving(create_app(settings.with_overrides(node="web-2")), port=ports["web-2"]),
    ):
        with haproxy([(name, f"127.0.0.1:{port}") for name, port in ports.items()], tmp_path) as front:
            base = f"http://{front}"
            pages = {}
            for side, browser, node, link in (("doctor", browsers[1], "web-1", booked.doctor_link),
                                              ("patient", browsers[0], "web-2", booked.patient_link)):  # fmt: skip
                context = await browser.new_context()
                await context.add_cookies([{"name": "lp_node", "value": node, "url": base}])
                pages[side] = page = await context.new_page()
                await page.goto(f"{base}/consult/join/{link}")
                await expect(page).to_have_url(re.compile(r"/consult/[0-9a-f-]{36}$"))
            await expect(pages["doctor"].locator("#status")).to_have_text("Connected", timeout=20_000)
            await expect(pages["patient"].locator("#status")).to_have_text("Connected", timeout=20_000)
            cookies = await pages["patient"].context.cookies(base)
            assert {c["name"]: c["value"] for c in cookies}["lp_node"] == "web-1"  # the page followed the room
