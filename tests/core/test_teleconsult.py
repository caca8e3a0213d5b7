"""Teleconsults in core: doctors' slots, booking (one winner for a slot), join links (window, first device keeps
it, a forwarded link is refused), consent gating the transcript, the encrypted and audited transcript, the note
(draft → signed, immutable even to SQL, amendments as new versions) and the patient's recent labs beside it."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest

from core.errors import InvalidInput, PermissionDenied
from core.identity import Actor, Role
from core.labtime import LAB_TZ
from core.samples.model import SampleState
from core.staff import service as staff
from core.storage import LocalFileStore
from core.teleconsult import labs, notes, service, slots, transcript
from core.vault import Vault
from tests.core.test_reports import _completed, released
from tests.support.factories import SYSTEM

PHONE = "+919812340000"
DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


async def _doctor(conn: asyncpg.Connection, username: str = "dr.meera") -> Actor:
    member = await staff.add(conn, username=username, display_name=f"Dr {username[3:].title()}", role=Role.DOCTOR,
                             password="x" * 12, actor=SYSTEM)  # fmt: skip
    return member.actor


async def _booked(conn: asyncpg.Connection, vault: Vault, **kwargs: object) -> tuple[service.Booked, Actor]:
    doctor = await _doctor(conn)
    await slots.ensure(conn, DAY, days=0)
    slot = (await slots.open_slots(conn, DAY, NOW))[0]
    booked = await service.book(
        conn,
        vault,
        phone=PHONE,
        slot_id=slot.id,
        channel="portal",
        now=NOW,
        **kwargs,  # type: ignore[arg-type]
    )
    return booked, doctor


async def test_slots_are_made_once_for_each_doctor(conn: asyncpg.Connection) -> None:
    await _doctor(conn, "dr.one")
    await _doctor(conn, "dr.two")
    first = await slots.ensure(conn, DAY, days=1)
    assert first == 2 * 2 * 20  # two doctors, two days, 12 morning + 8 evening quarter hours
    assert await slots.ensure(conn, DAY, days=1) == 0
    free = await slots.open_slots(conn, DAY, NOW)
    assert free[0].starts_at.astimezone(LAB_TZ).time() == time(10, 0)  # the morning clinic opens the day
    assert {s.doctor_name for s in free} == {"Dr One", "Dr Two"}


async def test_ten_people_racing_for_one_slot_give_one_consult(pool: asyncpg.Pool, vault: Vault) -> None:
    async with pool.acquire() as conn:
        await _doctor(conn)
        await slots.ensure(conn, DAY, days=0)
        slot = (await slots.open_slots(conn, DAY, NOW))[0]

    async def attempt(i: int) -> str:
        async with pool.acquire() as c:
            try:
                await service.book(c, vault, phone=f"+91981234{i:04d}", slot_id=slot.id, channel="portal", now=NOW)
            except service.ConsultSlotTaken:
                return "taken"
            return "booked"

    outcomes = await asyncio.gather(*(attempt(i) for i in range(10)))
    assert sorted(outcomes).count("booked") == 1
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM consults") == 1
        assert await conn.fetchval("SELECT count(*) FROM pgqueuer WHERE entrypoint = 'consult.remind'") == 1


async def test_a_join_link_opens_in_its_window_and_stays_with_the_first_device(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    booked, _ = await _booked(conn, vault)
    start = booked.consult.starts_at
    with pytest.raises(service.JoinLinkNotYet):
        await service.join(conn, vault, booked.patient_link, "phone-A", now=start - timedelta(minutes=30))
    grant = await service.join(conn, vault, booked.patient_link, "phone-A", now=start - timedelta(minutes=5))
    assert grant.side == "patient" and grant.consult.id == booked.consult.id
    # The same phone rejoins after a dropped call; a forwarded link on another phone is refused, and audited.
    assert (await service.join(conn, vault, booked.patient_link, "phone-A", now=start)).side == "patient"
    with pytest.raises(service.JoinLinkOtherDevice) as other:
        await service.join(conn, vault, booked.patient_link, "phone-B", now=start)
    assert "another phone" in other.value.message
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'consult.join' AND outcome = "
                               "'other_device'") == 1  # fmt: skip
    doctor = await service.join(conn, vault, booked.doctor_link, "laptop-D", now=start)
    assert doctor.side == "doctor" and doctor.actor().role == Role.DOCTOR
    with pytest.raises(service.JoinLinkClosed):
        await service.join(conn, vault, booked.patient_link, "phone-A", now=start + timedelta(hours=2))
    with pytest.raises(service.JoinLinkInvalid):
        await service.join(conn, vault, "x" * 32, "phone-A", now=start)
    # Links are kept only as hashes: the table holds neither link in the clear.
    raw = await conn.fetch("SELECT token_hash, token_enc FROM consult_links")
    assert all(booked.patient_link.encode() not in bytes(r["token_hash"]) + bytes(r["token_enc"]) for r in raw)
    assert await service.link_token(conn, vault, booked.consult.id, "patient") == booked.patient_link


async def test_a_cancelled_consult_frees_its_slot_and_closes_its_links(conn: asyncpg.Connection, vault: Vault) -> None:
    booked, _ = await _booked(conn, vault)
    await service.cancel(conn, vault, phone=PHONE, consult_id=booked.consult.id)
    with pytest.raises(service.JoinLinkClosed):
        await service.join(conn, vault, booked.patient_link, "phone-A", now=datetime.now(UTC))
    assert await conn.fetchval("SELECT booked FROM consult_slots WHERE id = (SELECT slot_id FROM consults)") is False


async def test_nothing_is_transcribed_until_both_sides_consent(conn: asyncpg.Connection, vault: Vault) -> None:
    booked, doctor = await _booked(conn, vault)
    consult = booked.consult
    patient = service.JoinGrant(consult, "patient").actor()
    assert await transcript.add_line(conn, vault, consult.id, "patient", 0, 900, "I have had fever") is None
    await transcript.set_consent(conn, consult, "patient", True, actor=patient)
    assert await transcript.add_line(conn, vault, consult.id, "patient", 0, 900, "I have had fever") is None
    await transcript.set_consent(conn, consult, "doctor", True, actor=doctor)
    first = await transcript.add_line(conn, vault, consult.id, "patient", 0, 900, "I have had fever for four days")
    second = await transcript.add_line(conn, vault, consult.id, "doctor", 1000, 2000, "Any chest pain?")
    assert first is not None and second is not None and (first.seq, second.seq) == (1, 2)
    await transcript.set_consent(conn, consult, "patient", False, actor=patient)  # withdrawn: the transcript stops
    assert await transcript.add_line(conn, vault, consult.id, "patient", 2100, 2500, "No") is None
    consent_rows = await conn.fetch("SELECT outcome FROM audit_log WHERE action = 'consult.consent' ORDER BY id")
    assert [r["outcome"] for r in consent_rows] == ["given", "given", "withdrawn"]
    # Encrypted at rest; read only by the consult's own doctor, and every read audited.
    assert b"fever" not in b"".join(
        bytes(r["text_enc"]) for r in await conn.fetch("SELECT text_enc FROM consult_lines")
    )
    lines = await transcript.read(conn, vault, consult, actor=doctor)
    assert [(line.speaker, line.text) for line in lines] == [
        ("patient", "I have had fever for four days"),
        ("doctor", "Any chest pain?"),
    ]
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'consult.transcript.read'") == 1
    other = await _doctor(conn, "dr.other")
    for outsider in (other, patient):
        with pytest.raises(PermissionDenied):
            await transcript.read(conn, vault, consult, actor=outsider)


BODY = {
    "subjective": [{"text": "Fever for 4 days.", "sources": [1]}, {"text": "Denies chest pain.", "sources": [2, 3]}],
    "objective": [{"text": "Temperature 101 F.", "sources": [4]}],
    "assessment": [{"text": "Likely viral fever; rule out dengue.", "sources": [5]}],
    "plan": [{"text": "CBC and dengue NS1.", "sources": [6]}],
    "tests": [{"name": "CBC", "code": "CBC"}, {"name": "Dengue NS1", "code": None}],
}


async def test_a_signed_note_never_changes_and_an_amendment_is_a_new_version(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    booked, doctor = await _booked(conn, vault)
    consult = booked.consult
    draft = await notes.save_draft(conn, vault, consult, BODY, actor=doctor)
    assert (draft.version, draft.status) == (1, "draft")
    edited = {**BODY, "plan": [*BODY["plan"], {"text": "Paracetamol 500 mg when needed.", "sources": [7]}]}
    draft = await notes.save_draft(conn, vault, consult, edited, actor=doctor)
    assert draft.version == 1 and len(draft.body["plan"]) == 2
    signed = await notes.sign(conn, vault, consult, version=1, actor=doctor)
    assert signed.status == "signed" and signed.content_hash and f"staff:{signed.signed_by}" == doctor.id
    assert await conn.fetchval("SELECT status FROM consults") == "completed"
    with pytest.raises(notes.NoteSigned):
        await notes.save_draft(conn, vault, consult, BODY, actor=doctor)
    with pytest.raises(notes.NoteSigned):
        await notes.sign(conn, vault, consult, version=1, actor=doctor)
    # Not even SQL can change or delete a signed note.
    for sql in ("UPDATE consult_notes SET body_enc = ''::bytea", "DELETE FROM consult_notes"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(sql)
    amendment = await notes.amend(conn, vault, consult, actor=doctor)
    assert (amendment.version, amendment.status, amendment.amends) == (2, "draft", 1)
    assert amendment.body == signed.body
    with pytest.raises(notes.NoteChanged):
        await notes.sign(conn, vault, consult, version=1, actor=doctor)
    assert (await notes.sign(conn, vault, consult, version=2, actor=doctor)).status == "signed"
    actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log WHERE action LIKE "
                                                     "'consult.note.%' ORDER BY id")]  # fmt: skip
    assert actions == ["consult.note.save", "consult.note.save", "consult.note.sign", "consult.note.amend",
                       "consult.note.sign"]  # fmt: skip
    assert b"dengue" not in b"".join(bytes(r[0]) for r in await conn.fetch("SELECT body_enc FROM consult_notes"))
    with pytest.raises(PermissionDenied):
        await notes.save_draft(conn, vault, consult, BODY, actor=await _doctor(conn, "dr.other"))


@pytest.mark.parametrize(
    ("body", "field"),
    [([], "body"), ({"subjective": "fever"}, "subjective"), ({"plan": [{"sources": [1]}]}, "plan"),
     ({"plan": [{"text": "x", "sources": ["1"]}]}, "plan"), ({"plan": [{"text": "x" * 2001}]}, "plan"),
     ({"diagnosis": []}, "body"), ({"tests": [{"code": "CBC"}]}, "tests")],
)  # fmt: skip
def test_a_malformed_note_is_refused_clearly(body: object, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        notes.validate(body)
    assert caught.value.field == field and caught.value.message


async def test_the_doctor_sees_the_patients_recent_released_results(
    conn: asyncpg.Connection, vault: Vault, files: LocalFileStore
) -> None:
    barcode, pathologist = await _completed(conn, vault)
    await released(conn, vault, files, barcode, pathologist)
    patient_id = await conn.fetchval("SELECT patient_id FROM samples WHERE barcode = $1", barcode)
    booked, doctor = await _booked(conn, vault, patient_id=str(patient_id))
    results = await labs.recent(conn, booked.consult, actor=doctor)
    by_test = {r.test: r for r in results}
    assert by_test["Hemoglobin"].value == "10.1" and by_test["Hemoglobin"].flag == "L"
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'consult.labs.read'") == 1
    # A tube not yet released is not shown: put this one back (as a corrected result would) and it disappears.
    await conn.execute("UPDATE samples SET state = $2 WHERE barcode = $1", barcode, SampleState.COMPLETED.value)
    assert await labs.recent(conn, booked.consult, actor=doctor) == []


async def test_each_side_gets_its_own_join_link_right_after_booking(pool: asyncpg.Pool, vault: Vault) -> None:
    from core.teleconsult import messages
    from tests.support.inbox import Inbox

    async with pool.acquire() as conn:
        booked, _ = await _booked(conn, vault, reason="fever for three days")
        assert await conn.fetchval("SELECT count(*) FROM pgqueuer WHERE entrypoint = 'consult.links'") == 1
    patient, doctor = Inbox(), Inbox()
    outcomes = await messages.links(pool, vault, {"sms": patient}, {"sms": doctor}, booked.consult.id, "https://l.ex")
    assert outcomes == ("sent", "no_contact")  # the doctor has no phone on file yet: said, audited, not silent
    assert [(to, f"https://l.ex/consult/join/{booked.patient_link}" in text) for to, text, _ in patient.sent] == [
        (PHONE, True)
    ]
    async with pool.acquire() as conn:
        await staff.set_contact(conn, vault, username="dr.meera", phone="98000 77777", channel="sms", actor=SYSTEM)
    outcomes = await messages.links(pool, vault, {"sms": patient}, {"sms": doctor}, booked.consult.id, "https://l.ex")
    assert outcomes[1] == "sent"
    [(to, text, purpose)] = doctor.sent
    assert to == "+919800077777" and purpose == "consult.doctor_link"
    assert f"https://l.ex/consult/join/{booked.doctor_link}" in text and booked.patient_link not in text
    assert booked.consult.ref in text and "fever" not in text  # nothing about the patient in the doctor's SMS
    async with pool.acquire() as conn:
        audited = await conn.fetch("SELECT outcome FROM audit_log WHERE action = 'consult.doctor_link' ORDER BY id")
    assert [r["outcome"] for r in audited] == ["no_contact", "sent"]


async def test_the_draft_takes_he_or_she_from_the_record_for_the_consults_doctor_only(
    conn: asyncpg.Connection, vault: Vault, files: LocalFileStore
) -> None:
    barcode, _ = await _completed(conn, vault)
    patient_id = str(await conn.fetchval("SELECT patient_id FROM samples WHERE barcode = $1", barcode))
    booked, doctor = await _booked(conn, vault, patient_id=patient_id)
    await conn.execute("UPDATE patients SET sex = 'female' WHERE id = $1", patient_id)
    assert await service.patient_sex(conn, booked.consult, actor=doctor) == "female"
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'consult.patient.read'") == 1
    await conn.execute("UPDATE patients SET sex = 'unknown' WHERE id = $1", patient_id)
    assert await service.patient_sex(conn, booked.consult, actor=doctor) is None
    other = await _doctor(conn, "dr.kabir")
    with pytest.raises(PermissionDenied):
        await service.patient_sex(conn, booked.consult, actor=other)
