"""Critical values: raised from intake, escalated on a controllable clock (on-duty doctor → next doctor → lab
manager, then the manager again), acknowledged once, audited at every step; the patient is asked, calmly, to
expect a call and never sees the word "critical"."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from core import critical, tracking
from core.errors import Conflict, InvalidInput
from core.hl7 import intake
from core.identity import Actor, Role
from core.samples import service as samples
from core.samples.model import SampleState
from core.staff import service as staff
from core.vault import Vault
from tests.support.factories import SYSTEM, TECH, make_patient, make_sample
from tests.support.inbox import Inbox

CHAIN = [("Dr On Duty", "+919800011111"), ("Dr Next", "+919800022222"), ("Lab Manager", "+919800033333")]


async def _setup(conn: asyncpg.Connection, vault: Vault) -> tuple[str, str]:
    people = []
    for i, (label, phone) in enumerate(CHAIN):
        member = await staff.add(
            conn, username=f"chain{i}", display_name=label, role=Role.DOCTOR, password="x" * 12, actor=SYSTEM
        )
        people.append(critical.ChainMember(member.id, label, phone))
    await critical.set_chain(conn, vault, people)
    patient = await make_patient(conn, vault, phone="+919800044444")
    sample = await make_sample(conn, vault, patient=patient)
    await samples.transition(
        conn, barcode=sample.barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1"
    )
    oru = (
        "MSH|^~\\&|CHEM|LAB|LABPULSE|LAB|20261121||ORU^R01|K-1|P|2.5.1\rPID|1||M\r"
        f"OBR|1|{sample.barcode}||CBC\rOBX|1|NM|6690-2^WBC^LN||1.2|10*3/uL||||||F\r"
    )
    [out] = await intake.receive(conn, vault, oru.encode())
    assert out.ack_code == "AA"
    return patient.id, sample.id


async def test_escalation_climbs_the_chain_until_acknowledged(conn: asyncpg.Connection, vault: Vault) -> None:
    _, sample_id = await _setup(conn, vault)
    alert = await conn.fetchrow("SELECT id, created_at FROM critical_alerts WHERE sample_id = $1", sample_id)
    alert_id, t0 = alert["id"], alert["created_at"]  # the clock starts when intake raised it
    inbox = Inbox()
    timeline = []
    for minutes in (0, 5, 10, 19, 20, 30):
        sent = await critical.tick(conn, vault, {"sms": inbox}, t0 + timedelta(minutes=minutes))
        timeline.append((minutes, [position for _, position in sent]))
    assert timeline == [(0, [1]), (5, []), (10, [2]), (19, []), (20, [3]), (30, [3])]
    assert [to for to, _, _ in inbox.sent] == [CHAIN[0][1], CHAIN[1][1], CHAIN[2][1], CHAIN[2][1]]
    assert "WBC 1.2" in inbox.sent[0][1] and f"alert {alert_id}" in inbox.sent[0][1]

    doctor = (await conn.fetchrow("SELECT id::text FROM staff WHERE username = 'chain1'"))["id"]
    await critical.acknowledge(conn, alert_id, Actor(f"staff:{doctor}", Role.DOCTOR), t0 + timedelta(minutes=31))
    assert await critical.tick(conn, vault, {"sms": inbox}, t0 + timedelta(minutes=60)) == []
    with pytest.raises(Conflict):
        await critical.acknowledge(conn, alert_id, Actor(f"staff:{doctor}", Role.DOCTOR), t0)
    steps = await conn.fetch(
        "SELECT action, summary->>'position' AS position FROM audit_log "
        "WHERE entity_type = 'critical_alert' ORDER BY id"
    )
    assert [(s["action"], s["position"]) for s in steps] == [
        ("critical.raised", None),
        ("critical.notified", "1"),
        ("critical.notified", "2"),
        ("critical.notified", "3"),
        ("critical.notified", "3"),
        ("critical.acknowledged", None),
    ]


async def test_the_patient_is_asked_calmly_to_expect_a_call(conn: asyncpg.Connection, vault: Vault) -> None:
    patient_id, _ = await _setup(conn, vault)
    lookup = vault.lookup.digest("phone", "+919800044444").hex()
    snap = await tracking.snapshot(conn, lookup, patient_id)
    assert snap.samples[0].call_expected is True
    assert "critical" not in str(snap.samples[0].to_json()).lower()


async def test_each_person_is_reached_on_their_channel_with_sms_as_the_fallback(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    await _setup(conn, vault)
    await critical.set_chain_by_username(
        conn,
        vault,
        [
            critical.ChainEntry("chain0", "98000 11111", "telegram"),
            critical.ChainEntry("chain1", "9800022222", "whatsapp"),
        ],
        Actor.system("tests"),
    )
    alert = await conn.fetchrow("SELECT id, created_at FROM critical_alerts")
    telegram, sms = Inbox(), Inbox()
    await critical.tick(conn, vault, {"telegram": telegram, "sms": sms}, alert["created_at"])
    await critical.tick(conn, vault, {"telegram": telegram, "sms": sms}, alert["created_at"] + timedelta(minutes=10))
    assert [to for to, _, _ in telegram.sent] == ["+919800011111"]  # the on-duty doctor on Telegram
    assert [to for to, _, _ in sms.sent] == ["+919800022222"]  # no WhatsApp here: SMS instead
    with pytest.raises(critical.NoChannel):  # nothing to send with: the tick fails (and rolls back), never silent
        await critical.tick(conn, vault, {}, alert["created_at"] + timedelta(minutes=20))
    assert await conn.fetchval("SELECT level FROM critical_alerts") == 2
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'critical.chain_set'") == 2


async def test_the_chain_takes_only_active_clinical_accounts_and_valid_phones(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    await staff.add(conn, username="tech1", display_name="Tech", role=Role.LAB_TECHNICIAN, password="x" * 12,
                    actor=SYSTEM)  # fmt: skip
    await staff.add(conn, username="doc1", display_name="Dr One", role=Role.DOCTOR, password="x" * 12, actor=SYSTEM)
    for entries, field in (
        ([critical.ChainEntry("nobody", "9800011111")], "username"),
        ([critical.ChainEntry("tech1", "9800011111")], "username"),
        ([critical.ChainEntry("doc1", "12")], "phone"),
        ([critical.ChainEntry("doc1", "9800011111", "pager")], "channel"),
        ([], "chain"),
    ):
        with pytest.raises(InvalidInput) as refused:
            await critical.set_chain_by_username(conn, vault, entries, Actor.system("tests"))
        assert refused.value.field == field
    assert await critical.chain_size(conn) == 0
    people = await critical.set_chain_by_username(
        conn, vault, [critical.ChainEntry("DOC1", "098000 11111")], Actor.system("tests")
    )
    assert [(p.label, p.phone, p.channel) for p in people] == [("Dr One", "+919800011111", "sms")]
    assert await critical.chain(conn, vault) == people
