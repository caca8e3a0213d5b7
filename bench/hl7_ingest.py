"""HL7 intake throughput: ORU^R01 messages per second over MLLP, end to end (sent, parsed, stored with their
typed results, ACK received), against the real `labpulse mllp` process, with several analyzer connections each
waiting for its ACK before the next message, as analyzers do. Runs in a throwaway schema.

    .venv/bin/python bench/hl7_ingest.py [--messages 20000] [--connections 8] [--tubes 500] [--critical-every 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import time
from datetime import UTC, datetime

import asyncpg
from common import ROOT, cpu_seconds, drop, free_port, labpulse_cmd, pct, postgres_cpu_seconds, throwaway
from hl7.mllp import open_hl7_connection

from core.booking.catalogue import Centre, upsert_centre
from core.db.migrate import migrate
from core.db.pool import create_pool
from core.identity import Actor, Role
from core.orders import service as orders
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault

ADMIN = Actor("bench:admin", Role.ADMIN)
TECH = Actor("bench:tech", Role.LAB_TECHNICIAN)
OBX = (
    "OBX|1|NM|718-7^Hemoglobin^LN||13.5|g/dL|12.0-15.5|N|||F\r"
    "OBX|2|NM|6690-2^WBC^LN||7.2|10*3/uL|4.0-11.0|N|||F\r"
    "OBX|3|NM|777-3^Platelets^LN||{platelets}|10*3/uL|150-400|{flag}|||F\r"
    "NTE|1||Platelet clumps seen\r"
    "OBX|4|NM|789-8^RBC^LN||4.6|10*6/uL|4.2-5.4|N|||F\r"
)


def oru(control: str, barcode: str, critical: bool = True) -> bytes:
    """A CBC result; ``critical``: the platelet count is critically low (an alert is raised, and audited)."""
    obx = OBX.format(platelets="<20", flag="LL") if critical else OBX.format(platelets="250", flag="N")
    return (
        f"MSH|^~\\&|HEMA-1|LAB-MAIN|LABPULSE|LAB|20261121101500||ORU^R01|{control}|P|2.5.1\r"
        f"PID|1||MRN-{barcode}\rOBR|1|{barcode}||CBC^Complete blood count\r{obx}"
    ).encode()


def adt(control: str, k: int) -> bytes:
    """A registration (A04) or, for an MRN seen before, an update (A08) from the LIS."""
    mrn, trigger = f"LIS-{k % 2000:06d}", "A04" if k < 2000 else "A08"
    return (
        f"MSH|^~\\&|CITY-LIS|NORTH-LAB|LABPULSE|LAB|20261207090000||ADT^{trigger}^ADT_A01|{control}|P|2.5.1\r"
        f"EVN|{trigger}|20261207090000\rPID|1||{mrn}^^^CITYLIS^MR||Bench^Person^{k}||19800101|F|||"
        f"1 Bench Road^^Pune^MH^411001^IN||^PRN^CP^^91^98^{20000000 + k % 2000}\r"
    ).encode()


def orm(control: str, k: int) -> bytes:
    """A new order of two tests from the LIS, not yet collected."""
    mrn = f"LIS-{k % 2000:06d}"
    return (
        f"MSH|^~\\&|CITY-LIS|NORTH-LAB|LABPULSE|LAB|20261207101500||ORM^O01|{control}|P|2.3\r"
        f"PID|1||{mrn}^^^CITYLIS^MR||Bench^Person\rORC|NW|ORD-{k}-1||REQ-{k}||||||||D-1^Rao^Meera^^^Dr^^^CITYLIS\r"
        f"OBR|1|ORD-{k}-1||58410-2^CBC panel^LN\rORC|NW|ORD-{k}-2||REQ-{k}\rOBR|2|ORD-{k}-2||TSH^TSH^L\r"
    ).encode()


def mixed(k: int, control: str, barcode: str, critical: bool) -> bytes:
    """The stream a lab's systems send: ADT 10 %, ORM 30 %, ORU 60 %."""
    kind = k % 10
    return adt(control, k) if kind == 0 else orm(control, k) if kind <= 3 else oru(control, barcode, critical)


async def setup(settings, tubes: int) -> list[str]:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(settings.database_url.reveal())
    await migrate(conn, settings.db_schema)
    await conn.close()
    pool = await create_pool(settings.database_url.reveal(), settings.db_schema, min_size=4, max_size=4)
    vault = Vault.from_settings(settings)
    async with pool.acquire() as conn:
        await upsert_centre(conn, Centre("LAB-H", "HL7 Bench Lab", "lab", "Pune"))
    barcodes: list[str] = []

    async def worker(start: int) -> None:
        async with pool.acquire() as conn:
            for i in range(start, tubes, 4):
                p = await patients.create(conn, vault, NewPatient(name=f"Bench {i}", sex=Sex.MALE), actor=ADMIN)
                o = await orders.place(conn, patient_id=p.id, centre_id="LAB-H", test_codes=["CBC"], actor=ADMIN)
                code = f"H{i:06d}"
                await samples.register(
                    conn, order_id=o.id, barcode=code, sample_type="whole_blood_edta", actor=ADMIN, centre_id="LAB-H"
                )
                await samples.transition(
                    conn, barcode=code, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-H"
                )
                barcodes.append(code)

    await asyncio.gather(*(worker(s) for s in range(4)))
    await pool.close()
    return barcodes


