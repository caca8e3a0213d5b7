"""Critical values: raised from intake, escalated on a controllable clock (on-duty doctor → next doctor → lab
manager, then the manager again), acknowledged once, audited at every step; the patient is asked, calmly, to
expect a call and never sees the word "critical"."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from core import critical, tracking
from core.errors import Conflict
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
        people.append((member.id, label, phone))
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
        sent = await critical.tick(conn, vault, inbox, t0 + timedelta(minutes=minutes))
        timeline.append((minutes, [position for _, position in sent]))
    assert timeline == [(0, [1]), (5, []), (10, [2]), (19, []), (20, [3]), (30, [3])]
    assert [to for to, _, _ in inbox.sent] == [CHAIN[0][1], CHAIN[1][1], CHAIN[2][1], CHAIN[2][1]]
    assert "WBC 1.2" in inbox.sent[0][1] and f"alert {alert_id}" in inbox.sent[0][1]

    doctor = (await conn.fetchrow("SELECT id::text FROM staff WHERE username = 'chain1'"))["id"]
    await critical.acknowledge(conn, alert_id, Actor(f"staff:{doctor}", Role.DOCTOR), t0 + timedelta(minutes=31))
    assert await critical.tick(conn, vault, inbox, t0 + timedelta(minutes=60)) == []
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
