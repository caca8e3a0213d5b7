"""Applying HL7 messages to samples through real PostgreSQL: AA and typed results, a repeated control id applied
once, AE for an unknown barcode or a sample not in the lab (kept for review), AR for the unreadable."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest

from core.errors import InvalidInput
from core.hl7 import intake, review
from core.identity import Actor, Role
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault
from tests.support.factories import PHLEB, TECH, make_sample

S = SampleState


def _oru(barcode: str, control: str = "CTRL-1", value: str = "13.5") -> bytes:
    return (
        "MSH|^~\\&|HEMA-1|LAB-MAIN|LABPULSE|LAB|20261121101500||ORU^R01|" + control + "|P|2.5.1\r"
        "PID|1||MRN-1\r"
        f"OBR|1|{barcode}||CBC^Complete blood count\r"
        f"OBX|1|NM|718-7^Hemoglobin^LN||{value}|g/dL|12.0-15.5|N|||F\r"
        "OBX|2|NM|6690-2^WBC^LN||<0.1|10*3/uL|4.0-11.0|LL|||F\r"
    ).encode()


async def _in_lab(conn: asyncpg.Connection, vault: Vault) -> str:
    sample = await make_sample(conn, vault)
    await samples.transition(conn, barcode=sample.barcode, to_state=S.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1")
    return sample.barcode


async def test_results_are_stored_typed_and_acked_aa(conn: asyncpg.Connection, vault: Vault) -> None:
    barcode = await _in_lab(conn, vault)
    [out] = await intake.receive(conn, vault, _oru(barcode))
    assert (out.ack_code, out.control_id, out.duplicate) == ("AA", "CTRL-1", False)
    rows = await conn.fetch(
        "SELECT code, value_kind, value_num, comparator, unit, flag, status FROM results ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        ("718-7", "numeric", Decimal("13.5"), None, "g/dL", "N", "final"),
        ("6690-2", "numeric", Decimal("0.1"), "<", "10*3/uL", "LL", "final"),
    ]
    stored = await conn.fetchrow("SELECT raw_enc, outcome, results FROM hl7_messages")
    assert (stored["outcome"], stored["results"]) == ("stored", 2)
    assert b"Hemoglobin" not in bytes(stored["raw_enc"])  # raw message encrypted at rest


async def test_the_same_control_id_from_the_same_sender_is_applied_once(conn: asyncpg.Connection, vault: Vault) -> None:
    barcode = await _in_lab(conn, vault)
    first = await intake.receive(conn, vault, _oru(barcode))
    again = await intake.receive(conn, vault, _oru(barcode, value="99"))  # a resend, even if altered
    assert [o.ack_code for o in first + again] == ["AA", "AA"] and again[0].duplicate
    assert await conn.fetchval("SELECT count(*) FROM results") == 2
    assert await conn.fetchval("SELECT count(*) FROM hl7_messages") == 1


async def test_an_unknown_barcode_is_ae_and_waits_for_review(conn: asyncpg.Connection, vault: Vault) -> None:
    [out] = await intake.receive(conn, vault, _oru("NO-SUCH-TUBE"))
    assert out.ack_code == "AE" and "NO-SUCH-TUBE" in out.text
    row = await conn.fetchrow("SELECT ack_code, outcome, reviewed_at FROM hl7_messages")
    assert tuple(row) == ("AE", "rejected:unknown_barcode", None)
    assert await conn.fetchval("SELECT count(*) FROM results") == 0


async def test_a_sample_not_yet_in_the_lab_cannot_take_results(conn: asyncpg.Connection, vault: Vault) -> None:
    sample = await make_sample(conn, vault)
    await samples.transition(conn, barcode=sample.barcode, to_state=S.IN_TRANSIT, actor=PHLEB, centre_id="CC-1")
    [out] = await intake.receive(conn, vault, _oru(sample.barcode))
    assert out.ack_code == "AE" and "in_transit" in out.text


async def test_unreadable_bytes_are_kept_and_answered_ar(conn: asyncpg.Connection, vault: Vault) -> None:
    [out] = await intake.receive(conn, vault, b"\x00\xffthis is not HL7")
    assert out.ack_code == "AR"
    assert await conn.fetchval("SELECT outcome FROM hl7_messages") == "unreadable"


async def test_what_the_listener_does_not_take_is_refused_with_the_hl7_error(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    """AR with table 0357's code: a message type (200), a trigger event (201), a processing id (202), a version
    (203); an ORU with no OBX (100). Each is kept for review, with why."""
    oru = "MSH|^~\\&|LIS|H|LABPULSE|LAB|2026||{type}|{control}|{pid}|{version}\rPID|1||X\rOBR|1|T-1\r{obx}"
    obx = "OBX|1|NM|718-7^Hb^LN||13|g/dL|||||F\r"
    cases = [
        (dict(type="QRY^A19", pid="P", version="2.5"), "200", "rejected:message_type"),
        (dict(type="ORU^R30", pid="P", version="2.5"), "201", "rejected:trigger_event"),
        (dict(type="ORU^R01", pid="X", version="2.5"), "202", "rejected:processing_id"),
        (dict(type="ORU^R01", pid="P", version="3.0"), "203", "rejected:version"),
    ]
    for n, (fields, code, outcome) in enumerate(cases):
        [out] = await intake.receive(conn, vault, oru.format(control=f"R-{n}", obx=obx, **fields).encode())
        assert (out.ack_code, out.error and out.error.code) == ("AR", code), (fields, out)
        stored = await conn.fetchrow("SELECT outcome, detail FROM hl7_messages WHERE control_id = $1", f"R-{n}")
        assert stored["outcome"] == outcome and stored["detail"]
    [out] = await intake.receive(conn, vault, oru.format(type="ORU^R01", pid="P", version="2.5.1", control="R-9",
                                                         obx="").encode())  # fmt: skip
    assert (out.ack_code, out.error and out.error.code) == ("AR", "100")
    assert len(await review.review_queue(conn)) == 5


async def test_a_held_message_is_reapplied_once_the_tube_exists(conn: asyncpg.Connection, vault: Vault) -> None:
    tech = Actor("staff:tech", Role.LAB_TECHNICIAN)
    sample = await make_sample(conn, vault, barcode="LATE-TUBE-01")
    [held] = await intake.receive(conn, vault, _oru("LATE-TUBE-01"))  # still collected: not in the lab yet
    assert held.ack_code == "AE" and [m["id"] for m in await review.review_queue(conn)] == [held.message_id]
    await samples.transition(conn, barcode=sample.barcode, to_state=S.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1")
    again = await review.reapply(conn, vault, str(held.message_id), actor=tech)
    assert again.ack_code == "AA" and await review.review_queue(conn) == []
    assert await conn.fetchval("SELECT count(*) FROM results") == 2
    # its critically low white count raises the alert it would have raised on arrival, audited
    assert await conn.fetchval("SELECT count(*) FROM critical_alerts") == 1
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'critical.raised'") == 1
    with pytest.raises(InvalidInput, match="applied already"):
        await review.reapply(conn, vault, str(held.message_id), actor=tech)


@pytest.mark.parametrize("raw", ["^NaN", "^Infinity", "^1e999999999", ">^1e-40", "^99999999999999999"])
async def test_numbers_no_column_can_hold_are_kept_as_text(conn: asyncpg.Connection, vault: Vault, raw: str) -> None:
    barcode = await _in_lab(conn, vault)
    msg = f"MSH|^~\\&|H|L|LP|L|2026||ORU^R01|ODD-1|P|2.5.1\rOBR|1|{barcode}\rOBX|1|SN|718-7^Hb||{raw}|g/dL|||||F\r"
    [outcome] = await intake.receive(conn, vault, msg.encode())
    assert outcome.ack_code == "AA"
    row = await conn.fetchrow("SELECT value_kind, value_num, value_text FROM results")
    assert row["value_kind"] == "text" and row["value_num"] is None and row["value_text"]


async def test_a_group_is_stored_in_one_go_and_each_message_answered_in_order(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    """What the listener hands over when several analyzers send at once: one outcome list per block, in order, as
    if each had come alone; a control id repeated inside the group is a duplicate of its first message."""
    first, second = await _in_lab(conn, vault), await _in_lab(conn, vault)
    batch = b"FHS|^~\\&\rBHS|^~\\&\r" + _oru(second, "G-3") + _oru(first, "G-1", value="99")
    answers = await intake.receive_many(
        conn, vault, [_oru(first, "G-1"), b"\x00garbage", _oru("NO-SUCH-TUBE", "G-2"), batch, _oru(second, "G-1")]
    )
    assert [[(o.ack_code, o.control_id, o.duplicate) for o in block] for block in answers] == [
        [("AA", "G-1", False)],
        [("AR", "", False)],
        [("AE", "G-2", False)],
        [("AA", "G-3", False), ("AA", "G-1", True)],
        [("AA", "G-1", True)],
    ]
    assert answers[3][1].message_id == answers[0][0].message_id  # the repeat names the message it repeats
    stored = await conn.fetch("SELECT id::text, control_id, outcome, results FROM hl7_messages ORDER BY control_id")
    assert [(r["outcome"], r["results"]) for r in stored if r["control_id"].startswith("G-")] == [
        ("stored", 2),
        ("rejected:unknown_barcode", 0),
        ("stored", 2),
    ]
    assert len(stored) == 4  # the unreadable block is kept too
    held = [m["id"] for m in await review.review_queue(conn)]
    assert held == [answers[1][0].message_id, answers[2][0].message_id]  # in the order they came
    hb = await conn.fetch("SELECT value_num FROM results WHERE code = '718-7' ORDER BY id")
    assert [r["value_num"] for r in hb] == [Decimal("13.5"), Decimal("13.5")]  # not the repeat's 99
    audited = await conn.fetch("SELECT entity_id, outcome, summary FROM audit_log WHERE action = 'hl7.receive'")
    assert sorted(r["entity_id"] for r in audited) == sorted(r["id"] for r in stored)  # one row per message kept
    g1 = next(r for r in audited if r["entity_id"] == answers[0][0].message_id)
    assert (g1["outcome"], g1["summary"]) == (
        "stored",
        {"sender": "HEMA-1^LAB-MAIN", "control_id": "G-1", "results": 2},
    )


async def test_results_in_one_group_keep_the_order_the_messages_came_in(conn: asyncpg.Connection, vault: Vault) -> None:
    """A preliminary result and its final, in one group: the final is the later row, as if they had come apart."""
    barcode = await _in_lab(conn, vault)

    def oru(control: str, value: str, status: str) -> bytes:
        return (
            f"MSH|^~\\&|HEMA-1|L|LP|L|2026||ORU^R01|{control}|P|2.5.1\rOBR|1|{barcode}\r"
            f"OBX|1|NM|718-7^Hb^LN||{value}|g/dL|||||{status}\r"
        ).encode()

    blocks = [
        oru(f"ORD-{n}", value, status) for n, (value, status) in enumerate([("11", "P"), ("12", "F"), ("13", "C")])
    ]
    await intake.receive_many(conn, vault, blocks)
    rows = await conn.fetch("SELECT value_num, status FROM results ORDER BY id")
    assert [(r["value_num"], r["status"]) for r in rows] == [
        (Decimal("11"), "preliminary"),
        (Decimal("12"), "final"),
        (Decimal("13"), "corrected"),
    ]
