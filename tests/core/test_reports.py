"""Signed reports: a completed tube is approved by a pathologist, the worker's render job stores its PDF (encrypted)
and releases the tube, the PDF says what a lab would print (checked as text with pypdf), the verification answers
genuine, and a tampered record is caught."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import asyncpg
import pytest
from pypdf import PdfReader

from core import tracking
from core.errors import Conflict, InvalidTransition, PermissionDenied
from core.hl7 import intake
from core.identity import Actor, Role
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.reports import content as rc
from core.reports import render
from core.reports import service as reports
from core.samples import service as samples
from core.samples.model import SampleState
from core.staff import service as staff
from core.storage import LocalFileStore
from core.vault import Vault
from tests.support.factories import SYSTEM, TECH, make_sample

KEY = rc.signing_key("x" * 40)
PHONE = "+919811177777"
VALUES = {"718-7": ("Hemoglobin", "10.1"), "6690-2": ("WBC", "7.0"), "777-3": ("Platelets", "250"),
          "789-8": ("RBC", "4.4"), "4544-3": ("Hematocrit", "39")}  # fmt: skip


async def _completed(conn: asyncpg.Connection, vault: Vault) -> tuple[str, Actor]:
    p = await patients.create(conn, vault, NewPatient(name="Sunita Report", sex=Sex.FEMALE, phone=PHONE), actor=SYSTEM)
    sample = await make_sample(conn, vault, patient=p)
    await samples.transition(
        conn, barcode=sample.barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1"
    )
    obx = "".join(f"OBX|{i}|NM|{c}^{n}^LN||{v}|u|||||F\r" for i, (c, (n, v)) in enumerate(VALUES.items(), 1))
    msg = f"MSH|^~\\&|H|L|LP|L|2026||ORU^R01|REP-1|P|2.5.1\rPID|1||M\rOBR|1|{sample.barcode}||CBC\r{obx}"
    assert (await intake.receive(conn, vault, msg.encode()))[0].ack_code == "AA"
    member = await staff.add(conn, username="dr.path", display_name="Dr Kavita Rao", role=Role.PATHOLOGIST,
                             password="x" * 12, actor=SYSTEM)  # fmt: skip
    return sample.barcode, member.actor


async def released(
    conn: asyncpg.Connection, vault: Vault, files: LocalFileStore, barcode: str, pathologist: Actor
) -> dict[str, object]:
    """Approve, then run the render job as the worker would."""
    out = await reports.issue(conn, vault, KEY, barcode=barcode, actor=pathologist, verify_base="https://lab.example")
    assert await render.render(_Pool(conn), vault, files, str(out["report_id"])) is True
    return out


class _Pool:
    """The render job takes a pool; in these tests it shares the test's one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    def acquire(self) -> _Pool:
        return self

    async def __aenter__(self) -> asyncpg.Connection:
        return self._conn

    async def __aexit__(self, *exc: object) -> None:
        return None


async def test_a_report_is_printed_in_the_language_the_patient_chose(
    conn: asyncpg.Connection, vault: Vault, files: LocalFileStore
) -> None:
    """Marathi chosen (by the bot's language menu, which writes the consent record): the signed content says so
    and carries the lab's Marathi names; the PDF's words are the catalogue's, with the English names beneath."""
    from core import consent

    barcode, pathologist = await _completed(conn, vault)
    await consent.update(conn, vault.lookup.digest("phone", PHONE).hex(), via="whatsapp", language="mr")
    out = await released(conn, vault, files, barcode, pathologist)
    row = await conn.fetchrow("SELECT * FROM reports WHERE id = $1", out["report_id"])
    content = json.loads(vault.open("reports", "content", str(out["report_id"]), row["content_enc"]) or "")
    assert content["language"] == "mr"
    assert {t["name"]: t.get("name_local") for t in content["tests"]}["Haemoglobin"] == "हिमोग्लोबिन"
    pdf = vault.open_file("report", row["file_name"], files.path(row["file_name"]).read_bytes())
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Haemoglobin" in text and "In plain words" not in text and "Patient" not in text
    assert (await reports.verification(conn, vault, str(out["report_id"])))["genuine"] is True


