"""Patients and orders from the lab's own systems, through the real intake and PostgreSQL: ADT^A04/A08 register
and update (PHI sealed, audited), A40 merges and an operator undoes it exactly, ORM^O01/OML^O21 place orders
with tubes, CA cancels before collection, XO changes a line, unknown codes and doctors go to the review queue;
then ADT, ORM and ORU in one group: the results land on the tube the order brought."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from core import audit
from core.errors import InvalidInput
from core.hl7 import intake, review
from core.identity import Actor, Role
from core.patients import merge
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault
from tests.support.factories import TECH, ensure_centres

OWN = Path(__file__).parents[2] / "data" / "hl7" / "own"
OPERATOR = Actor("staff:admin", Role.ADMIN)


def _own(name: str, **swap: str) -> bytes:
    text = (OWN / name).read_text()
    for old, new in swap.items():
        text = text.replace(old, new)
    return text.encode()


async def _one(conn: asyncpg.Connection, vault: Vault, raw: bytes) -> intake.Outcome:
    [out] = await intake.receive(conn, vault, raw)
    return out


async def _patient(conn: asyncpg.Connection, mrn: str) -> str:
    pid = await patients.find_by_mrn(conn, "CITYLIS", mrn)
    assert pid is not None
    return pid


async def test_adt_registers_then_updates_a_patient_sealed_and_audited(conn: asyncpg.Connection, vault: Vault) -> None:
    out = await _one(conn, vault, _own("adt_a04.hl7"))
    assert (out.ack_code, out.header.trigger) == ("AA", "A04")
    pid = await _patient(conn, "LIS-100234")
    person = await patients.read(conn, vault, pid, actor=OPERATOR, purpose="test")
    assert (person.name, person.sex.value, str(person.date_of_birth)) == ("Asha K Verma", "female", "1978-04-12")
    assert person.phone == "+919820012345" and person.address == "12 Lake Road, Flat 3, Pune, MH, 411001, IN"
    raw = await conn.fetchrow("SELECT name_enc, address_enc FROM patients WHERE id = $1", pid)
    assert b"Verma" not in raw["name_enc"] and b"Lake" not in raw["address_enc"]  # sealed at rest
    assert (await _one(conn, vault, _own("adt_a08.hl7"))).ack_code == "AA"
    person = await patients.read(conn, vault, pid, actor=OPERATOR, purpose="test")
    assert person.phone == "+919820099999" and person.address.startswith("44 Hill Street")  # type: ignore[union-attr]
    assert await conn.fetchval("SELECT count(*) FROM patients WHERE mrn = 'LIS-100234'") == 1
    actions = await conn.fetch("SELECT action FROM audit_log WHERE patient_id = $1 ORDER BY id", pid)
    assert [a["action"] for a in actions if a["action"] != "patient.read"] == ["patient.create", "patient.update"]
    again = await _one(conn, vault, _own("adt_a08.hl7"))  # the same control id again: the first answer
    assert again.duplicate and again.ack_code == "AA"


async def test_an_update_for_an_unknown_mrn_registers_and_a_bad_phone_waits_for_review(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    raw = _own("adt_a08.hl7", **{"LIS-100234": "LIS-200001", "^PRN^CP^^91^98^20099999": "^PRN^CP^^^^12"})
    out = await _one(conn, vault, raw)
    assert out.ack_code == "AA"
    person = await patients.read(conn, vault, await _patient(conn, "LIS-200001"), actor=OPERATOR, purpose="t")
    assert person.phone is None
    [held] = await review.review_queue(conn)
    assert held["ack_code"] == "AA" and "phone" in held["needs_review"]


async def test_an_adt_without_a_name_or_id_is_refused_with_where(conn: asyncpg.Connection, vault: Vault) -> None:
    out = await _one(conn, vault, _own("adt_a04.hl7", **{"Verma^Asha^K": ""}))
    assert (out.ack_code, out.error) == ("AE", intake.AckError("101", "PID^1^5"))
    out = await _one(conn, vault, _own("adt_a04.hl7", **{"ADT-0001": "ADT-X", "19780412": "1978-04-12"}))
    assert (out.ack_code, out.error) == ("AE", intake.AckError("102", "PID^1^7"))
    assert len(await review.review_queue(conn)) == 2


async def test_orm_places_an_order_with_its_collected_tube_and_a_new_doctor_waits_for_review(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    await ensure_centres(conn)
    await _one(conn, vault, _own("adt_a04.hl7"))
    out = await _one(conn, vault, _own("orm_o01.hl7"))
    assert (out.ack_code, out.header.version, out.header.trigger) == ("AA", "2.3", "O01")
    order = await conn.fetchrow(
        """SELECT o.id, o.status, o.placer_number, o.patient_id::text, d.name, d.verified FROM orders o
           JOIN doctors d ON d.id = o.doctor_id WHERE o.source = 'CITY-LIS^NORTH-LAB'"""
    )
    assert (order["placer_number"], order["status"], order["name"], order["verified"]) == (
        "REQ-5001", "active", "Dr Meera Rao", False
    )  # fmt: skip
    assert order["patient_id"] == await _patient(conn, "LIS-100234")
    tests = await conn.fetch(
        "SELECT test_code, placer_line FROM order_tests WHERE order_id = $1 ORDER BY 1", order["id"]
    )
    assert [(t["test_code"], t["placer_line"]) for t in tests] == [("CBC", "ORD-5001-1"), ("TSH", "ORD-5001-2")]
    tube = await conn.fetchrow("SELECT state, sample_type FROM samples WHERE barcode = 'TUBE-LIS-0001'")
    assert (tube["state"], tube["sample_type"]) == ("collected", "whole_blood_edta")  # the TSH tube: not yet taken
    assert await conn.fetchval("SELECT count(*) FROM samples WHERE order_id = $1", order["id"]) == 1
    [held] = await review.review_queue(conn)
    assert "D-7781" in held["needs_review"]
    again = await _one(conn, vault, _own("orm_o01.hl7", **{"ORM-0001": "ORM-0001b"}))  # resent: nothing new
    assert again.ack_code == "AA"
    assert await conn.fetchval("SELECT count(*) FROM orders") == 1
    assert await conn.fetchval("SELECT count(*) FROM samples") == 1
    await review.mark_reviewed(conn, held["id"], actor=OPERATOR)
    assert [m["control_id"] for m in await review.review_queue(conn)] == [
        "ORM-0001b"
    ]  # the resend still names the doctor


async def test_oml_takes_the_barcode_from_spm_and_registers_an_unknown_patient(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    await ensure_centres(conn)
    out = await _one(conn, vault, _own("oml_o21.hl7"))
    assert out.ack_code == "AA"
    tube = await conn.fetchrow(
        "SELECT s.state, s.sample_type, s.patient_id::text FROM samples s WHERE barcode = 'TUBE-LIS-0002'"
    )
    assert (tube["state"], tube["sample_type"]) == ("collected", "whole_blood_edta")  # HbA1c by LOINC 4548-4
    assert tube["patient_id"] == await _patient(conn, "LIS-100555")


async def test_an_unknown_test_code_is_held_and_applies_once_mapped(conn: asyncpg.Connection, vault: Vault) -> None:
    await ensure_centres(conn)
    raw = _own("orm_o01.hl7", **{"TSH^Thyroid stimulating hormone^L": "VITD^Vitamin D 25-OH^CITYLIS"})
    out = await _one(conn, vault, raw)
    assert (out.ack_code, out.error) == ("AE", intake.AckError("103", "OBR^2^4"))
    assert "VITD" in out.text and await conn.fetchval("SELECT count(*) FROM orders") == 0  # nothing half-applied
    [held] = await review.review_queue(conn)
    still = await review.reapply(conn, vault, held["id"], actor=OPERATOR)  # not yet: the code is still unknown
    assert still.ack_code == "AE" and await conn.fetchval("SELECT count(*) FROM orders") == 0
    await conn.execute("INSERT INTO test_codes (system, code, test_code) VALUES ('CITYLIS', 'VITD', 'TSH')")
    done = await review.reapply(conn, vault, held["id"], actor=OPERATOR)
    assert done.ack_code == "AA" and await conn.fetchval("SELECT count(*) FROM orders") == 1


async def test_cancel_before_collection_and_not_after(conn: asyncpg.Connection, vault: Vault) -> None:
    await ensure_centres(conn)
    await _one(conn, vault, _own("orm_o01.hl7"))
    cancel = (
        "MSH|^~\\&|CITY-LIS|NORTH-LAB|LABPULSE|LAB|20261207120000||ORM^O01|ORM-C{n}|P|2.3\r"
        "PID|1||LIS-100234^^^CITYLIS^MR||Verma^Asha\rORC|CA|{line}||REQ-5001\rOBR|1|{line}\r"
    )
    out = await _one(conn, vault, cancel.format(n=1, line="ORD-5001-2").encode())  # TSH: not collected yet
    assert out.ack_code == "AA"
    lines = await conn.fetch("SELECT test_code, status FROM order_tests ORDER BY test_code")
    assert [(r["test_code"], r["status"]) for r in lines] == [("CBC", "ordered"), ("TSH", "cancelled")]
    out = await _one(conn, vault, cancel.format(n=2, line="ORD-5001-1").encode())  # CBC: its tube is collected
    assert (out.ack_code, out.error and out.error.code) == ("AE", "207") and "collected" in out.text
    assert await conn.fetchval("SELECT status FROM orders") == "active"


async def test_xo_changes_a_line_and_cancelling_every_line_cancels_the_order(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    await ensure_centres(conn)
    await _one(conn, vault, _own("orm_o01.hl7", **{"|TUBE-LIS-0001|": "||"}))  # nothing collected yet
    change = (
        "MSH|^~\\&|CITY-LIS|NORTH-LAB|LABPULSE|LAB|20261207120000||ORM^O01|ORM-X1|P|2.3\r"
        "PID|1||LIS-100234^^^CITYLIS^MR||Verma^Asha\rORC|XO|ORD-5001-2||REQ-5001\rOBR|1|ORD-5001-2||1558-6^Glucose^LN\r"
    )
    assert (await _one(conn, vault, change.encode())).ack_code == "AA"
    lines = await conn.fetch("SELECT test_code, placer_line FROM order_tests ORDER BY test_code")
    assert [(r["test_code"], r["placer_line"]) for r in lines] == [("CBC", "ORD-5001-1"), ("FBS", "ORD-5001-2")]
    cancel_all = (
        "MSH|^~\\&|CITY-LIS|NORTH-LAB|LABPULSE|LAB|20261207121000||ORM^O01|ORM-C9|P|2.3\r"
        "PID|1||LIS-100234^^^CITYLIS^MR||Verma^Asha\rORC|CA|ORD-5001-1||REQ-5001\rOBR|1|ORD-5001-1\r"
        "ORC|CA|ORD-5001-2||REQ-5001\rOBR|2|ORD-5001-2\r"
    )
    assert (await _one(conn, vault, cancel_all.encode())).ack_code == "AA"
    assert await conn.fetchval("SELECT status FROM orders") == "cancelled"


async def test_a40_merges_two_records_and_an_operator_undoes_it_exactly(conn: asyncpg.Connection, vault: Vault) -> None:
    await ensure_centres(conn)
    await _one(conn, vault, _own("adt_a04.hl7"))  # the survivor, LIS-100234
    await _one(conn, vault, _own("adt_a04.hl7", **{"LIS-100234": "LIS-100999", "ADT-0001": "ADT-9"}))
    dup = await _patient(conn, "LIS-100999")
    await _one(conn, vault, _own("orm_o01.hl7", **{"LIS-100234": "LIS-100999"}))  # its order and tube
    survivor = await _patient(conn, "LIS-100234")
    out = await _one(conn, vault, _own("adt_a40.hl7"))
    assert out.ack_code == "AA"
    assert await conn.fetchval("SELECT count(*) FROM samples WHERE patient_id = $1", survivor) == 1
    assert await conn.fetchval("SELECT count(*) FROM orders WHERE patient_id = $1", survivor) == 1
    assert await conn.fetchval("SELECT merged_into::text FROM patients WHERE id = $1", dup) == survivor
    assert await patients.find_by_mrn(conn, "CITYLIS", "LIS-100999") == survivor  # the old MRN leads to the survivor
    merge_id = await conn.fetchval("SELECT id::text FROM patient_merges")
    found = await audit.search(
        conn, actor=OPERATOR, patient_id=survivor, merged_ids=await patients.merged_into(conn, survivor)
    )
    assert {r["patient_id"] for r in found} == {survivor, dup}  # the merged record's history is the survivor's
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'patient.merge'") == 1
    await merge.undo(conn, merge_id, actor=OPERATOR)
    assert await conn.fetchval("SELECT count(*) FROM samples WHERE patient_id = $1", dup) == 1
    assert await conn.fetchval("SELECT count(*) FROM samples WHERE patient_id = $1", survivor) == 0
    assert await conn.fetchval("SELECT merged_into FROM patients WHERE id = $1", dup) is None
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'patient.unmerge'") == 1
    with pytest.raises(InvalidInput):
        await merge.undo(conn, merge_id, actor=OPERATOR)
    unknown = await _one(conn, vault, _own("adt_a40.hl7", **{"LIS-100999": "LIS-404", "ADT-0003": "ADT-404"}))
    assert (unknown.ack_code, unknown.error) == ("AE", intake.AckError("204", "MRG^1^1"))


async def test_every_table_that_refers_to_a_patient_moves_in_a_merge_or_stays_on_purpose(
    conn: asyncpg.Connection,
) -> None:
    """A table added later with a patient_id must be placed in merge.OWNED or merge.STAYS, or this fails."""
    rows = await conn.fetch(
        """SELECT DISTINCT c.conrelid::regclass::text AS table_name FROM pg_constraint c
           WHERE c.contype = 'f' AND c.confrelid = 'patients'::regclass AND c.conrelid <> 'patients'::regclass"""
    )
    referring = {r["table_name"].split(".")[-1].strip('"') for r in rows} - {"patient_merges"}
    assert referring == {rows.table for rows in merge.OWNED} | set(merge.STAYS)


async def test_adt_orm_and_oru_in_one_group_land_in_order(conn: asyncpg.Connection, vault: Vault) -> None:
    """The order brings the tube; the lab receives it; then a group of ADT, ORM and ORU, in that order, applies
    the results to the tube the ORM registered."""
    await ensure_centres(conn)
    adt = _own("adt_a04.hl7", **{"LIS-100234": "LIS-300001", "ADT-0001": "G-ADT"})
    orm = _own("orm_o01.hl7", **{"LIS-100234": "LIS-300001", "ORM-0001": "G-ORM", "TUBE-LIS-0001": "TUBE-G-0001"})
    oru = (
        b"MSH|^~\\&|HEMA-1|LAB|LABPULSE|LAB|20261207130000||ORU^R01|G-ORU|P|2.5.1\r"
        b"OBR|1|TUBE-G-0001\rOBX|1|NM|718-7^Hemoglobin^LN||13.1|g/dL|||||F\r"
    )
    answers = await intake.receive_many(conn, vault, [adt, orm, oru])
    assert [a[0].ack_code for a in answers] == ["AA", "AA", "AE"]  # collected, not in the lab: held
    assert answers[2][0].error == intake.AckError("207", "OBR^1^3")
    await samples.transition(
        conn, barcode="TUBE-G-0001", to_state=SampleState.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1"
    )
    done = await review.reapply(conn, vault, answers[2][0].message_id or "", actor=OPERATOR)
    assert done.ack_code == "AA"
    assert await conn.fetchval(
        "SELECT value_num FROM results r JOIN samples s ON s.id = r.sample_id WHERE s.barcode = 'TUBE-G-0001'"
    ) == Decimal("13.1")  # fmt: skip


async def test_two_messages_registering_one_new_mrn_at_once_both_succeed(pool: asyncpg.Pool, vault: Vault) -> None:
    """The second finds the first's patient when its insert collides (no 'send it again' for a race)."""
    new = NewPatient(name="Race Person", sex=Sex.FEMALE, mrn="LIS-RACE-1", mrn_authority="CITYLIS")
    async with pool.acquire() as a, pool.acquire() as b:
        tx = a.transaction()
        await tx.start()
        first = await patients.register_or_update(a, vault, new, actor=OPERATOR, source="hl7")
        second = asyncio.create_task(patients.register_or_update(b, vault, new, actor=OPERATOR, source="hl7"))
        await asyncio.sleep(0.3)  # b has not found it and waits on the unique index for a
        assert not second.done()
        await tx.commit()
        done = await asyncio.wait_for(second, 10)
        assert (first.created, done.created, done.patient_id) == (True, False, first.patient_id)
        assert await a.fetchval("SELECT count(*) FROM patients WHERE mrn = 'LIS-RACE-1'") == 1


