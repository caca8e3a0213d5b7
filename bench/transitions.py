"""Sustained sample transitions per second through the core (row + history + audit + outbox in one
transaction), and relay lag (commit → event received from Redis, bounded from both sides) p50/p99/max.

Three processes, as in production: this load generator, the real `labpulse worker` (outbox relay), and a
subscriber that timestamps every event it receives. Runs in a throwaway schema and Redis prefix.

    .venv/bin/python bench/transitions.py [--seconds 20] [--concurrency 32]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import time
from datetime import UTC, datetime

import asyncpg
import redis.asyncio as aioredis
from common import ROOT, labpulse_cmd, pct, throwaway

from core.booking.catalogue import Centre, upsert_centre
from core.config import Settings
from core.db.migrate import migrate
from core.db.pool import create_pool
from core.events import Event, events_channel
from core.identity import Actor, Role
from core.orders import service as orders
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault

PATH = [
    SampleState.IN_TRANSIT,
    SampleState.RECEIVED_AT_LAB,
    SampleState.PROCESSING,
    SampleState.COMPLETED,
    SampleState.REPORTED,
]
ADMIN = Actor("bench:admin", Role.ADMIN)


def subscriber(redis_url: str, channel: str, ready: mp.Event, stop: mp.Event, out: mp.Queue) -> None:  # type: ignore[type-arg]
    async def main() -> None:
        client = aioredis.from_url(redis_url)
        pubsub = client.pubsub()
        await pubsub.subscribe(channel)
        ready.set()
        lags: list[float] = []
        received: dict[tuple[str, int], float] = {}
        seen: set[str] = set()
        dupes = 0
        while not stop.is_set():
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if not msg:
                continue
            now = time.time()
            event = Event.from_json(msg["data"])
            if event.event_id in seen:
                dupes += 1
                continue
            seen.add(event.event_id)
            lags.append((now - event.created_at.timestamp()) * 1000)
            received[(event.payload["sample_id"], event.payload["version"])] = now
        out.put((lags, received, dupes))
        await pubsub.aclose()
        await client.aclose()

    asyncio.run(main())


async def setup(settings: Settings, n_samples: int) -> list[str]:
    assert settings.database_url
    conn = await asyncpg.connect(settings.database_url.reveal())
    await migrate(conn, settings.db_schema)
    await conn.close()
    pool = await create_pool(settings.database_url.reveal(), settings.db_schema, min_size=4, max_size=64)
    vault = Vault.from_settings(settings)
    barcodes: list[str] = []
    async with pool.acquire() as conn:
        await upsert_centre(conn, Centre("LAB-B", "Bench Lab", "lab", "Pune"))
        n_patients = max(1, n_samples // 3)  # about three tubes per patient, as in a typical order
        for i in range(n_patients):
            p = await patients.create(
                conn, vault, NewPatient(name=f"Bench Patient {i}", sex=Sex.FEMALE, phone=f"+9197{i:08d}"), actor=ADMIN
            )
            order = await orders.place(conn, patient_id=p.id, centre_id="LAB-B", test_codes=["CBC"], actor=ADMIN)
            for j in range(n_samples // n_patients):
                code = f"B{i:05d}-{j:03d}"
                await samples.register(
                    conn,
                    order_id=order.id,
                    barcode=code,
                    sample_type="whole_blood_edta",
                    actor=ADMIN,
                    centre_id="LAB-B",
                )
                barcodes.append(code)
        await conn.execute("UPDATE outbox SET published_at = now()")  # setup events are not measured
    await pool.close()
    return barcodes


async def load(
    pool: asyncpg.Pool, barcodes: list[str], seconds: float, concurrency: int, committed: dict[tuple[str, int], float]
) -> tuple[int, list[float]]:
    queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
    # Real scans arrive for many patients at once; a queue in patient order would make every worker wait on
    # the same patient's row lock (that patient's event sequence), which is not what a lab sees.
    random.Random(7).shuffle(barcodes)
    for code in barcodes:
        queue.put_nowait((code, 0))
    latencies: list[float] = []
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                try:
                    code, step = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                sample = await samples.transition(
                    conn, barcode=code, to_state=PATH[step], actor=ADMIN, centre_id="LAB-B"
                )
                committed[(sample.id, sample.version)] = time.time()
                latencies.append((time.perf_counter() - t0) * 1000)
                done += 1
                if step + 1 < len(PATH):
                    queue.put_nowait((code, step + 1))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--samples", type=int, default=8000, help="tubes prepared (5 transitions each)")
    ap.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = ap.parse_args()

    settings, env = throwaway(args.database_url, args.redis_url, "bench")
    schema = settings.db_schema
    print(f"setting up {args.samples} samples in schema {schema} …", flush=True)
    t = time.perf_counter()
    barcodes = asyncio.run(setup(settings, args.samples))
    print(f"  setup took {time.perf_counter() - t:.1f} s", flush=True)

    ready, stop, out = mp.Event(), mp.Event(), mp.Queue()
    sub = mp.Process(target=subscriber, args=(args.redis_url, events_channel(settings.redis_prefix), ready, stop, out))
    sub.start()
    ready.wait(10)
    relay = subprocess.Popen([*labpulse_cmd(), "worker"], env=env, cwd=ROOT)
    time.sleep(1.5)

    committed: dict[tuple[str, int], float] = {}

    async def run_load() -> tuple[int, list[float], float]:
        assert settings.database_url
        pool = await create_pool(
            settings.database_url.reveal(), schema, min_size=args.concurrency, max_size=args.concurrency
        )
        t0 = time.perf_counter()
        n, lat = await load(pool, barcodes, args.seconds, args.concurrency, committed)
        elapsed = time.perf_counter() - t0
        await pool.close()
        return n, lat, elapsed

    done, latencies, elapsed = asyncio.run(run_load())
    time.sleep(2.0)  # let the relay drain
    stop.set()
    lags, received, dupes = out.get(timeout=30)
    commit_lags = [(received[k] - t) * 1000 for k, t in committed.items() if k in received]
    sub.join(10)
    relay.terminate()
    relay.wait(10)

    async def cleanup() -> int:
        conn = await asyncpg.connect(args.database_url)
        unpublished = await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox WHERE published_at IS NULL')
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
        return int(unpublished)

    unpublished = asyncio.run(cleanup())
    print(f"\n{datetime.now(UTC):%Y-%m-%d} · {os.cpu_count()} cores · concurrency {args.concurrency} · {elapsed:.1f} s")
    print(f"transitions committed      {done}  ({done / elapsed:,.0f} per second)")
    print(
        f"transition latency ms      p50 {pct(latencies, 50):.2f}  p99 {pct(latencies, 99):.2f}  "
        f"max {max(latencies):.2f}"
    )
    print(
        f"relay lag ms, upper bound  p50 {pct(lags, 50):.2f}  p99 {pct(lags, 99):.2f}  max {max(lags):.2f}  "
        f"(outbox row written, before its commit → event received from Redis)"
    )
    print(
        f"relay lag ms, lower bound  p50 {pct(commit_lags, 50):.2f}  p99 {pct(commit_lags, 99):.2f}  "
        f"max {max(commit_lags):.2f}  (commit acknowledged to the writer → event received from Redis)"
    )
    print(
        f"events received            {len(lags)} of {done}  (lost {done - len(lags)}, duplicates {dupes}, "
        f"left unpublished {unpublished})"
    )
    print(f"mean latency               {statistics.fmean(latencies):.2f} ms")


if __name__ == "__main__":
    main()
