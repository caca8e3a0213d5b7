"""A real ``labpulse worker`` process killed with SIGKILL in the middle of rendering a report: no half-written
report is left on record, and another worker runs the job again, exactly once."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import subprocess

import asyncpg

from core.config import Settings
from core.reports import service as reports
from core.storage import LocalFileStore
from core.vault import Vault
from tests.core.test_reports import KEY, _completed
from tests.support.procs import env_for, labpulse_cmd


def _worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = env_for(settings, LABPULSE_FILES_DIR=str(settings.report_files_dir), LABPULSE_JOB_HEARTBEAT_SECONDS="2")
    return subprocess.Popen([*labpulse_cmd(), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def _wait(pool: asyncpg.Pool, sql: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with pool.acquire() as conn:
            if await conn.fetchval(sql):
                return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached: {sql}")
        await asyncio.sleep(0.1)


async def test_sigkill_mid_render_leaves_nothing_half_done_and_the_job_runs_again(
    settings: Settings, pool: asyncpg.Pool, vault: Vault, files: LocalFileStore
) -> None:
    async with pool.acquire() as conn:
        barcode, pathologist = await _completed(conn, vault)
        out = await reports.issue(conn, vault, KEY, barcode=barcode, actor=pathologist, verify_base="https://l.ex")
    report_id = out["report_id"]
    # Hold the report row: the worker renders and writes the PDF, then blocks recording it. That is mid-job.
    holder = await pool.acquire()
    tx = holder.transaction()
    await tx.start()
    await holder.execute("SELECT 1 FROM reports WHERE id = $1 FOR UPDATE", report_id)
    first = _worker(settings)
    try:
        await _wait(pool, "SELECT count(*) = 1 FROM pgqueuer WHERE status = 'picked'")
        deadline = asyncio.get_running_loop().time() + 60
        while not list(files.root.glob("*/*.pdf")):
            assert asyncio.get_running_loop().time() < deadline, "the worker never wrote the PDF"
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)  # it is now waiting on the row lock, inside its transaction
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
        await tx.rollback()
        await pool.release(holder)
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT rendered_at, file_name FROM reports WHERE id = $1", report_id)
        assert row["rendered_at"] is None and row["file_name"] is None  # nothing half-recorded
        assert await conn.fetchval("SELECT state FROM samples WHERE barcode = $1", barcode) == "completed"
        assert await conn.fetchval("SELECT count(*) FROM deliveries") == 0
        assert await conn.fetchval("SELECT status FROM pgqueuer WHERE entrypoint = 'reports.render'") == "picked"
    second = _worker(settings)
    try:
        await _wait(pool, f"SELECT rendered_at IS NOT NULL FROM reports WHERE id = '{report_id}'")
        await _wait(pool, "SELECT count(*) = 0 FROM pgqueuer WHERE entrypoint = 'reports.render'")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, (second.stderr.read() if second.stderr else b"").decode()[-2000:]
    async with pool.acquire() as conn:
        name = await conn.fetchval("SELECT file_name FROM reports WHERE id = $1", report_id)
        digest = await conn.fetchval("SELECT file_sha256 FROM reports WHERE id = $1", report_id)
        assert await conn.fetchval("SELECT count(*) FROM sample_transitions WHERE to_state = 'reported'") == 1
        assert await conn.fetchval("SELECT count(*) FROM deliveries") == 1  # one channel chosen: one notice
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'report.render'") == 1
    pdf = vault.open_file("report", name, files.path(name).read_bytes())
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).digest() == bytes(digest)
    assert len(list(files.root.glob("*/*.pdf"))) == 2  # the killed run's file exists, unreferenced and harmless