def _requisition(control: str, mrn: str, code: str = "TSH^TSH^L") -> bytes:
    """An order of two tests for a patient the lab may not know yet, nothing collected: the LIS's usual message."""
    return (
        f"MSH|^~\\&|CITY-LIS|NORTH-LAB|LABPULSE|LAB|20261207101500||ORM^O01|{control}|P|2.3\r"
        f"PID|1||{mrn}^^^CITYLIS^MR||Bench^Person||19800101|F\r"
        "ORC|NW|ORD-9-1||REQ-9||||||||D-1^Rao^Meera^^^Dr^^^CITYLIS\rOBR|1|ORD-9-1||58410-2^CBC panel^LN\r"
        f"ORC|NW|ORD-9-2||REQ-9\rOBR|2|ORD-9-2||{code}\r"
    ).encode()


async def test_a_new_requisition_is_placed_once_whatever_control_id_it_comes_again_with(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    await ensure_centres(conn)
    first = await _one(conn, vault, _requisition("Q-1", "LIS-900001"))
    again = await _one(conn, vault, _requisition("Q-2", "LIS-900001"))  # the same requisition, a new control id
    repeat = await _one(conn, vault, _requisition("Q-1", "LIS-900001"))  # the same message again
    assert (first.ack_code, again.ack_code, repeat.ack_code, repeat.duplicate) == ("AA", "AA", "AA", True)
    order = await conn.fetchrow("SELECT id, patient_id::text, collect_at, status FROM orders")
    assert (order["patient_id"], order["collect_at"], order["status"]) == (
        await _patient(conn, "LIS-900001"), None, "active"
    )  # fmt: skip
    lines = await conn.fetch("SELECT test_code, placer_line, status FROM order_tests ORDER BY 1")
    assert [tuple(r) for r in lines] == [("CBC", "ORD-9-1", "ordered"), ("TSH", "ORD-9-2", "ordered")]
    actions = await conn.fetch("SELECT action, count(*) FROM audit_log GROUP BY 1 ORDER BY 1")
    assert {r["action"]: r["count"] for r in actions} == {
        "doctor.add": 1, "hl7.receive": 2, "order.place": 1, "order.update": 1, "patient.create": 1,
    }  # fmt: skip


async def test_a_refused_message_leaves_nothing_behind_and_its_repeat_keeps_the_first_answer(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    await ensure_centres(conn)
    refused = await _one(conn, vault, _requisition("Q-7", "LIS-900007", code="VITD^Vitamin D^CITYLIS"))
    assert (refused.ack_code, refused.error) == ("AE", intake.AckError("103", "OBR^2^4"))
    # the patient this message would have registered, and the doctor it named, went with it
    assert await patients.find_by_mrn(conn, "CITYLIS", "LIS-900007") is None
    assert await conn.fetchval("SELECT count(*) FROM doctors") == 0
    await conn.execute("INSERT INTO test_codes (system, code, test_code) VALUES ('CITYLIS', 'VITD', 'TSH')")
    repeat = await _one(conn, vault, _requisition("Q-7", "LIS-900007", code="VITD^Vitamin D^CITYLIS"))
    assert (repeat.ack_code, repeat.duplicate) == ("AE", True)  # answered as the first time: re-apply is for people
    assert await conn.fetchval("SELECT count(*) FROM orders") == 0
    assert await patients.find_by_mrn(conn, "CITYLIS", "LIS-900007") is None
    rows = await conn.fetch("SELECT ack_code, outcome FROM hl7_messages")
    assert [tuple(r) for r in rows] == [("AE", "rejected:unusable")]
    assert [r["action"] for r in await conn.fetch("SELECT action FROM audit_log")] == ["hl7.receive"]


def _adt(control: str, mrn: str, trigger: str = "A08") -> bytes:
    return (
        f"MSH|^~\\&|CITY-LIS|NORTH-LAB|LABPULSE|LAB|20261207090000||ADT^{trigger}^ADT_A01|{control}|P|2.5.1\r"
        f"EVN|{trigger}|20261207090000\rPID|1||{mrn}^^^CITYLIS^MR||Person^Usual||19800101|F\r"
    ).encode()


async def test_the_usual_messages_take_one_statement_after_their_reads_and_no_transaction(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    """What keeps the listener's mixed stream fast: an update, a new registration and a new requisition for a known
    patient and doctor each write once (record, audit rows and the message together); a repeat writes nothing."""
    await ensure_centres(conn)
    await _one(conn, vault, _requisition("W-1", "LIS-900100"))  # the patient and the doctor, the whole way
    sent: list[str] = []
    conn.add_query_logger(lambda q: sent.append(q.query.split(None, 1)[0].upper()))
    cases = [
        (_adt("W-2", "LIS-900100"), "patient.updated", ["SELECT", "WITH"]),
        (_adt("W-3", "LIS-900101", "A04"), "patient.registered", ["SELECT", "WITH"]),
        (_requisition("W-4", "LIS-900100").replace(b"REQ-9", b"REQ-10"), "order.applied",
         ["SELECT", "SELECT", "WITH"]),
    ]  # fmt: skip
    for raw, outcome, statements in cases:
        await asyncio.sleep(0.05)  # the logger is called soon after each query, not within it
        sent.clear()
        out = await _one(conn, vault, raw)
        await asyncio.sleep(0.05)
        seen = list(sent)
        stored = await conn.fetchval("SELECT outcome FROM hl7_messages WHERE control_id = $1", out.control_id)
        assert (out.ack_code, stored, seen) == ("AA", outcome, statements)  # no BEGIN, no COMMIT
    before = await conn.fetchval("SELECT count(*) FROM audit_log")
    again = await _one(conn, vault, _adt("W-2", "LIS-900100"))
    assert (again.ack_code, again.duplicate) == ("AA", True)
    assert await conn.fetchval("SELECT count(*) FROM audit_log") == before  # the update was not applied twice


async def test_a_registration_racing_another_is_applied_as_an_update(pool: asyncpg.Pool, vault: Vault) -> None:
    """The one-statement path finds the MRN registered meanwhile, writes nothing, and the whole path updates."""
    new = NewPatient(name="Race Person", sex=Sex.FEMALE, mrn="LIS-RACE-2", mrn_authority="CITYLIS")
    async with pool.acquire() as a, pool.acquire() as b:
        tx = a.transaction()
        await tx.start()
        first = await patients.register_or_update(a, vault, new, actor=OPERATOR, source="hl7")
        second = asyncio.create_task(intake.receive(b, vault, _adt("R-1", "LIS-RACE-2", "A04")))
        await asyncio.sleep(0.3)  # b has not found it and waits on the unique index for a
        assert not second.done()
        await tx.commit()
        [out] = await asyncio.wait_for(second, 10)
        row = await a.fetchrow("SELECT outcome, ack_code FROM hl7_messages WHERE control_id = 'R-1'")
        assert (out.ack_code, row["ack_code"], row["outcome"]) == ("AA", "AA", "patient.updated")
        assert await a.fetchval("SELECT count(*) FROM patients WHERE mrn = 'LIS-RACE-2'") == 1
        assert await patients.find_by_mrn(a, "CITYLIS", "LIS-RACE-2") == first.patient_id
        actions = await a.fetch("SELECT action FROM audit_log WHERE action LIKE 'patient.%' ORDER BY id")
        assert [r["action"] for r in actions] == ["patient.create", "patient.update"]


async def test_in_a_group_orders_go_first_and_the_results_are_stored_in_one_statement(
    conn: asyncpg.Connection, vault: Vault
) -> None:
    """Blocks from different connections: the results come before the order that brings their tube, and the order
    is applied first (the results find the tube); the two result blocks, split by an ADT, are one statement."""
    await ensure_centres(conn)
    orm = _own("orm_o01.hl7", **{"ORM-0001": "F-ORM", "TUBE-LIS-0001": "TUBE-F-0001"})
    oru = (
        b"MSH|^~\\&|HEMA-1|LAB|LABPULSE|LAB|20261207130000||ORU^R01|F-ORU-{n}|P|2.5.1\r"
        b"OBR|1|TUBE-F-0001\rOBX|1|NM|718-7^Hemoglobin^LN||13.1|g/dL|||||F\r"
    )
    sent: list[str] = []
    conn.add_query_logger(lambda q: sent.append(q.query))
    blocks = [oru.replace(b"{n}", b"1"), _adt("F-ADT", "LIS-900200"), oru.replace(b"{n}", b"2"), orm]
    answers = await intake.receive_many(conn, vault, blocks)
    await asyncio.sleep(0.05)  # the logger is called soon after each query
    assert [a[0].ack_code for a in answers] == ["AE", "AA", "AE", "AA"]
    assert {a[0].error for a in (answers[0], answers[2])} == {intake.AckError("207", "OBR^1^3")}  # found: collected
    assert sum("INSERT INTO hl7_messages" in q and "jsonb_to_recordset" in q for q in sent) == 1
