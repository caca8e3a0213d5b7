"""Results out, against a stand-in doctor's system over real MLLP: a released report is sent once as an ORU^R01
(patient, order, tube, every result as signed), the ACK is checked, AE is tried again, AR is final, no answer or
another message's answer is a failure to retry, and a second run of the job sends nothing."""

from __future__ import annotations

import asyncpg
import pytest

from core.hl7 import mllp_client, outbound
from core.hl7.parse import normalize, parse_message
from core.jobs.runner import Permanent
from core.storage import LocalFileStore
from core.vault import Vault
from tests.core.test_reports import _completed, _Pool, released
from tests.support.mllp_receiver import Receiver


async def _report_for_clinic(conn: asyncpg.Connection, vault: Vault, files: LocalFileStore, port: int) -> int:
    barcode, pathologist = await _completed(conn, vault)
    await conn.execute(
        "INSERT INTO hl7_destinations (id, name, host, port, receiving_app, receiving_facility) "
        "VALUES ('DR-CLINIC', 'Dr Rao clinic', '127.0.0.1', $1, 'EMR', 'RAO-CLINIC')",
        port,
    )
    doctor = await conn.fetchval(
        "INSERT INTO doctors (id, code, name, verified, destination_id) "
        "VALUES (gen_random_uuid(), 'D-1', 'Dr Meera Rao', true, 'DR-CLINIC') RETURNING id"
    )
    await conn.execute(
        "UPDATE orders SET doctor_id = $1, placer_number = 'REQ-77' WHERE id = (SELECT order_id FROM samples "
        "WHERE barcode = $2)", doctor, barcode,
    )  # fmt: skip
    await released(conn, vault, files, barcode, pathologist)
    [row] = await conn.fetch("SELECT id, status FROM hl7_outbound")
    assert row["status"] == "pending"
    assert await conn.fetchval("SELECT count(*) FROM pgqueuer WHERE entrypoint = 'hl7.send_oru'") == 1
    return int(row["id"])


async def test_a_released_report_goes_to_the_ordering_doctors_system_once(
    conn: asyncpg.Connection, vault: Vault, files: LocalFileStore
) -> None:
    async with Receiver() as clinic:
        oid = await _report_for_clinic(conn, vault, files, clinic.port)
        assert await outbound.send(_Pool(conn), vault, oid) is True
        assert await outbound.send(_Pool(conn), vault, oid) is False  # the job ran twice: sent once
    [message] = clinic.messages
    parsed = parse_message(normalize(message))
    assert parsed.message_type == "ORU^R01" and parsed.header.version == "2.5.1"
    assert parsed.control_id == outbound.control_id(await conn.fetchval("SELECT report_id::text FROM hl7_outbound"),
                                                    "DR-CLINIC")  # fmt: skip
    values = {o.code: o.value.number for o in parsed.observations if o.value}
    assert str(values["718-7"]) == "10.1" and len(values) == 5
    assert all(o.status == "final" for o in parsed.observations)
    assert "Sunita" in message and "RAO-CLINIC" in message  # addressed to the clinic, about the patient
    row = await conn.fetchrow("SELECT status, ack_code, attempts, sent_at FROM hl7_outbound")
    assert (row["status"], row["ack_code"], row["attempts"]) == ("sent", "AA", 2) and row["sent_at"] is not None
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'hl7.send'") == 1


async def test_ae_is_tried_again_and_ar_is_final(conn: asyncpg.Connection, vault: Vault, files: LocalFileStore) -> None:
    async with Receiver(answers=["AE", "AA"]) as clinic:
        oid = await _report_for_clinic(conn, vault, files, clinic.port)
        with pytest.raises(outbound.NotAccepted):
            await outbound.send(_Pool(conn), vault, oid)
        assert await conn.fetchval("SELECT status FROM hl7_outbound") == "pending"
        assert await outbound.send(_Pool(conn), vault, oid) is True
    assert len(clinic.unique) == 1  # the same control id both times: the receiver keeps one
    await conn.execute("UPDATE hl7_outbound SET status = 'pending'")
    async with Receiver(answers=["AR"]) as refusing:
        await conn.execute("UPDATE hl7_destinations SET port = $1", refusing.port)
        with pytest.raises(Permanent):  # the job runner dead-letters it and alerts staff
            await outbound.send(_Pool(conn), vault, oid)
    assert await conn.fetchval("SELECT status FROM hl7_outbound") == "refused"


async def test_no_answer_or_an_answer_for_another_message_is_a_failure_to_retry(
    conn: asyncpg.Connection, vault: Vault, files: LocalFileStore
) -> None:
    async with Receiver(answers=[None]) as silent:
        oid = await _report_for_clinic(conn, vault, files, silent.port)
        with pytest.raises(mllp_client.SendFailed):
            await outbound.send(_Pool(conn), vault, oid, wait=2)
    with pytest.raises(mllp_client.SendFailed):  # nobody listening any more
        await outbound.send(_Pool(conn), vault, oid, wait=2)
    assert await conn.fetchval("SELECT status FROM hl7_outbound") == "pending"
    with pytest.raises(mllp_client.SendFailed, match="another message"):
        mllp_client._ack("MSH|^~\\&|X\rMSA|AA|SOMEONE-ELSE\r", "LPO1")
