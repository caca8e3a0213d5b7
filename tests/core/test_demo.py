"""The demo shows the product: a doctor with consult slots and the escalation chain, one family's tubes finished
with released reports (rendered by the worker's job, as in `serve`), the Quick start's tubes left alone by the
simulated lab, which finishes what is moving (results through intake, reports released) and collects at most a
few new tubes a day, so the cards never pile up."""

from __future__ import annotations

import asyncpg
import pytest

from core import critical, demo
from core.reports import render
from core.samples.model import SampleState
from core.storage import LocalFileStore
from core.vault import Vault
from portal.cli_tools import hl7_messages
from tests.core.test_reports import KEY


@pytest.fixture
def signing() -> demo.ReportSigning:
    return demo.ReportSigning(KEY, "https://demo.example")


async def _state(conn: asyncpg.Connection, barcode: str) -> str:
    return str(await conn.fetchval("SELECT state FROM samples WHERE barcode = $1", barcode))


async def test_the_seed_has_a_doctor_a_chain_and_released_reports(
    pool: asyncpg.Pool, vault: Vault, signing: demo.ReportSigning, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        creds = await demo.seed(conn, vault, signing)
        assert "demo.doctor" in {c.username for c in creds}
        assert await conn.fetchval("SELECT count(*) FROM consult_slots") > 0  # /consult/book offers times
        assert [m.label for m in await critical.chain(conn, vault)] == ["Dr Demo Arjun Mehta", "Demo Administrator"]
        report_ids = [r["id"] for r in await conn.fetch("SELECT id::text FROM reports ORDER BY issued_at")]
        assert len(report_ids) == 2  # Meera's two tubes
        assert await conn.fetchval("SELECT count(*) FROM results WHERE flag IS NOT NULL AND flag <> 'N'") >= 1
        assert await demo.seed(conn, vault, signing) == []  # once
    files = LocalFileStore(tmp_path)
    for report_id in report_ids:  # what the job queue does in `serve`
        assert await render.render(pool, vault, files, report_id) is True
    async with pool.acquire() as conn:
        assert {await _state(conn, b) for b in ("DEMO-003-1", "DEMO-003-2")} == {SampleState.REPORTED.value}


async def test_the_simulator_finishes_what_moves_spares_the_quick_start_and_caps_new_tubes(
    pool: asyncpg.Pool, vault: Vault, signing: demo.ReportSigning, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    files = LocalFileStore(tmp_path)
    async with pool.acquire() as conn:
        await demo.seed(conn, vault, signing)
        for _ in range(80):
            await demo.simulate_step(conn, vault, signing)
            for (report_id,) in await conn.fetch("SELECT id::text FROM reports WHERE rendered_at IS NULL"):
                await render.render(pool, vault, files, report_id)
        sim = await conn.fetchval("SELECT count(*) FROM samples WHERE barcode LIKE 'DEMO-SIM-%'")
        assert sim == demo.SIM_TUBES_PER_DAY
        moving = await conn.fetch(
            """SELECT barcode, state FROM samples WHERE barcode NOT LIKE 'DEMO-QS-%' AND barcode <> 'DEMO-REJ-1'
               AND state <> 'reported'"""
        )
        assert moving == []  # everything the lab had was taken to a released report
        assert await _state(conn, demo.QUICKSTART_SCAN) == SampleState.COLLECTED.value
        assert await _state(conn, demo.QUICKSTART_ORU) == SampleState.RECEIVED_AT_LAB.value
        assert await demo.simulate_step(conn, vault, signing) is None  # idle until tomorrow


def test_the_sample_oru_file_is_one_message_for_the_quick_start_tube() -> None:
    from pathlib import Path

    messages = hl7_messages((Path(__file__).parents[2] / "docs/examples/demo-oru.hl7").read_text())
    assert len(messages) == 1 and f"OBR|1|{demo.QUICKSTART_ORU}|" in messages[0]
    assert messages[0].count("\rOBX|") == 5 and "\n" not in messages[0]


async def test_one_step_moves_the_stalest_tube_and_its_event_goes_out(
    conn: asyncpg.Connection, vault: Vault, signing: demo.ReportSigning
) -> None:
    await demo.seed(conn, vault, signing)

    async def states() -> dict[str, str]:
        rows = await conn.fetch("SELECT barcode, state FROM samples WHERE barcode LIKE 'DEMO-%'")
        return {r["barcode"]: r["state"] for r in rows}

    before = await states()
    moved = await demo.simulate_step(conn, vault, signing)
    after = await states()
    assert moved is not None and [b for b in before if before[b] != after[b]] == [moved]
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE payload->>'barcode' = $1", moved) >= 2