async def drive(
    port: int, barcodes: list[str], messages: int, connections: int, critical_every: int, mix: bool = False
) -> tuple[list[float], dict[str, int], float]:
    latencies: list[float] = []
    codes: dict[str, int] = {}
    per = messages // connections

    async def analyzer(n: int) -> None:
        reader, writer = await open_hl7_connection("127.0.0.1", port)
        try:
            for i in range(per):
                k = n * per + i
                t = time.perf_counter()
                critical = critical_every > 0 and k % critical_every == 0
                control, barcode = f"B{k:08d}", barcodes[k % len(barcodes)]
                writer.writeblock(mixed(k, control, barcode, critical) if mix else oru(control, barcode, critical))
                await writer.drain()
                block = await reader.readblock()
                latencies.append((time.perf_counter() - t) * 1000)
                code = block.split(b"MSA|", 1)[1][:2].decode()
                codes[code] = codes.get(code, 0) + 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(analyzer(n) for n in range(connections)))
    return latencies, codes, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--tubes", type=int, default=500)
    ap.add_argument("--processes", type=int, default=1, help="`labpulse mllp --reuse-port` processes")
    ap.add_argument(
        "--critical-every", type=int, default=1,
        help="one message in N carries a critical value (1: every one, the worst case; 0: none)",
    )  # fmt: skip
    ap.add_argument("--appliers", type=int, default=None, help="LABPULSE_MLLP_APPLIERS of each listener process")
    ap.add_argument("--mix", action="store_true", help="ADT 10 %%, ORM 30 %%, ORU 60 %% (a lab's whole stream)")
    ap.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = ap.parse_args()
    settings, env = throwaway(args.database_url, args.redis_url, "lph")
    env["LABPULSE_DB_POOL_MAX"] = str(max(args.connections, 4))
    if args.appliers:
        env["LABPULSE_MLLP_APPLIERS"] = str(args.appliers)
    procs: list[subprocess.Popen[str]] = []
    try:
        print(f"setting up {args.tubes} tubes in the lab, schema {settings.db_schema} …", flush=True)
        barcodes = asyncio.run(setup(settings, args.tubes))
        port = free_port()
        for _ in range(args.processes):
            proc = subprocess.Popen(
                [*labpulse_cmd(), "mllp", "--port", str(port), "--reuse-port"],
                env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert proc.stdout is not None
            proc.stdout.readline()
            procs.append(proc)
        time.sleep(1.5)
        listener_cpu0 = sum(cpu_seconds(p.pid) for p in procs)
        postgres_cpu0 = postgres_cpu_seconds()
        driver_cpu0 = time.process_time()
        latencies, codes, elapsed = asyncio.run(
            drive(port, barcodes, args.messages, args.connections, args.critical_every, args.mix)
        )
        driver_cpu = time.process_time() - driver_cpu0
        listener_cpu = sum(cpu_seconds(p.pid) for p in procs) - listener_cpu0
        postgres_cpu = postgres_cpu_seconds() - postgres_cpu0

        async def stored() -> tuple[int, int]:
            conn = await asyncpg.connect(args.database_url)
            m = await conn.fetchval(f"SELECT count(*) FROM \"{settings.db_schema}\".hl7_messages WHERE ack_code = 'AA'")
            r = await conn.fetchval(f'SELECT count(*) FROM "{settings.db_schema}".results')
            await conn.close()
            return int(m), int(r)

        messages, results = asyncio.run(stored())
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
        asyncio.run(drop(settings))
    sent = len(latencies)
    print(
        f"\n{datetime.now(UTC):%Y-%m-%d} · {os.cpu_count()} cores · {args.processes} listener process(es) · "
        f"{args.connections} MLLP connections · {args.appliers or 'default'} appliers each · "
        f"critical value in 1 message of {args.critical_every or 'none'}"
        + (" · mixed: ADT 10 %, ORM 30 %, ORU 60 %" if args.mix else "")
    )
    print(f"messages acknowledged      {sent} in {elapsed:.1f} s  ({sent / elapsed:,.0f} per second)  ACKs {codes}")
    print(
        f"ACK latency ms             p50 {pct(latencies, 50):.2f}  p99 {pct(latencies, 99):.2f}  "
        f"max {max(latencies):.2f}"
    )
    results_expected = sum(4 for k in range(sent) if not args.mix or k % 10 > 3)
    print(f"stored                     {messages} messages, {results} results (expected {sent} and {results_expected})")
    cores = os.cpu_count() or 1
    print(
        f"CPU used                   listeners {listener_cpu:.1f} s ({listener_cpu / sent * 1000:.2f} ms per message), "
        f"PostgreSQL {postgres_cpu:.1f} s ({postgres_cpu / sent * 1000:.2f} ms per message), "
        f"this analyzer simulator {driver_cpu:.1f} s ({driver_cpu / (elapsed * cores):.0%} of the machine)"
    )
    print(
        f"CPU per message, all told  {(listener_cpu + postgres_cpu + driver_cpu) / sent * 1000:.2f} ms "
        f"(on {cores} cores a ceiling near {sent * cores / (listener_cpu + postgres_cpu + driver_cpu):,.0f} per second)"
    )


if __name__ == "__main__":
    main()
