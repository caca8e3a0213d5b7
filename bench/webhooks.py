"""Chat webhook throughput: Twilio-signed WhatsApp webhooks per second and their response latency, against a real
`labpulse serve` process (signature check, replay guard, conversation state in Redis, the engine's queries,
TwiML), for a mixed conversation load: people opening the menu, walking through booking up to the confirmation,
asking for their report (date-of-birth check and status), listing their bookings, asking for help.

Open loop: requests are started at a fixed rate whatever the latency (as Twilio would send them); each simulated
person sends their next message only after the previous answer, so one person's conversation stays in order.
Runs in a throwaway schema.

    .venv/bin/python bench/webhooks.py [--rate 300] [--seconds 30] [--people 400]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import time
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
import asyncpg
from common import ROOT, cpu_seconds, drop, free_port, labpulse_cmd, pct, throwaway, wait_healthy
from twilio.request_validator import RequestValidator

from core.booking import slots
from core.booking.catalogue import Centre, upsert_centre
from core.db.migrate import migrate
from core.db.pool import create_pool
from core.identity import Actor, Role
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.vault import Vault

TOKEN = "bench-twilio-auth-token-000000000000"  # noqa: S105 - a throwaway token for this run
ADMIN = Actor("bench:admin", Role.ADMIN)
DOB = date(1985, 6, 15)
SCRIPTS = (
    ("hi", "1", "1", "2", "1", "1", "1", "no"),  # booking at a centre, up to the confirmation, then "no"
    ("where is my report", "15-06-1985"),  # identity check, then the status
    ("hi", "3"),  # my bookings
    ("help",),
    ("hindi", "english"),
)


async def setup(settings, people: int) -> None:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(settings.database_url.reveal())
    await migrate(conn, settings.db_schema)
    await conn.close()
    pool = await create_pool(settings.database_url.reveal(), settings.db_schema, min_size=2, max_size=4)
    vault = Vault.from_settings(settings)
    async with pool.acquire() as conn:
        await upsert_centre(conn, Centre("CC-W", "Webhook Bench Centre", "collection", "Mumbai"))
        await conn.execute("INSERT INTO served_pincodes VALUES ('400050', 'CC-W', 'Bandra West')")
        await slots.ensure(conn, datetime.now(UTC).date())
        await conn.execute("UPDATE slots SET capacity = 100000")
        for i in range(people):
            await patients.create(conn, vault, NewPatient(name=f"Bench {i}", sex=Sex.MALE, phone=phone(i),
                                                          date_of_birth=DOB), actor=ADMIN)  # fmt: skip
    await pool.close()


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and all its descendants (uvicorn's workers are children of the server)."""
    total = cpu_seconds(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += tree_cpu(int(child))
    return total


def phone(i: int) -> str:
    return f"+9198{i:08d}"


async def drive(port: int, rate: float, seconds: float, people: int) -> tuple[list[float], dict[int, int], float]:
    url = f"http://127.0.0.1:{port}/bots/twilio"
    validator = RequestValidator(TOKEN)
    sids = itertools.count()
    latencies: list[float] = []
    codes: dict[int, int] = {}
    resent = [0]
    locks = [asyncio.Lock() for _ in range(people)]
    scripts = [itertools.cycle([m for s in SCRIPTS[i % len(SCRIPTS):] + SCRIPTS[: i % len(SCRIPTS)] for m in s])
               for i in range(people)]  # fmt: skip
    # aiohttp: httpx spent ~10 ms of CPU per request at this concurrency, more than the server did.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:

        async def one(person: int) -> None:
            async with locks[person]:
                body = next(scripts[person])
                params = {"MessageSid": f"SM{next(sids):032d}", "AccountSid": "AC" + "0" * 32,
                          "From": f"whatsapp:{phone(person)}", "To": "whatsapp:+14155238886", "Body": body}  # fmt: skip
                headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
                t = time.perf_counter()
                for attempt in range(3):  # a keep-alive connection the server closed meanwhile: send again, as
                    try:  # Twilio would (same MessageSid: the replay guard makes it safe)
                        async with http.post(url, data=params, headers=headers) as r:
                            await r.read()
                        break
                    except aiohttp.ClientOSError:
                        if attempt == 2:
                            raise
                        resent[0] += 1
                latencies.append((time.perf_counter() - t) * 1000)
                codes[r.status] = codes.get(r.status, 0) + 1

        tasks: list[asyncio.Task[None]] = []
        start = time.perf_counter()
        n = int(rate * seconds)
        for k in range(n):
            delay = start + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(k % people)))
        await asyncio.gather(*tasks)
        codes[-1] = resent[0]  # resent after a connection reset
        return latencies, codes, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=300)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--people", type=int, default=400)
    ap.add_argument("--workers", type=int, default=1, help="`labpulse serve --workers N`")
    ap.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = ap.parse_args()
    settings, env = throwaway(args.database_url, args.redis_url, "lpw")
    port = free_port()
    env.update(TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN=TOKEN, LABPULSE_PUBLIC_URL=f"http://127.0.0.1:{port}",
               LABPULSE_LOG_LEVEL="warning")  # fmt: skip
    server: subprocess.Popen[bytes] | None = None
    try:
        print(f"setting up {args.people} people, schema {settings.db_schema} …", flush=True)
        asyncio.run(setup(settings, args.people))
        server = subprocess.Popen([*labpulse_cmd(), "serve", "--port", str(port), "--workers", str(args.workers)],
                                  env=env, cwd=ROOT, stdout=subprocess.DEVNULL)  # fmt: skip
        wait_healthy(port, server)
        asyncio.run(drive(port, args.rate, 5, args.people))  # warm up at the rate: pool connections, plans
        cpu0, driver0 = tree_cpu(server.pid), time.process_time()
        latencies, codes, elapsed = asyncio.run(drive(port, args.rate, args.seconds, args.people))
        cpu, driver = tree_cpu(server.pid) - cpu0, time.process_time() - driver0
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        asyncio.run(drop(settings))
    n = len(latencies)
    print(f"\n{datetime.now(UTC):%Y-%m-%d} · {os.cpu_count()} cores · {args.workers} server process(es) · "
          f"{args.people} people")  # fmt: skip
    print(f"webhooks answered          {n} in {elapsed:.1f} s  ({n / elapsed:,.0f} per second, offered {args.rate:g})")
    resent = codes.pop(-1, 0)
    print(f"status codes               {codes} ({resent} sent again after a connection reset)")
    print(f"latency ms                 p50 {pct(latencies, 50):.1f}  p99 {pct(latencies, 99):.1f}  "
          f"max {max(latencies):.1f}")  # fmt: skip
    print(f"server CPU                 {cpu:.1f} s ({cpu / n * 1000:.2f} ms per webhook, all server processes); "
          f"this load generator {driver:.1f} s ({driver / n * 1000:.2f} ms per webhook)")  # fmt: skip


if __name__ == "__main__":
    main()