async def test_a_pathologist_approves_and_the_worker_releases_a_signed_encrypted_pdf(
    conn: asyncpg.Connection, vault: Vault, files: LocalFileStore
) -> None:
    barcode, pathologist = await _completed(conn, vault)
    out = await reports.issue(conn, vault, KEY, barcode=barcode, actor=pathologist, verify_base="https://lab.example")
    assert out["version"] == 1 and out["verify_url"] == f"https://lab.example/verify/{out['report_id']}"
    assert out["status"] == "preparing"
    # Approved, not yet rendered: the tube is not released, so the patient is not told about a file that isn't there.
    assert await conn.fetchval("SELECT state FROM samples WHERE barcode = $1", barcode) == "completed"
    assert await conn.fetchval("SELECT count(*) FROM pgqueuer WHERE entrypoint = 'reports.render'") == 1
    assert await render.render(_Pool(conn), vault, files, out["report_id"]) is True
    assert await conn.fetchval("SELECT state FROM samples WHERE barcode = $1", barcode) == "reported"
    row = await conn.fetchrow("SELECT * FROM reports WHERE id = $1", out["report_id"])
    blob = files.path(row["file_name"]).read_bytes()
    assert b"Sunita" not in bytes(row["content_enc"]) and b"%PDF" not in blob  # encrypted at rest
    pdf = vault.open_file("report", row["file_name"], blob)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    expected_text = ["labpulse Central Processing Lab", "Sunita Report", barcode, "Haemoglobin", "10.1", "12.0-15.5"]
    expected_text += ["LOW", "In plain words", "is below the usual range", "Dr Kavita Rao", "Ed25519", "- 1 -"]
    for expected in expected_text:
        assert expected in text, expected
    again = await reports.verification(conn, vault, out["report_id"])
    assert again["genuine"] is True and "Haemoglobin" in again["tests"] and again["version"] == 1
    assert "Sunita" not in json.dumps(again) and "10.1" not in json.dumps(again)  # the public page shows no PHI
    deliveries = await conn.fetch("SELECT purpose, channel, status FROM deliveries")
    assert [tuple(d) for d in deliveries] == [("report.ready", "sms", "pending")]
    with pytest.raises(Conflict, match="no result has been corrected"):  # released: approving again needs a reason
        await reports.issue(conn, vault, KEY, barcode=barcode, actor=pathologist, verify_base="x")


