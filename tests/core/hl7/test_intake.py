"""Applying HL7 messages to samples through real PostgreSQL: AA and typed results, a repeated control id applied
once, AE for an unknown barcode or a sample not in the lab (kept for review), AR for the unreadable."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest

from core.errors import InvalidInput
from core.hl7 import intake
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


async def test_a_message_type_we_do_not_take_is_ae(conn: asyncpg.Connection, vault: Vault) -> None:
    adt = b"MSH|^~\\&|ADT|H|LABPULSE|LAB|2026||ADT^A04|ADT-1|P|2.5\rPID|1||X\r"
    [out] = await intake.receive(conn, vault, adt)
    assert out.ack_code == "AE" and "ORU^R01" in out.text


async def test_a_held_message_is_reapplied_once_the_tube_exists(conn: asyncpg.Connection, vault: Vault) -> None:
    tech = Actor("staff:tech", Role.LAB_TECHNICIAN)
    sample = await make_sample(conn, vault, barcode="LATE-TUBE-01")
    [held] = await intake.receive(conn, vault, _oru("LATE-TUBE-01"))  # still collected: not in the lab yet
    assert held.ack_code == "AE" and [m["id"] for m in await intake.review_queue(conn)] == [held.message_id]
    await samples.transition(conn, barcode=sample.barcode, to_state=S.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1")
    again = await intake.reapply(conn, vault, str(held.message_id), actor=tech)
    assert again.ack_code == "AA" and await intake.review_queue(conn) == []
    assert await conn.fetchval("SELECT count(*) FROM results") == 2
    with pytest.raises(InvalidInput, match="applied already"):
        await intake.reapply(conn, vault, str(held.message_id), actor=tech)


@pytest.mark.parametrize("raw", ["^NaN", "^Infinity", "^1e999999999", ">^1e-40", "^99999999999999999"])
async def test_numbers_no_column_can_hold_are_kept_as_text(conn: asyncpg.Connection, vault: Vault, raw: str) -> None:
    barcode = await _in_lab(conn, vault)
    msg = f"MSH|^~\\&|H|L|LP|L|2026||ORU^R01|ODD-1|P|2.5.1\rOBR|1|{barcode}\rOBX|1|SN|718-7^Hb||{raw}|g/dL|||||F\r"
    [outcome] = await intake.receive(conn, vault, msg.encode())
    assert outcome.ack_code == "AA"
    row = await conn.fetchrow("SELECT value_kind, value_num, value_text FROM results")
    assert row["value_kind"] == "text" and row["value_num"] is None and row["value_text"]
