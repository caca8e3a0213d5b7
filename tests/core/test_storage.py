"""Where report files live: the local directory (the embedded default) and PostgreSQL (several machines) keep the
same promises (a name holds the last bytes put, a second put replaces it, names are checked), and with PostgreSQL a
report rendered on one machine is downloaded through another whose disk has never seen it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from core.config import Settings
from core.patients.sessions import PatientSessions
from core.reports import render
from core.reports import service as reports
from core.storage import FileStore, LocalFileStore, PostgresFileStore
from core.vault import Vault
from portal.app import create_app
from tests.core.test_reports import KEY, PHONE, _completed
from tests.support.asgi import app_client
from tests.support.inbox import Inbox


@pytest.fixture(params=["disk", "postgres"])
def store(request: pytest.FixtureRequest, pool: asyncpg.Pool, tmp_path: Path) -> FileStore:
    return LocalFileStore(tmp_path / "files") if request.param == "disk" else PostgresFileStore(pool)


async def test_a_name_holds_the_last_bytes_put(store: FileStore) -> None:
    assert await store.get("report-1.pdf.sealed") is None and not await store.exists("report-1.pdf.sealed")
    await store.put("report-1.pdf.sealed", b"first")
    await store.put("report-1.pdf.sealed", b"second")  # a retried job writes again
    assert await store.get("report-1.pdf.sealed") == b"second" and await store.exists("report-1.pdf.sealed")
    sizes = [bytes([i]) * (40_000 + i) for i in range(20)]  # writers racing on one name: one of them, whole
    await asyncio.gather(*(store.put("raced.sealed", data) for data in sizes))
    assert await store.get("raced.sealed") in sizes
    for bad in ("../etc/passwd", "UPPER", "", "a/b"):
        with pytest.raises(ValueError):
            await store.put(bad, b"x")


async def test_a_report_rendered_on_one_machine_is_downloaded_through_another(
    settings: Settings,
    pool: asyncpg.Pool,
    vault: Vault,
    redis,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    async with pool.acquire() as conn:
        barcode, pathologist = await _completed(conn, vault)
        out = await reports.issue(conn, vault, KEY, barcode=barcode, actor=pathologist, verify_base="https://l.ex")
        patient_id = await conn.fetchval("SELECT patient_id::text FROM samples WHERE barcode = $1", barcode)
    assert await render.render(pool, vault, PostgresFileStore(pool), str(out["report_id"]))  # the worker's machine
    elsewhere = settings.with_overrides(file_store="postgres", files_dir=tmp_path / "another-machine")
    token = await PatientSessions(redis, settings.redis_prefix).create(
        phone_lookup=vault.lookup.digest("phone", PHONE).hex(), phone_hint="+91***", active_patient_id=patient_id
    )
    async with app_client(create_app(elsewhere, notifier=Inbox())) as web:  # a web process on another machine
        link = await web.post(f"/api/patient/reports/{out['report_id']}/link?patient={patient_id}",
                              headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        pdf = await web.get(link.json()["url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert not (tmp_path / "another-machine").exists()  # nothing came from, or went to, that machine's disk
