"""The whole path against real processes: ADT and ORM from the LIS bring the patient and the tube, the analyzer's
ORU brings the results, a pathologist releases the report, and a real ``labpulse worker`` sends the ORU to the
doctor's system. The worker is killed with SIGKILL while the doctor's system holds its ACK; a second worker sends
the same message again (the same control id), so the doctor's system, which drops a control id it has seen,
keeps it once, and the row says sent."""

from __future__ import annotations

import asyncio
import signal

import asyncpg

from core.config import Settings
from core.hl7 import intake
from core.hl7.parse import header_of
from core.identity import Role
from core.reports import service as reports
from core.samples import service as samples
from core.samples.model import SampleState
from core.staff import service as staff
from core.vault import Vault
from tests.core.hl7.test_lis import _own
from tests.core.test_reports import KEY, VALUES
from tests.portal.test_worker_kill import _wait, _worker
from tests.support.factories import SYSTEM, TECH, ensure_centres
from tests.support.mllp_receiver import Receiver


async def test_results_reach_the_doctor_once_across_a_sigkill(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    hold = asyncio.Event()
    async with Receiver(hold_first=hold) as clinic, pool.acquire() as conn:
        await ensure_centres(conn)
        await conn.execute(
            "INSERT INTO hl7_destinations (id, name, host, port, order_source) "
            "VALUES ('CITY-LIS', 'City LIS', '127.0.0.1', $1, 'CITY-LIS^NORTH-LAB')",
            clinic.port,
        )
        for raw in (_own("adt_a04.hl7"), _own("orm_o01.hl7")):
            assert (await intake.receive(conn, vault, raw))[0].ack_code == "AA"
        await samples.transition(
            conn, barcode="TUBE-LIS-0001", to_state=SampleState.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1"
        )
        obx = "".join(f"OBX|{i}|NM|{c}^{n}^LN||{v}|u|||||F\r" for i, (c, (n, v)) in enumerate(VALUES.items(), 1))
        oru = f"MSH|^~\\&|HEMA|LAB|LP|L|2026||ORU^R01|K-ORU-1|P|2.5.1\rOBR|1|TUBE-LIS-0001||CBC\r{obx}"
        assert (await intake.receive(conn, vault, oru.encode()))[0].ack_code == "AA"
        path = await staff.add(conn, username="dr.kill", display_name="Dr Kill Test", role=Role.PATHOLOGIST,
                               password="x" * 12, actor=SYSTEM)  # fmt: skip
        assert await conn.fetchval("SELECT state FROM samples WHERE barcode = 'TUBE-LIS-0001'") == "completed"
        await reports.issue(conn, vault, KEY, barcode="TUBE-LIS-0001", actor=path.actor, verify_base="https://l.ex")
        first = _worker(settings)
        try:
            await asyncio.wait_for(clinic.received.wait(), 60)  # rendered, released, and sent: the ACK is held
            first.send_signal(signal.SIGKILL)
            assert first.wait(10) == -signal.SIGKILL
        finally:
            if first.poll() is None:
                first.kill()
        hold.set()
        assert await conn.fetchval("SELECT status FROM hl7_outbound") == "pending"
        second = _worker(settings)
        try:
            await _wait(pool, "SELECT status = 'sent' FROM hl7_outbound", timeout=90)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
        assert len(clinic.messages) == 2  # sent again after the kill …
        assert len(clinic.unique) == 1  # … with the same control id: once for the doctor's system
        [message] = clinic.unique.values()
        assert header_of(message).message_type == "ORU" and "LIS-100234^^^CITYLIS^MR" in message
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'hl7.send'") == 1
