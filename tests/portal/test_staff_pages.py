"""The staff workspace's pages through the real app: sign-in with calm errors and a lockout, each role's home and
navigation, the bench's scan box moving a tube step by step (post, redirect, get), the worklist with overdue tubes
marked and scoped to the member's centre, and what a page says to someone signed out or of another role."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import unquote

import asyncpg
import httpx

from core import critical, i18n
from core.booking import catalogue
from core.booking import service as booking
from core.booking.catalogue import Centre, upsert_centre
from core.hl7 import intake, links
from core.identity import Actor, Role
from core.jobs import runner
from core.labtime import LAB_TZ
from core.reports import render
from core.reports import service as reports
from core.samples import service as samples
from core.samples.model import Sample, SampleState
from core.staff import service as staff
from core.storage import LocalFileStore
from core.vault import Vault
from tests.core.test_reports import KEY as REPORT_KEY
from tests.core.test_reports import _completed as completed_tube
from tests.portal.conftest import PASSWORD, username_for
from tests.support.factories import TECH, ensure_centres, make_patient, make_sample
from tests.support.inbox import Inbox

HTML = {"Accept": "text/html", "Origin": "https://testserver"}


async def _member(pool: asyncpg.Pool, role: Role, centre_id: str | None = None) -> str:
    username = username_for(role)
    async with pool.acquire() as conn:
        added = await staff.add(conn, username=username, display_name=f"{role.value} one", role=role,
                                password=PASSWORD, actor=Actor.system("tests"))  # fmt: skip
        if centre_id:
            await staff.set_centre(conn, added.id, centre_id, actor=Actor.system("tests"))
    return username


async def _csrf(client: httpx.AsyncClient, path: str = "/staff") -> str:
    page = await client.get(path, headers=HTML)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found.group(1)


async def _sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    form = {"csrf": await _csrf(client), "username": username, "password": password, "totp": ""}
    return await client.post("/staff/signin", data=form, headers=HTML)


async def _scan(client: httpx.AsyncClient, barcode: str) -> httpx.Response:
    form = {"csrf": await _csrf(client, "/staff/bench"), "barcode": barcode}
    posted = await client.post("/staff/bench/scan", data=form, headers=HTML)
    assert posted.status_code == 303
    return await client.get(posted.headers["location"], headers=HTML)


async def test_sign_in_home_by_role_and_sign_out(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    tech = await _member(pool, Role.LAB_TECHNICIAN)
    form = await client.get("/staff", headers=HTML)
    assert form.status_code == 200
    assert all(f'name="{name}"' in form.text for name in ("username", "password", "totp"))
    wrong = await _sign_in(client, tech, "not the password")
    assert wrong.status_code == 401 and "do not match" in wrong.text and "lp_staff" not in wrong.cookies
    done = await _sign_in(client, tech)
    assert (done.status_code, done.headers["location"]) == (303, "/staff")
    home = await client.get("/staff", headers=HTML)
    assert 'href="/staff/bench"' in home.text and 'href="/admin/audit"' not in home.text
    assert "lab_technician" in home.text
    out = await client.post("/staff/signout", data={"csrf": await _csrf(client)}, headers=HTML)
    assert out.status_code == 303
    again = await client.get("/staff/bench", headers=HTML)
    assert (again.status_code, again.headers["location"]) == (303, "/staff")  # signed out: to the sign-in form


async def test_an_administrator_sees_the_admin_pages_and_a_doctor_is_told_calmly(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await _sign_in(client, await _member(pool, Role.ADMIN))
    home = await client.get("/staff", headers=HTML)
    assert 'href="/staff/bench"' in home.text and 'href="/admin/audit"' in home.text
    client.cookies.clear()
    await _sign_in(client, await _member(pool, Role.DOCTOR))
    refused = await client.get("/staff/bench", headers=HTML)
    assert refused.status_code == 403 and "not for your role" in refused.text
    assert 'href="/staff/bench"' not in (await client.get("/staff", headers=HTML)).text


async def test_five_wrong_passwords_lock_the_account_and_the_page_says_for_how_long(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    tech = await _member(pool, Role.LAB_TECHNICIAN)
    answers = [(await _sign_in(client, tech, "wrong")).status_code for _ in range(5)]
    locked = await _sign_in(client, tech)  # even the right password, while locked
    assert answers[:4] == [401] * 4 and answers[4] == 429
    assert locked.status_code == 429 and "locked for 15 minutes" in locked.text


async def test_one_scan_at_a_time_moves_a_tube_through_the_lab(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        tube = await make_sample(conn, vault)
    await _sign_in(client, await _member(pool, Role.LAB_TECHNICIAN))
    seen = []
    for _ in range(4):
        page = await _scan(client, tube.barcode.lower() + "\n")  # as a scanner types it
        seen.append(re.search(r'class="(ok|error)" role="\w+">([^<]+)<', page.text).groups())  # type: ignore[union-attr]
    assert seen == [
        ("ok", f"{tube.barcode} is now: Received at the lab."),
        ("ok", f"{tube.barcode} is now: On the analyzer."),
        ("ok", f"{tube.barcode} is now: Complete, to release."),
        ("error", f"{tube.barcode} is complete: it waits for the pathologist&#39;s release."),
    ]
    unknown = await _scan(client, "NO-SUCH-TUBE-1")
    assert "NO-SUCH-TUBE-1: no tube has this barcode" in unknown.text
    async with pool.acquire() as conn:
        states = await conn.fetch(
            "SELECT to_state, actor_role FROM sample_transitions WHERE sample_id = $1 ORDER BY version", tube.id
        )
        assert await conn.fetchval("SELECT count(*) FROM unknown_scans WHERE barcode = 'NO-SUCH-TUBE-1'") == 1
    assert [tuple(r) for r in states][1:] == [
        ("received_at_lab", "lab_technician"), ("processing", "lab_technician"), ("completed", "lab_technician"),
    ]  # fmt: skip


async def test_the_worklist_marks_overdue_tubes_and_shows_only_the_members_centre(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        late, fresh, elsewhere = [await make_sample(conn, vault) for _ in range(3)]
        await upsert_centre(conn, Centre("CC-2", "Other Collection Centre", "collection", "Pune"))
        # the CBC's target is 6 hours: one tube was collected 7 hours ago; one tube is at the other centre
        await conn.execute("UPDATE samples SET collected_at = now() - interval '7 hours' WHERE id = $1", late.id)
        await conn.execute("UPDATE samples SET centre_id = 'CC-2' WHERE id = $1", elsewhere.id)
    await _sign_in(client, await _member(pool, Role.LAB_TECHNICIAN, centre_id="CC-1"))
    page = (await client.get("/staff/bench", headers=HTML)).text
    rows = dict(re.findall(r'<tr id="tube-([A-Z0-9-]+)" data-state="\w+"( class="overdue")?>', page))
    assert rows == {late.barcode: ' class="overdue"', fresh.barcode: ""}
    assert "1 overdue" in page and "Test Collection Centre" not in page and "CC-1" in page
    assert list(rows) == [late.barcode, fresh.barcode]  # oldest first


def _oru(control: str, barcode: str) -> bytes:
    return (
        f"MSH|^~\\&|HEMA-1|LAB|LABPULSE|LAB|20261207130000||ORU^R01|{control}|P|2.5.1\r"
        f"PID|1||MRN-77^^^LAB^MR||Verma^Asha\rOBR|1|{barcode}\rOBX|1|NM|718-7^Hemoglobin^LN||13.1|g/dL|||||F\r"
    ).encode()


async def _in_the_lab(conn: asyncpg.Connection, vault: Vault, **kw: Any) -> Sample:
    """A tube received at the lab (so results apply to it)."""
    tube = await make_sample(conn, vault, **kw)
    await samples.transition(conn, barcode=tube.barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH,
                             centre_id="LAB-1")  # fmt: skip
    return tube


def _critical_wbc(control: str, barcode: str) -> bytes:
    """A white cell count of 1.2: below the critical limit (2.0), so it raises an alert."""
    return (
        f"MSH|^~\\&|CHEM|LAB|LABPULSE|LAB|20261121||ORU^R01|{control}|P|2.5.1\rPID|1||M\rOBR|1|{barcode}||CBC\r"
        "OBX|1|NM|6690-2^WBC^LN||1.2|10*3/uL|||||F\r"
    ).encode()


async def test_the_hl7_queue_is_read_re_applied_and_set_aside_from_its_page(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        await ensure_centres(conn)
        await intake.receive(conn, vault, _oru("Q-HELD-1", "TUBE-LATE-01"))  # its tube is not registered yet
        await intake.receive(conn, vault, _oru("Q-HELD-2", "TUBE-NEVER-1"))
    await _sign_in(client, await _member(pool, Role.LAB_TECHNICIAN))
    page = (await client.get("/staff/hl7", headers=HTML)).text
    ids = re.findall(r'<tr id="msg-([0-9a-f-]{36})">', page)
    assert len(ids) == 2 and "No sample matches the specimen ids (TUBE-LATE-01)" in page
    raw = await client.get(f"/staff/hl7/{ids[0]}", headers=HTML)
    assert "PID|1||MRN-77^^^LAB^MR||Verma^Asha" in raw.text and "has been recorded" in raw.text
    async with pool.acquire() as conn:
        late = await make_sample(conn, vault, barcode="TUBE-LATE-01")
        await samples.transition(conn, barcode=late.barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH,
                                 centre_id="LAB-1")  # fmt: skip
        reads = await conn.fetch("SELECT actor_role, entity_id FROM audit_log WHERE action = 'hl7.read_raw'")
    assert [tuple(r) for r in reads] == [("lab_technician", ids[0])]
    form = {"csrf": await _csrf(client, "/staff/hl7")}
    applied = await client.post(f"/staff/hl7/{ids[0]}/reapply", data=form, headers=HTML)
    assert applied.status_code == 303 and "done=reapplied" in applied.headers["location"]
    shown = (await client.get(applied.headers["location"], headers=HTML)).text
    assert 'role="status">Applied: Stored' in shown and f'id="msg-{ids[0]}"' not in shown
    aside = await client.post(f"/staff/hl7/{ids[1]}/reviewed", data=form, headers=HTML)
    assert "done=reviewed" in aside.headers["location"]
    assert "Nothing is waiting" in (await client.get("/staff/hl7", headers=HTML)).text
    client.cookies.clear()
    await _sign_in(client, await _member(pool, Role.PHLEBOTOMIST))
    assert (await client.get("/staff/hl7", headers=HTML)).status_code == 403


async def test_the_critical_board_shows_who_was_called_and_takes_a_read_back(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        on_duty = await staff.add(conn, username="dr.duty", display_name="Dr On Duty", role=Role.DOCTOR,
                                  password=PASSWORD, actor=Actor.system("tests"))  # fmt: skip
        await critical.set_chain(conn, vault, [critical.ChainMember(on_duty.id, "Dr On Duty", "+919800011111")])
        tube = await _in_the_lab(conn, vault)
        await intake.receive(conn, vault, _critical_wbc("K-9", tube.barcode))
        await critical.tick(conn, vault, {"sms": Inbox()}, datetime.now(UTC) + timedelta(minutes=1))
        alert_id = await conn.fetchval("SELECT id FROM critical_alerts")
    await _sign_in(client, await _member(pool, Role.PATHOLOGIST))
    board = (await client.get("/staff/critical", headers=HTML)).text
    assert f'id="alert-{alert_id}"' in board and "WBC: 1.2 10*3/uL" in board and tube.barcode in board
    assert re.search(r"Messaged so far: Dr On Duty \(1\) \d", board)
    csrf = await _csrf(client, "/staff/critical")
    empty = await client.post(f"/staff/critical/{alert_id}/ack", data={"csrf": csrf, "read_back": "  "}, headers=HTML)
    assert "error=read_back" in empty.headers["location"]
    note = "Read back WBC 1.2; ward to repeat and call Dr Rao"
    done = await client.post(f"/staff/critical/{alert_id}/ack", data={"csrf": csrf, "read_back": note}, headers=HTML)
    assert "done=" in done.headers["location"]
    after = (await client.get(done.headers["location"], headers=HTML)).text
    assert "the escalation has stopped" in after and f'id="alert-{alert_id}"' not in after
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT acknowledged_by, read_back_enc FROM critical_alerts WHERE id = $1", alert_id)
    assert vault.open("critical_alerts", "read_back", str(alert_id), row["read_back_enc"]) == note
    assert row["acknowledged_by"].startswith("staff:") and note.encode() not in row["read_back_enc"]  # sealed
    client.cookies.clear()
    await _sign_in(client, await _member(pool, Role.LAB_TECHNICIAN))
    assert (await client.get("/staff/critical", headers=HTML)).status_code == 403


async def test_reception_registers_a_walk_in_orders_tests_and_prints_the_labels(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        await ensure_centres(conn)
    await _sign_in(client, await _member(pool, Role.PHLEBOTOMIST, centre_id="CC-1"))
    csrf = await _csrf(client, "/staff/reception")
    walk_in = {"csrf": csrf, "name": "Kavya Iyer", "sex": "female", "phone": "98450 12345",
               "date_of_birth": "1990-04-12", "address": ""}  # fmt: skip
    registered = await client.post("/staff/reception/patients", data=walk_in, headers=HTML)
    assert registered.status_code == 303 and registered.headers["location"].startswith("/staff/reception/order?")
    form = (await client.get(registered.headers["location"], headers=HTML)).text
    assert "Tests for Kavya Iyer" in form and 'value="CBC"' in form and 'name="centre_id"' not in form
    patient_id = re.search(r'name="patient_id" value="([0-9a-f-]{36})"', form).group(1)  # type: ignore[union-attr]
    order = {"csrf": csrf, "patient_id": patient_id, "tests": ["CBC", "LIPID"], "doctor": ""}
    placed = await client.post("/staff/reception/orders", data=order, headers=HTML)
    assert placed.status_code == 303, placed.text[:300]
    page = (await client.get(placed.headers["location"], headers=HTML)).text
    barcodes = re.findall(r'<th scope="row">(LPT\d{8})</th>', page)
    assert len(barcodes) == 2 and "Print the labels" in page  # an EDTA tube and a serum tube
    labels = re.search(r'href="(/api/staff/orders/[0-9a-f-]{36}/labels\.pdf)"', page).group(1)  # type: ignore[union-attr]
    pdf = await client.get(labels)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    found = (await client.get("/staff/reception?phone=9845012345", headers=HTML)).text
    assert "Kavya Iyer" in found and f"patient={patient_id}" in found
    async with pool.acquire() as conn:
        reads = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'patient.read' AND patient_id = $1",
                                    patient_id)  # fmt: skip
        tubes = await conn.fetch("SELECT barcode, centre_id, state FROM samples ORDER BY barcode")
    assert reads >= 2  # the order form and the search each read the record, audited
    assert [(t["centre_id"], t["state"]) for t in tubes] == [("CC-1", "collected")] * 2
    nobody = (await client.get("/staff/reception?phone=9845099999", headers=HTML)).text
    assert "Nobody found" in nobody
    client.cookies.clear()
    await _sign_in(client, await _member(pool, Role.DOCTOR))
    assert (await client.get("/staff/reception", headers=HTML)).status_code == 403


async def test_a_pathologist_sees_the_delta_check_previews_and_signs(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        person = await make_patient(conn, vault, phone="+919800055555")
        before, now = await make_sample(conn, vault, patient=person), await make_sample(conn, vault, patient=person)
        await conn.execute("UPDATE samples SET collected_at = now() - interval '30 days' WHERE id = $1", before.id)
        for tube, hb, control in ((before, "13.5", "D-1"), (now, "8.0", "D-2")):  # haemoglobin fell by 41 %
            await samples.transition(conn, barcode=tube.barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH,
                                     centre_id="LAB-1")  # fmt: skip
            [out] = await intake.receive(conn, vault, (
                f"MSH|^~\\&|HEMA|LAB|LABPULSE|LAB|20261121||ORU^R01|{control}|P|2.5.1\rPID|1||M\rOBR|1|{tube.barcode}\r"
                f"OBX|1|NM|718-7^Hb^LN||{hb}|g/dL|||||F\rOBX|2|NM|6690-2^WBC^LN||7.0|10*3/uL|||||F\r"
            ).encode())  # fmt: skip
            assert out.ack_code == "AA", out.text
        for step in (SampleState.PROCESSING, SampleState.COMPLETED):
            await samples.transition(conn, barcode=now.barcode, to_state=step, actor=TECH, centre_id="LAB-1")
    await _sign_in(client, await _member(pool, Role.PATHOLOGIST))
    listed = (await client.get("/staff/approvals", headers=HTML)).text
    assert f'href="/staff/approvals/{now.barcode}"' in listed and before.barcode not in listed
    page = (await client.get(f"/staff/approvals/{now.barcode}", headers=HTML)).text
    rows = dict(re.findall(r'<tr id="result-([\d-]+)"( class="delta")?>', page))
    assert rows == {"718-7": ' class="delta"', "6690-2": ""}
    assert "-41%" in page and "1 result(s) changed more than expected" in page and "13.5" in page
    pdf = await client.get(f"/staff/approvals/{now.barcode}/preview.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout.decode()
    assert "PREVIEW, NOT SIGNED" in text and "Haemoglobin" in text and "8.0" in text
    comment = "Hb < 8 & falling: repeat in 1 week, <b>review</b> iron studies"
    signed = await client.post(f"/staff/approvals/{now.barcode}/approve",
                               data={"csrf": await _csrf(client), "comment": comment}, headers=HTML)  # fmt: skip
    assert "done=" in signed.headers["location"]
    after = (await client.get(signed.headers["location"], headers=HTML)).text
    assert "is being prepared" in after and f'href="/staff/approvals/{now.barcode}"' not in after
    async with pool.acquire() as conn:
        rows_ = await conn.fetch(
            "SELECT action FROM audit_log WHERE actor_role = 'pathologist' AND action NOT LIKE 'http:%' ORDER BY id"
        )
        actions = [r["action"] for r in rows_]
    assert actions[-3:] == ["patient.read", "report.preview", "report.issue"]
    async with pool.acquire() as conn:  # the comment is signed with the results, and printed as typed
        report = await conn.fetchrow("SELECT id::text, content_enc FROM reports")
    content = json.loads(vault.open("reports", "content", report["id"], report["content_enc"]) or "{}")
    assert content["comment"] == comment
    printed = subprocess.run(["pdftotext", "-", "-"], input=render.document(content, "https://x/v", b"s", b"h"),
                             capture_output=True, check=True).stdout.decode()  # fmt: skip
    assert "Pathologist's comment" in printed and comment in printed
    client.cookies.clear()
    await _sign_in(client, await _member(pool, Role.LAB_TECHNICIAN))
    assert (await client.get("/staff/approvals", headers=HTML)).status_code == 403


async def test_a_tube_unfit_to_test_is_rejected_and_a_new_one_is_asked_for(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        tube = await _in_the_lab(conn, vault)
    await _sign_in(client, await _member(pool, Role.LAB_TECHNICIAN))
    csrf = await _csrf(client, "/staff/bench")
    no_reason = await client.post("/staff/bench/reject", data={"csrf": csrf, "barcode": tube.barcode, "reason": ""},
                                  headers=HTML)  # fmt: skip
    assert "error=reason" in no_reason.headers["location"]
    form = {"csrf": csrf, "barcode": tube.barcode, "reason": "haemolysed", "note": ""}
    done = await client.post("/staff/bench/reject", data=form, headers=HTML)
    page = (await client.get(done.headers["location"], headers=HTML)).text
    new = re.search(r"the new tube is (LPT\d{8})", page).group(1)  # type: ignore[union-attr]
    assert f"{tube.barcode} is rejected and a new collection is arranged" in page and "labels.pdf" in page
    async with pool.acquire() as conn:
        old = await conn.fetchrow("SELECT state, rejection_reason FROM samples WHERE id = $1", tube.id)
        replacement = await conn.fetchrow(
            "SELECT state, order_id, replaces_sample_id::text FROM samples WHERE barcode = $1", new
        )
    assert (old["state"], old["rejection_reason"]) == ("recollection_requested", "haemolysed")
    assert (replacement["state"], replacement["replaces_sample_id"]) == ("collected", tube.id)
    assert str(replacement["order_id"]) == tube.order_id
    again = await client.post("/staff/bench/reject", data=form, headers=HTML)  # the old tube is done with
    assert "error=rejected" in again.headers["location"]


async def test_operations_shows_what_needs_a_person_and_puts_a_dead_job_back(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    dead = await runner.dead_letter(pool, "reports.render", {"report_id": "00000000-0000-0000-0000-000000000001"}, 5,
                                    "the store was unreachable")  # fmt: skip
    async with pool.acquire() as conn:
        await ensure_centres(conn)
        await intake.receive(conn, vault, _oru("OPS-1", "TUBE-NOT-HERE"))
        up = links.Links("lab-1:4242", "0.0.0.0:2575")
        up.opened(1, "10.0.0.7:51000")
        up.heard(1, "HEMA-1^LAB", 3)
        await links.report(conn, up, datetime.now(UTC))
        await links.report(conn, links.Links("lab-2:99", "0.0.0.0:2575"), datetime.now(UTC) - timedelta(minutes=2))
    await _sign_in(client, await _member(pool, Role.ADMIN))
    page = (await client.get("/staff/operations", headers=HTML)).text
    assert "Listener 0.0.0.0:2575 (lab-1:4242): up, 1 connected" in page
    assert re.search(r"<td>10.0.0.7:51000</td><td>HEMA-1\^LAB</td><td>[^<]+</td><td>[^<]+</td><td>3</td>", page)
    assert re.search(r"\(lab-2:99\): <span class=\"overdue\">not heard from since [^<]+: it may have stopped", page)
    assert f'id="dead-{dead}"' in page and "reports.render" in page and "the store was unreachable" in page
    assert re.search(r"<td>HEMA-1\^LAB</td><td>[^<]+</td><td>AE</td><td>1</td><td>1</td>", page)
    form = {"csrf": await _csrf(client, "/staff/operations")}
    again = await client.post(f"/staff/operations/dead/{dead}/requeue", data=form, headers=HTML)
    after = (await client.get(again.headers["location"], headers=HTML)).text
    assert "Put back on the queue" in after and f'id="dead-{dead}"' not in after
    assert "reports.render" in after  # now waiting on the queue
    twice = await client.post(f"/staff/operations/dead/{dead}/requeue", data=form, headers=HTML)
    assert "error=gone" in twice.headers["location"]
    client.cookies.clear()
    await _sign_in(client, await _member(pool, Role.LAB_TECHNICIAN))
    assert (await client.get("/staff/operations", headers=HTML)).status_code == 403


async def test_reception_lists_todays_bookings_at_its_own_centre_only(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        await ensure_centres(conn)
        await upsert_centre(conn, Centre("CC-2", "Other Collection Centre", "collection", "Pune"))
        noon = datetime.combine(datetime.now(LAB_TZ).date(), time(12), tzinfo=LAB_TZ)
        cbc = [i for i in await catalogue.items(conn) if i.code == "CBC"]
        refs = {}
        for centre in ("CC-1", "CC-2"):  # a slot in the future, booked, then moved to today's noon
            slot = await conn.fetchval(
                """INSERT INTO slots (centre_id, kind, starts_at, capacity) VALUES ($1, 'centre', $2, 5)
                   RETURNING id""",
                centre, noon + timedelta(days=3),
            )  # fmt: skip
            made = await booking.book(conn, vault, phone="+919811122233", slot_id=slot, chosen=cbc, channel="sms")
            await conn.execute("UPDATE slots SET starts_at = $2 WHERE id = $1", slot, noon)
            refs[centre] = made.ref
    await _sign_in(client, await _member(pool, Role.PHLEBOTOMIST, centre_id="CC-1"))
    page = (await client.get("/staff/reception", headers=HTML)).text
    assert f'id="booking-{refs["CC-1"]}"' in page and f'id="booking-{refs["CC-2"]}"' not in page
    assert re.search(r"<td>12:00 pm</td><td>At the centre</td><td>[A-Z0-9-]+</td><td>CBC</td><td>Booked</td>", page)


async def test_an_administrator_sets_who_is_called_about_critical_values(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        for username in ("dr.duty", "dr.next"):
            await staff.add(conn, username=username, display_name=username, role=Role.DOCTOR, password=PASSWORD,
                            actor=Actor.system("tests"))  # fmt: skip
    await _sign_in(client, await _member(pool, Role.ADMIN))
    empty = (await client.get("/staff/critical/chain", headers=HTML)).text
    assert "would reach nobody" in empty
    csrf = await _csrf(client, "/staff/critical/chain")
    chain = {"csrf": csrf, "username_1": "dr.duty", "label_1": "Dr on duty", "phone_1": "98000 11111",
             "channel_1": "sms", "username_2": "dr.next", "label_2": "Dr next", "phone_2": "98000 22222",
             "channel_2": "whatsapp"}  # fmt: skip
    saved = await client.post("/staff/critical/chain", data=chain, headers=HTML)
    page = (await client.get(saved.headers["location"], headers=HTML)).text
    assert "Saved: from now on" in page
    assert re.findall(r"<li>([^<]+)</li>", page) == ["Dr on duty · sms · +91******1111",
                                                     "Dr next · whatsapp · +91******2222"]  # fmt: skip
    assert "98000" not in page and "9800011111" not in page  # the whole number is never shown back
    wrong = await client.post("/staff/critical/chain", data={"csrf": csrf, "username_1": "nobody.here",
                                                             "phone_1": "98000 33333"}, headers=HTML)  # fmt: skip
    assert "is+not+an+active+doctor" in wrong.headers["location"] or "not%20an%20active" in wrong.headers["location"]
    async with pool.acquire() as conn:
        assert [m.label for m in await critical.chain(conn, vault)] == ["Dr on duty", "Dr next"]  # unchanged
    client.cookies.clear()
    await _sign_in(client, await _member(pool, Role.PATHOLOGIST))
    assert (await client.get("/staff/critical/chain", headers=HTML)).status_code == 403


async def test_an_administrator_keeps_the_on_duty_roster(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await staff.add(conn, username="dr.night", display_name="Dr Night", role=Role.DOCTOR, password=PASSWORD,
                        actor=Actor.system("tests"))  # fmt: skip
    await _sign_in(client, await _member(pool, Role.ADMIN))
    page = (await client.get("/staff/critical/roster", headers=HTML)).text
    assert "No shift now" in page and '<option value="dr.night">Dr Night (dr.night)</option>' in page
    now = datetime.now(LAB_TZ)
    start = (now - timedelta(hours=1)).replace(minute=0)
    form = {
        "csrf": await _csrf(client, "/staff/critical/roster"),
        "username": "dr.night",
        "day": start.date().isoformat(),
        "starts": f"{start:%H:%M}",
        "ends": f"{start:%H:%M}",
    }  # a whole day
    refused = await client.post("/staff/critical/roster", data=form, headers=HTML)  # no phone on the account
    assert "no phone for critical values" in unquote(refused.headers["location"])
    added = await client.post("/staff/critical/roster", data={**form, "phone": "98000 99999"}, headers=HTML)
    page = (await client.get(added.headers["location"], headers=HTML)).text
    assert "Added: during that shift" in page and re.search(r"<strong>On duty now:</strong> Dr Night \(", page)
    again = await client.post("/staff/critical/roster", data=form, headers=HTML)
    assert "overlaps Dr Night's shift" in unquote(again.headers["location"])
    shift_id = re.search(r'action="/staff/critical/roster/(\d+)/remove"', page)
    assert shift_id is not None
    removed = await client.post(f"/staff/critical/roster/{shift_id.group(1)}/remove", data={"csrf": form["csrf"]},
                                headers=HTML)  # fmt: skip
    assert "No shift now" in (await client.get(removed.headers["location"], headers=HTML)).text
    client.cookies.clear()
    await _sign_in(client, await _member(pool, Role.PATHOLOGIST))
    assert (await client.get("/staff/critical/roster", headers=HTML)).status_code == 403


async def test_a_doctor_sees_on_the_board_only_the_critical_values_of_their_own_patients(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        tube = await _in_the_lab(conn, vault)
        await intake.receive(conn, vault, _critical_wbc("K-7", tube.barcode))
        alert_id = await conn.fetchval("SELECT id FROM critical_alerts")
    referrer = await _member(pool, Role.DOCTOR)
    async with pool.acquire() as conn:
        outside = await staff.add(conn, username="dr.outside", display_name="Dr Outside", role=Role.DOCTOR,
                                  password=PASSWORD, actor=Actor.system("tests"))  # fmt: skip
        referrer_id = await conn.fetchval("SELECT id::text FROM staff WHERE username = $1", referrer)
        await conn.execute("UPDATE orders SET referring_doctor = $1 WHERE id = $2", referrer_id, tube.order_id)
    await _sign_in(client, outside.username)
    board = (await client.get("/staff/critical", headers=HTML)).text
    assert "No critical value is waiting" in board and tube.barcode not in board
    ack = {"csrf": await _csrf(client, "/staff/critical"), "read_back": "read back"}
    assert (
        "error=gone"
        in (await client.post(f"/staff/critical/{alert_id}/ack", data=ack, headers=HTML)).headers["location"]
    )
    client.cookies.clear()
    await _sign_in(client, referrer)
    assert f'id="alert-{alert_id}"' in (await client.get("/staff/critical", headers=HTML)).text


async def test_an_administrator_adds_staff_and_a_change_of_role_ends_their_sessions(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        await ensure_centres(conn)
    await _sign_in(client, await _member(pool, Role.ADMIN))
    csrf = await _csrf(client, "/staff/admin/accounts")
    new = {"csrf": csrf, "username": "neha.tech", "display_name": "Neha Tech", "role": "lab_technician",
           "centre_id": "CC-1", "password": "a first password 1"}  # fmt: skip
    added = await client.post("/staff/admin/accounts", data=new, headers=HTML)
    assert "done=added" in added.headers["location"]
    taken = await client.post("/staff/admin/accounts", data=new, headers=HTML)
    assert "is+taken" in taken.headers["location"] or "is%20taken" in taken.headers["location"]
    async with pool.acquire() as conn:
        neha = await conn.fetchrow("SELECT id::text, role, centre_id FROM staff WHERE username = 'neha.tech'")
    assert (neha["role"], neha["centre_id"]) == ("lab_technician", "CC-1")
    other = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))  # Neha's own browser
    signed = await other.post("/api/staff/session", json={"username": "neha.tech", "password": "a first password 1"})
    neha_token = {"Authorization": f"Bearer {signed.json()['token']}"}
    assert (await other.get("/staff/bench", headers=neha_token)).status_code == 200
    form = {"csrf": csrf, "role": "phlebotomist", "centre_id": "CC-1"}  # and the box unticked: switched off
    changed = await client.post(f"/staff/admin/accounts/{neha['id']}", data=form, headers=HTML)
    assert "done=changed" in changed.headers["location"]
    assert (await other.get("/staff/bench", headers=neha_token)).status_code == 401  # her session ended at once
    again = await other.post("/api/staff/session", json={"username": "neha.tech", "password": "a first password 1"})
    assert again.status_code == 401  # switched off: no new session either
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT role, active FROM staff WHERE username = 'neha.tech'")
        audited = await conn.fetchval("SELECT summary FROM audit_log WHERE action = 'staff.change'")
    assert (row["role"], row["active"]) == ("phlebotomist", False) and "phlebotomist" in str(audited)
    await other.aclose()


async def test_an_administrator_sets_a_price_a_target_and_a_reference_range(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await _sign_in(client, await _member(pool, Role.ADMIN))
    page = (await client.get("/staff/admin/lab", headers=HTML)).text
    assert 'id="test-CBC"' in page and 'value="350.00"' in page
    async with pool.acquire() as conn:
        hb = await conn.fetchval(
            "SELECT id FROM reference_ranges WHERE analyte_code = '718-7' AND sex = 'female' AND age_min_years = 12"
        )
    csrf = await _csrf(client, "/staff/admin/lab")
    priced = await client.post("/staff/admin/lab/tests/CBC", data={"csrf": csrf, "price": "399.50",
                                                                   "turnaround_hours": "8"}, headers=HTML)  # fmt: skip
    assert "done=test" in priced.headers["location"]
    limits = {"low": "11.5", "high": "15.5", "critical_low": "6.5", "critical_high": "20", "delta_percent": "25"}
    ranged = await client.post(f"/staff/admin/lab/ranges/{hb}", data={"csrf": csrf, **limits}, headers=HTML)
    assert "done=range" in ranged.headers["location"]
    backwards = await client.post(f"/staff/admin/lab/ranges/{hb}", data={
        "csrf": csrf, "low": "16", "high": "15.5", "critical_low": "", "critical_high": "", "delta_percent": "",
    }, headers=HTML)  # fmt: skip
    assert (
        "below+its+high+end" in backwards.headers["location"] or "below%20its%20high" in backwards.headers["location"]
    )
    async with pool.acquire() as conn:
        test = await conn.fetchrow("SELECT price_paise, turnaround_hours FROM test_catalogue WHERE code = 'CBC'")
        rng = await conn.fetchrow("SELECT low, critical_low FROM reference_ranges WHERE id = $1", hb)
        delta = await conn.fetchval("SELECT delta_percent FROM analytes WHERE code = '718-7'")
        audited = await conn.fetch(
            "SELECT action FROM audit_log WHERE action IN ('catalogue.set', 'reference_range.set') ORDER BY id"
        )
        actions = [r["action"] for r in audited]
    assert (test["price_paise"], test["turnaround_hours"]) == (39950, 8)
    assert (str(rng["low"]), str(rng["critical_low"]), str(delta)) == (
        "11.5",
        "6.5",
        "25",
    )  # the wrong one changed nothing
    assert actions == ["catalogue.set", "reference_range.set"]
    client.cookies.clear()
    await _sign_in(client, await _member(pool, Role.PATHOLOGIST))
    assert (await client.get("/staff/admin/lab", headers=HTML)).status_code == 403


async def test_an_administrator_adds_an_analyte_and_its_interval_and_results_are_judged_by_them(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    await _sign_in(client, await _member(pool, Role.ADMIN))
    csrf = await _csrf(client, "/staff/admin/analytes")
    esr = {"csrf": csrf, "code": "4537-7", "test_code": "CBC", "name": "ESR", "unit": "mm/h", "delta_percent": ""}
    added = await client.post("/staff/admin/analytes", data=esr, headers=HTML)
    page = (await client.get(added.headers["location"], headers=HTML)).text
    assert "Added: set its reference intervals" in page and 'id="analyte-4537-7"' in page
    moved = await client.post("/staff/admin/analytes", data={**esr, "test_code": "LFT"}, headers=HTML)
    assert "does not change" in unquote(moved.headers["location"])
    band = {"csrf": csrf, "analyte_code": "4537-7", "sex": "any", "age_min_years": "0", "age_max_years": "150"}
    first = await client.post("/staff/admin/lab/ranges", data=band, headers=HTML)
    assert "done=added" in first.headers["location"]
    again = await client.post("/staff/admin/lab/ranges", data={**band, "age_min_years": "60"}, headers=HTML)
    assert "It overlaps the interval for any, 0–150 years" in unquote(again.headers["location"])
    async with pool.acquire() as conn:
        range_id = await conn.fetchval("SELECT id FROM reference_ranges WHERE analyte_code = '4537-7'")
    limits = {"csrf": csrf, "low": "", "high": "20", "critical_low": "", "critical_high": "", "delta_percent": ""}
    await client.post(f"/staff/admin/lab/ranges/{range_id}", data=limits, headers=HTML)

    async with pool.acquire() as conn:  # the CBC now waits for its ESR, and the ESR is judged by the new interval
        tube = await _in_the_lab(conn, vault)
        await intake.receive(conn, vault, (
            f"MSH|^~\\&|HEMA|LAB|LABPULSE|LAB|20261207||ORU^R01|ESR-1|P|2.5.1\rPID|1||M\rOBR|1|{tube.barcode}\r"
            "OBX|1|NM|718-7^Hb^LN||13.5|g/dL|||||F\rOBX|2|NM|6690-2^WBC^LN||7.0|10*3/uL|||||F\r"
            "OBX|3|NM|777-3^PLT^LN||210|10*3/uL|||||F\rOBX|4|NM|789-8^RBC^LN||4.5|10*6/uL|||||F\r"
            "OBX|5|NM|4544-3^HCT^LN||40|%|||||F\r"
        ).encode())  # fmt: skip
        assert await conn.fetchval("SELECT state FROM samples WHERE id = $1", tube.id) != "completed"
        await intake.receive(conn, vault, (
            f"MSH|^~\\&|HEMA|LAB|LABPULSE|LAB|20261207||ORU^R01|ESR-2|P|2.5.1\rPID|1||M\rOBR|1|{tube.barcode}\r"
            "OBX|1|NM|4537-7^ESR^LN||45|mm/h|||||F\r"
        ).encode())  # fmt: skip
        esr_row = await conn.fetchrow("SELECT flag, reference_range FROM results WHERE code = '4537-7'")
        assert (esr_row["flag"], esr_row["reference_range"]) == ("H", "<20")
        assert await conn.fetchval("SELECT state FROM samples WHERE id = $1", tube.id) == "completed"
    removed = await client.post(f"/staff/admin/lab/ranges/{range_id}/remove", data={"csrf": csrf}, headers=HTML)
    assert "done=removed" in removed.headers["location"]
    async with pool.acquire() as conn:
        audited = await conn.fetch("SELECT action FROM audit_log WHERE entity_type IN ('analyte', 'reference_range') "
                                   "ORDER BY id")  # fmt: skip
        assert await conn.fetchval("SELECT count(*) FROM reference_ranges WHERE analyte_code = '4537-7'") == 0
    assert [a["action"] for a in audited] == ["analyte.added", "reference_range.added", "reference_range.set",
                                              "reference_range.removed"]  # fmt: skip


async def test_a_pathologist_corrects_a_result_with_a_reason_before_signing(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        tube = await _in_the_lab(conn, vault)
        await intake.receive(conn, vault, (
            f"MSH|^~\\&|HEMA|LAB|LABPULSE|LAB|20261121||ORU^R01|C-1|P|2.5.1\rPID|1||M\rOBR|1|{tube.barcode}\r"
            "OBX|1|NM|718-7^Hb^LN||8.0|g/dL|||||F\rOBX|2|NM|6690-2^WBC^LN||7.0|10*3/uL|||||F\r"
        ).encode())  # fmt: skip
        for step in (SampleState.PROCESSING, SampleState.COMPLETED):
            await samples.transition(conn, barcode=tube.barcode, to_state=step, actor=TECH, centre_id="LAB-1")
    await _sign_in(client, await _member(pool, Role.PATHOLOGIST))
    csrf = await _csrf(client, f"/staff/approvals/{tube.barcode}")
    base = f"/staff/approvals/{tube.barcode}/correct"
    no_reason = await client.post(f"{base}/718-7", data={"csrf": csrf, "value": "12.8", "reason": ""}, headers=HTML)
    assert "error=" in no_reason.headers["location"]
    why = "typed 8.0 for 12.8 at the analyzer"
    fixed = await client.post(f"{base}/718-7", data={"csrf": csrf, "value": "12.8", "reason": why}, headers=HTML)
    page = (await client.get(fixed.headers["location"], headers=HTML)).text
    assert "Corrected: sign again" in page and "12.8 g/dL" in page and "8.0 g/dL" not in page
    await client.post(f"{base}/6690-2", data={"csrf": csrf, "value": "1.0", "reason": "rerun on the second analyzer"},
                      headers=HTML)  # fmt: skip
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT code, value_num, flag, critical, notes, corrected_by FROM results"
            " WHERE status = 'corrected' ORDER BY id"
        )
        alerts = await conn.fetchval("SELECT count(*) FROM critical_alerts")
        audited = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'result.correct'")
    assert [(r["code"], str(r["value_num"]), r["flag"], r["critical"]) for r in rows] == [
        ("718-7", "12.8", "N", False), ("6690-2", "1.0", "LL", True),
    ]  # fmt: skip
    assert rows[0]["notes"] == ["Corrected: typed 8.0 for 12.8 at the analyzer"]
    assert rows[0]["corrected_by"].startswith("staff:") and (alerts, audited) == (1, 2)  # a critical correction alerts


async def test_an_uncertain_notice_is_settled_as_arrived_or_sent_again(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault, files: LocalFileStore
) -> None:
    async with pool.acquire() as conn:
        barcode, pathologist = await completed_tube(conn, vault)
        out = await reports.issue(conn, vault, REPORT_KEY, barcode=barcode, actor=pathologist, verify_base="https://x")
    await render.render(pool, vault, files, str(out["report_id"]))
    async with pool.acquire() as conn:  # the provider never answered: nobody knows whether the patient got it
        await conn.execute("UPDATE deliveries SET status = 'uncertain'")
        notice = await conn.fetchval("SELECT id FROM deliveries")
    await _sign_in(client, await _member(pool, Role.ADMIN))
    page = (await client.get("/staff/operations", headers=HTML)).text
    assert f'id="notice-{notice}"' in page and "Send it again" in page
    csrf = await _csrf(client, "/staff/operations")
    again = await client.post(f"/staff/operations/notices/{notice}", data={"csrf": csrf, "arrived": "no"},
                              headers=HTML)  # fmt: skip
    assert "done=resent" in again.headers["location"]
    twice = await client.post(f"/staff/operations/notices/{notice}", data={"csrf": csrf, "arrived": "yes"},
                              headers=HTML)  # fmt: skip
    assert "error=settled" in twice.headers["location"]  # it is pending again, no longer uncertain
    async with pool.acquire() as conn:
        status = await conn.fetchval("SELECT status FROM deliveries WHERE id = $1", notice)
        queued = await conn.fetchval("SELECT count(*) FROM pgqueuer WHERE entrypoint = 'reports.deliver'")
        settled = await conn.fetchval("SELECT summary FROM audit_log WHERE action = 'notice.settle'")
    assert (status, queued >= 1, json.loads(settled) if isinstance(settled, str) else settled) == (
        "pending",
        True,
        {"arrived": False},
    )


async def test_an_administrator_adds_a_centre_with_the_pincodes_its_team_visits(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await _sign_in(client, await _member(pool, Role.ADMIN))
    csrf = await _csrf(client, "/staff/admin/centres")
    centre = {"csrf": csrf, "id": "cc-andheri", "name": "Andheri Collection Centre", "kind": "collection",
              "city": "Mumbai", "pincodes": "400053, 400058", "name_mr": "अंधेरी कलेक्शन सेंटर", "name_hi": " "}  # fmt: skip
    saved = await client.post("/staff/admin/centres", data=centre, headers=HTML)
    assert "done=saved" in saved.headers["location"]
    page = (await client.get("/staff/admin/centres", headers=HTML)).text
    assert re.search(r'id="centre-CC-ANDHERI".*<td>400053, 400058</td>', page)
    assert '<span lang="mr">अंधेरी कलेक्शन सेंटर</span>' in page  # its name in Marathi; none given in Hindi
    async with pool.acquire() as conn:
        assert await catalogue.centre_name(conn, "CC-ANDHERI", "mr") == "अंधेरी कलेक्शन सेंटर"
        assert await catalogue.centre_name(conn, "CC-ANDHERI", "hi") == "Andheri Collection Centre"
    bad = await client.post("/staff/admin/centres", data={**centre, "pincodes": "4000"}, headers=HTML)
    assert "six-digit" in unquote(bad.headers["location"])
    marathi = await client.post("/staff/admin/centres?lang=mr", data={**centre, "kind": "shop"}, headers=HTML)
    said = unquote(marathi.headers["location"])  # the refusal, in the staff page's language
    assert i18n.text("mr", "error:centre_collection_centre_lab") in said and "collection centre" not in said
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM served_pincodes WHERE centre_id = 'CC-ANDHERI'") == 2
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'centre.set'") == 1


async def test_no_page_shows_a_pathologist_another_labs_patient(
    client: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    """A pathologist tied to one lab neither lists, opens, previews, corrects nor signs a tube at another: to them it
    is a barcode that does not exist, and its patient's name appears nowhere."""
    tubes = {}
    async with pool.acquire() as conn:
        await upsert_centre(conn, Centre("LAB-2", "Second Lab", "lab", "Pune"))
        for lab, name in (("LAB-1", "Asha Firstlab"), ("LAB-2", "Bina Secondlab")):
            person = await make_patient(conn, vault, phone=f"+91980006{len(tubes)}000", name=name)
            tube = await make_sample(conn, vault, patient=person)
            await samples.transition(conn, barcode=tube.barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH,
                                     centre_id=lab)  # fmt: skip
            await intake.receive(conn, vault, (
                f"MSH|^~\\&|HEMA|LAB|LABPULSE|LAB|20261207||ORU^R01|LEAK-{lab}|P|2.5.1\rPID|1||M\rOBR|1|{tube.barcode}\r"
                "OBX|1|NM|718-7^Hb^LN||13.0|g/dL|||||F\rOBX|2|NM|6690-2^WBC^LN||7.0|10*3/uL|||||F\r"
            ).encode())  # fmt: skip
            for step in (SampleState.PROCESSING, SampleState.COMPLETED):
                await samples.transition(conn, barcode=tube.barcode, to_state=step, actor=TECH, centre_id=lab)
            tubes[lab] = tube.barcode
    await _sign_in(client, await _member(pool, Role.PATHOLOGIST, centre_id="LAB-2"))
    listed = (await client.get("/staff/approvals", headers=HTML)).text
    assert tubes["LAB-2"] in listed and tubes["LAB-1"] not in listed
    mine = (await client.get(f"/staff/approvals/{tubes['LAB-2']}", headers=HTML)).text
    assert "Bina Secondlab" in mine
    theirs = tubes["LAB-1"]
    csrf = await _csrf(client, "/staff/approvals")
    seen = [
        await client.get(f"/staff/approvals/{theirs}", headers=HTML),
        await client.get(f"/staff/approvals/{theirs}/preview.pdf", headers=HTML),
        await client.post(f"/staff/approvals/{theirs}/correct/718-7", data={"csrf": csrf, "value": "9",
                                                                            "reason": "re-run"}, headers=HTML),
        await client.post(f"/staff/approvals/{theirs}/approve", data={"csrf": csrf}, headers=HTML),
    ]  # fmt: skip
    assert [r.status_code for r in seen] == [404, 404, 303, 303]
    assert all("Asha" not in r.text and "Firstlab" not in r.text for r in seen)
    assert all("error=" in r.headers["location"] for r in seen[2:])
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM results WHERE status = 'corrected'") == 0
        assert await conn.fetchval("SELECT state FROM samples WHERE barcode = $1", theirs) == "completed"
        assert await conn.fetchval("SELECT count(*) FROM reports") == 0