async def test_a_second_approval_while_the_first_is_being_prepared_is_refused(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    barcode, pathologist = await _completed(conn, vault)
    await reports.issue(conn, vault, KEY, barcode=barcode, actor=pathologist, verify_base="x")
    with pytest.raises(Conflict, match="being prepared"):
        await reports.issue(conn, vault, KEY, barcode=barcode, actor=pathologist, verify_base="x")
    assert await conn.fetchval("SELECT count(*) FROM reports") == 1


async def test_only_completed_tubes_and_only_pathologists(conn: asyncpg.Connection, vault: Vault) -> None:
    barcode, pathologist = await _completed(conn, vault)
    with pytest.raises(PermissionDenied):
        await reports.issue(
            conn, vault, KEY, barcode=barcode, actor=Actor("staff:t", Role.LAB_TECHNICIAN), verify_base="x"
        )
    other = await make_sample(conn, vault)
    with pytest.raises(InvalidTransition, match="'collected' and cannot move to 'reported'"):
        await reports.issue(conn, vault, KEY, barcode=other.barcode, actor=pathologist, verify_base="x")


@pytest.mark.parametrize("tamper", ["content", "hash", "signature"])
async def test_a_tampered_report_is_not_genuine(conn: asyncpg.Connection, vault: Vault, tamper: str) -> None:
    barcode, pathologist = await _completed(conn, vault)
    rid = (await reports.issue(conn, vault, KEY, barcode=barcode, actor=pathologist, verify_base="x"))["report_id"]
    if tamper == "content":  # a value changed, and even re-encrypted properly: the signed hash no longer matches
        content = json.loads(vault.open("reports", "content", rid, await conn.fetchval(
            "SELECT content_enc FROM reports WHERE id = $1", rid)) or "{}")  # fmt: skip
        content["tests"][0]["value"] = "99.9"
        await conn.execute("UPDATE reports SET content_enc = $2 WHERE id = $1", rid,
                           vault.seal("reports", "content", rid, json.dumps(content)))  # fmt: skip
    elif tamper == "hash":
        await conn.execute("UPDATE reports SET content_hash = sha256('forged') WHERE id = $1", rid)
    else:
        await conn.execute(
            "UPDATE reports SET signature = overlay(signature placing '\\x00' from 1) WHERE id = $1", rid
        )
    assert (await reports.verification(conn, vault, rid))["genuine"] is False


async def test_two_approvals_at_once_issue_one_report(pool: asyncpg.Pool, vault: Vault) -> None:
    import asyncio

    async with pool.acquire() as conn:
        barcode, pathologist = await _completed(conn, vault)

    async def approve() -> object:
        async with pool.acquire() as conn:
            try:
                return await reports.issue(conn, vault, KEY, barcode=barcode, actor=pathologist, verify_base="x")
            except Exception as exc:  # noqa: BLE001 - the loser's refusal is what is checked
                return exc

    outcomes = await asyncio.gather(approve(), approve())
    issued = [o for o in outcomes if isinstance(o, dict)]
    refused = [type(o).__name__ for o in outcomes if not isinstance(o, dict)]
    assert len(issued) == 1 and refused[0] in ("Conflict", "InvalidTransition")
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM reports") == 1


async def test_a_corrected_result_after_release_makes_a_new_version_and_tells_the_patient(
    conn: asyncpg.Connection, vault: Vault, files: LocalFileStore
) -> None:
    barcode, pathologist = await _completed(conn, vault)
    first = await released(conn, vault, files, barcode, pathologist)
    with pytest.raises(Conflict, match="no result has been corrected"):
        await reports.issue(conn, vault, KEY, barcode=barcode, actor=pathologist, verify_base="x")
    fix = f"MSH|^~\\&|H|L|LP|L|2026||ORU^R01|REP-FIX|P|2.5.1\rOBR|1|{barcode}\rOBX|1|NM|718-7^Hb||11.2|g/dL|||||C\r"
    assert (await intake.receive(conn, vault, fix.encode()))[0].ack_code == "AA"
    second = await released(conn, vault, files, barcode, pathologist)
    assert second["version"] == 2
    v2 = json.loads(vault.open("reports", "content", second["report_id"], await conn.fetchval(
        "SELECT content_enc FROM reports WHERE id = $1", second["report_id"])) or "{}")  # fmt: skip
    assert {t["name"]: t["value"] for t in v2["tests"]}["Haemoglobin"] == "11.2"
    patient_id = await conn.fetchval("SELECT patient_id::text FROM samples WHERE barcode = $1", barcode)
    event = await conn.fetchrow(
        "SELECT type, payload FROM outbox WHERE patient_id = $1 ORDER BY patient_seq DESC", patient_id
    )
    assert event["type"] == "report.updated" and event["payload"]["version"] == 2
    snap = await tracking.snapshot(conn, vault.lookup.digest("phone", PHONE).hex(), patient_id)
    assert (
        snap.samples[0].report_version == 2 and snap.samples[0].report_id == second["report_id"]
    )  # the patient's card says, calmly, that the report was updated
    assert (await reports.verification(conn, vault, first["report_id"]))["genuine"]  # the old version still checks out
    assert await conn.fetchval("SELECT state FROM samples WHERE barcode = $1", barcode) == "reported"
    notices = await conn.fetch("SELECT purpose FROM deliveries ORDER BY id")
    assert [n["purpose"] for n in notices] == ["report.ready", "report.updated"]  # one notice per version
    notices = await conn.fetch("SELECT purpose FROM deliveries ORDER BY id")
    assert [n["purpose"] for n in notices] == ["report.ready", "report.updated"]  # one notice per version


async def test_the_printed_qr_code_opens_the_verification_page(
    conn: asyncpg.Connection, vault: Vault, files: LocalFileStore, tmp_path: Path
) -> None:
    """The page as a printer would see it (pdftoppm at 100 dpi), read back by a real QR decoder (zbarimg)."""
    for tool in ("pdftoppm", "zbarimg"):
        assert shutil.which(tool), f"install {tool}: apt-get install -y poppler-utils zbar-tools (.ci/run does it)"
    barcode, pathologist = await _completed(conn, vault)
    out = await released(conn, vault, files, barcode, pathologist)
    name = await conn.fetchval("SELECT file_name FROM reports WHERE id = $1", out["report_id"])
    (tmp_path / "r.pdf").write_bytes(vault.open_file("report", name, files.path(name).read_bytes()))
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile", str(tmp_path / "r.pdf"),
                    str(tmp_path / "page")], check=True, timeout=60)  # fmt: skip
    read = subprocess.run(["zbarimg", "--quiet", "--raw", str(tmp_path / "page.png")], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert read.stdout.strip() == f"https://lab.example/verify/{out['report_id']}"
