"""Report throughput: signed report PDFs rendered, encrypted, stored and released per second by real `labpulse worker`
processes (the job queue end to end: dequeue, render with reportlab + QR, encrypt, atomic file write, release the
tube, queue and record the notice). A large lab's whole day is ~3,000 reports. Runs in a throwaway schema.

Setup (not timed): N tubes get a full blood count over the real HL7 intake (so they complete), and a pathologist
approves each one (timed separately: approval signs the content and queues the job). Then the workers start and
the clock runs until every report is released.

    .venv/bin/python bench/reports.py [--reports 3000] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from common import ROOT, cpu_seconds, drop, labpulse_cmd, throwaway

from core.booking.catalogue import Centre, upsert_centre
from core.db.migrate import migrate
from core.db.pool import create_pool
from core.hl7 import intake
from core.identity import Actor, Role
from core.orders import service as orders
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.reports import content as rc
from core.reports import service as reports
from core.samples import service as samples
from core.samples.model import SampleState
from core.staff import service as staff
from core.vault import Vault

ADMIN = Actor("bench:admin", Role.ADMIN)
TECH = Actor("bench:tech", Role.LAB_TECHNICIAN)
CBC = (
    ("718-7", "Hemoglobin", "10.9", "g/dL"),
    ("6690-2", "WBC", "7.2", "10*3/uL"),
    ("777-3", "Platelets", "250", "10*3/uL"),
    ("789-8", "RBC", "4.6", "10*6/uL"),
    ("4544-3", "Hematocrit", "41", "%"),
)


def oru(control: str, barcode: str) -> bytes:
    obx = "".join(f"OBX|{i}|NM|{c}^{n}^LN||{v}|{u}|||||F\r" for i, (c, n, v, u) in enumerate(CBC, 1))
    return (
        f"MSH|^~\\&|HEMA-1|LAB|LABPULSE|LAB|20261121101500||ORU^R01|{control}|P|2.5.1\r"
        f"PID|1||M\rOBR|1|{barcode}||CBC\r{obx}"
    ).encode()


async def setup(settings, n: int, verify_base: str) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(settings.database_url.reveal())
    await migrate(conn, settings.db_schema)
    await conn.close()
    pool = await create_pool(settings.database_url.reveal(), settings.db_schema, min_size=4, max_size=4)
    vault = Vault.from_settings(settings)
    key = rc.signing_key(settings.secret_key.reveal())
    async with pool.acquire() as conn:
        await upsert_centre(conn, Centre("LAB-R", "Report Bench Lab", "lab", "Pune"))
        path = await staff.add(conn, username="dr.bench", display_name="Dr Bench Pathologist",
                               role=Role.PATHOLOGIST, password="x" * 16, actor=ADMIN)  # fmt: skip
    barcodes: list[str] = []

    async def prepare(start: int) -> None:
        async with pool.acquire() as conn:
            for i in range(start, n, 4):
                p = await patients.create(
                    conn, vault, NewPatient(name=f"Bench Patient {i}", sex=Sex.FEMALE, phone=f"+9198{i:08d}"),
                    actor=ADMIN,
                )  # fmt: skip
                o = await orders.place(conn, patient_id=p.id, centre_id="LAB-R", test_codes=["CBC"], actor=ADMIN)
                code = f"R{i:06d}"
                await samples.register(
                    conn, order_id=o.id, barcode=code, sample_type="whole_blood_edta", actor=ADMIN, centre_id="LAB-R"
                )
                await samples.transition(
                    conn, barcode=code, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-R"
                )
                assert (await intake.receive(conn, vault, oru(f"C{i:07d}", code)))[0].ack_code == "AA"
                barcodes.append(code)

    await asyncio.gather(*(prepare(s) for s in range(4)))

    async def approve(chunk: list[str]) -> None:
        async with pool.acquire() as conn:
            for code in chunk:
                await reports.issue(conn, vault, key, barcode=code, actor=path.actor, verify_base=verify_base)

    t0 = time.perf_counter()
    await asyncio.gather(*(approve(barcodes[s::4]) for s in range(4)))
    approve_s = time.perf_counter() - t0
    async with pool.acquire() as conn:
        queued = int(await conn.fetchval("SELECT count(*) FROM pgqueuer WHERE entrypoint = 'reports.render'"))
    await pool.close()
    return approve_s, queued


async def count(settings, sql: str) -> int:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(settings.database_url.reveal(), server_settings={"search_path": settings.db_schema})
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=2, help="`labpulse worker` processes")
    ap.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = ap.parse_args()
    settings, env = throwaway(args.database_url, args.redis_url, "lpr")
    files = tempfile.TemporaryDirectory(prefix="lp-bench-files-")
    env.update(LABPULSE_FILES_DIR=files.name, LABPULSE_PUBLIC_URL="https://reports.labpulse.example")
    procs: list[subprocess.Popen[str]] = []
    try:
        print(f"setting up {args.reports} completed tubes and approving them, schema {settings.db_schema} …")
        approve_s, queued = asyncio.run(setup(settings, args.reports, "https://reports.labpulse.example"))
        t0 = time.perf_counter()
        for _ in range(args.workers):
            proc = subprocess.Popen([*labpulse_cmd(), "worker"], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
            procs.append(proc)
        done = 0
        while done < args.reports:
            time.sleep(0.25)
            done = asyncio.run(count(settings, "SELECT count(*) FROM reports WHERE rendered_at IS NOT NULL"))
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker exited early")
        elapsed = time.perf_counter() - t0
        cpu = [cpu_seconds(p.pid) for p in procs]
        span = asyncio.run(
            count(settings, "SELECT extract(epoch FROM max(rendered_at) - min(rendered_at)) * 1000 FROM reports")
        )
        released = asyncio.run(count(settings, "SELECT count(*) FROM samples WHERE state = 'reported'"))
        notices = asyncio.run(count(settings, "SELECT count(*) FROM deliveries"))
        pdfs = [f for shard in Path(files.name).iterdir() for f in shard.iterdir()]
        stored, size = len(pdfs), sum(f.stat().st_size for f in pdfs)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
        asyncio.run(drop(settings))
        files.cleanup()
    print(f"\n{datetime.now(UTC):%Y-%m-%d} · {os.cpu_count()} cores · {args.workers} worker process(es)")
    print(f"approvals (sign + queue)   {queued} in {approve_s:.1f} s  ({queued / approve_s:,.0f} per second)")
    print(
        f"reports released           {args.reports} in {elapsed:.1f} s from starting the workers "
        f"({args.reports / elapsed:,.1f} per second); first to last render {span / 1000:.1f} s "
        f"({args.reports / max(span / 1000, 1e-9):,.1f} per second)"
    )
    print(f"worker CPU seconds         {' + '.join(f'{c:.1f}' for c in cpu)}")
    print(f"stored                     {stored} encrypted PDFs, {size / stored / 1024:.1f} KiB each on average")
    print(f"tubes reported             {released}; notices recorded {notices}")


if __name__ == "__main__":
    main()
