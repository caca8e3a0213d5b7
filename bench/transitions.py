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
import contextlib
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis
from common import ROOT, free_port, labpulse_cmd, pct, throwaway, wait_healthy
from prometheus_client.parser import text_string_to_metric_families

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
from portal.drill.servers import pgbouncer

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
        lags: list[tuple[float, float]] = []  # (received at, lag ms)
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
            lags.append((now, (now - event.created_at.timestamp()) * 1000))
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


@dataclass
class Sample:
    """The worker's and PostgreSQL's running totals at one moment (seconds, counts)."""

    at: float
    loop_held: float  # sum of the worker's event-loop lag
    relay: dict[str, float]  # sum of seconds per relay batch phase
    batches: float
    jobs: float
    checkpoints: float
    lock_waits: float  # backends waiting on a lock at that moment
    backlog: float  # events committed and not yet published
    idle: float  # the machine's idle CPU time so far (seconds, all cores)


def _idle_seconds() -> float:
    """The machine's idle CPU time since boot, all cores (/proc/stat: idle + iowait)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    return (int(fields[3]) + int(fields[4])) / os.sysconf("SC_CLK_TCK")


async def sample(ports: list[int], database_url: str, schema: str, into: list[Sample]) -> None:
    """Every 0.25 s: the workers' /metrics (summed) and PostgreSQL's checkpoint count and lock waits, for
    ``stalls``."""
    conn = await asyncpg.connect(database_url)
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                texts = [(await http.get(f"http://127.0.0.1:{port}/metrics")).text for port in ports]
                values: dict[str, float] = {}
                relay: dict[str, float] = {}
                for family in (f for text in texts for f in text_string_to_metric_families(text)):
                    for m in family.samples:
                        if m.name == "labpulse_relay_batch_seconds_sum":
                            relay[m.labels["phase"]] = relay.get(m.labels["phase"], 0.0) + m.value
                        elif m.name in ("labpulse_event_loop_lag_seconds_sum", "labpulse_relay_batch_seconds_count",
                                        "labpulse_jobs_total"):  # fmt: skip
                            values[m.name] = values.get(m.name, 0.0) + m.value
                row = await conn.fetchrow(
                    "SELECT (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter) AS checkpoints,"
                    " (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock') AS lock_waits,"
                    f' (SELECT count(*) FROM "{schema}".outbox WHERE published_at IS NULL) AS backlog'
                )
                into.append(Sample(time.time(), values.get("labpulse_event_loop_lag_seconds_sum", 0.0), relay,
                                   values.get("labpulse_relay_batch_seconds_count", 0.0) / 3,
                                   values.get("labpulse_jobs_total", 0.0), float(row["checkpoints"]),
                                   float(row["lock_waits"]), float(row["backlog"]), _idle_seconds()))  # fmt: skip
                await asyncio.sleep(0.25)
    finally:
        await conn.close()


def stalls(timed: list[tuple[float, float]], taken: list[Sample], worst: int = 3) -> list[str]:
    """The seconds of the run with the highest relay lag, and what the worker and PostgreSQL were doing in each:
    the stall's cause, as far as the figures can tell it."""
    by_second: dict[int, list[float]] = {}
    for at, lag in timed:
        by_second.setdefault(int(at), []).append(lag)
    ranked = sorted(by_second, key=lambda sec: pct(by_second[sec], 99), reverse=True)[:worst]
    lines = ["slowest seconds (relay lag p99 in that second, and what happened from 1 s before it to its end):"]
    for sec in sorted(ranked):
        start = [x for x in taken if x.at <= sec - 1] or taken[:1]
        end = [x for x in taken if x.at >= sec + 1] or taken[-1:]
        if not start or not end:
            continue
        a, b = start[-1], end[0]
        phases = {k: b.relay.get(k, 0.0) - a.relay.get(k, 0.0) for k in ("read", "publish", "mark")}
        held = b.loop_held - a.loop_held
        lines.append(
            f"  lag p99 {pct(by_second[sec], 99):7.1f} ms over {len(by_second[sec])} events: worker event loop held "
            f"{held * 1000:.0f} ms; relay {b.batches - a.batches:.0f} batches, read {phases['read'] * 1000:.0f} ms, "
            f"publish {phases['publish'] * 1000:.0f} ms, mark {phases['mark'] * 1000:.0f} ms; jobs run "
            f"{b.jobs - a.jobs:.0f}; PostgreSQL checkpoints {b.checkpoints - a.checkpoints:.0f}, lock waits "
            f"{max(x.lock_waits for x in taken if a.at <= x.at <= b.at):.0f}; events waiting for the relay up to "
            f"{max(x.backlog for x in taken if a.at <= x.at <= b.at):.0f}; machine idle {idle_pct(a, b):.0f}% "
            f"→ {cause(held, phases, b, a)}"
        )
    return lines


def idle_pct(a: Sample, b: Sample) -> float:
    return 100 * (b.idle - a.idle) / max(1e-9, (b.at - a.at) * (os.cpu_count() or 1))


def cause(held: float, phases: dict[str, float], b: Sample, a: Sample) -> str:
    """The largest share of the window's time, in words."""
    if idle_pct(a, b) < 5:
        return "the machine's CPUs were saturated (the writers, PostgreSQL, the relay and the subscriber share them)"
    if b.checkpoints > a.checkpoints and phases["mark"] >= max(phases["read"], phases["publish"]):
        return "a PostgreSQL checkpoint slowed the relay's commits"
    shares = {"the worker's event loop was held (by other work in its process)": held,
              "reading the outbox (PostgreSQL)": phases["read"], "publishing to Redis": phases["publish"],
              "marking the batch published and committing (PostgreSQL)": phases["mark"]}  # fmt: skip
    name, seconds = max(shares.items(), key=lambda kv: kv[1])
    if seconds < 0.2:
        return "not the relay: it was idle most of the window, so the lag came before it (the writers' commits)"
    return name


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--samples", type=int, default=8000, help="tubes prepared (5 transitions each)")
    ap.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    ap.add_argument("--workers", type=int, default=1, help="`labpulse worker` processes (one relay active at a time)")
    ap.add_argument("--pgbouncer", action="store_true", help="writers and workers through Debian's PgBouncer")
    ap.add_argument(
        "--start-early",
        action="store_true",
        help="start the load 1.5 s after the workers, ready or not (how the relay-lag stall was found)",
    )
    args = ap.parse_args()

    settings, env = throwaway(args.database_url, args.redis_url, "bench")
    schema = settings.db_schema
    print(f"setting up {args.samples} samples in schema {schema} …", flush=True)
    t = time.perf_counter()
    barcodes = asyncio.run(setup(settings, args.samples))
    print(f"  setup took {time.perf_counter() - t:.1f} s", flush=True)

    with contextlib.ExitStack() as exits:
        load_url = args.database_url
        if args.pgbouncer:  # the writers and the relays through PgBouncer in transaction pooling mode
            load_url = exits.enter_context(pgbouncer(args.database_url, schema, pool_size=args.concurrency + 8))
            env.update(DATABASE_URL=load_url, LABPULSE_DB_POOLER="transaction",
                       LABPULSE_LISTEN_DATABASE_URL=args.database_url,
                       LABPULSE_MIGRATION_DATABASE_URL=args.database_url)  # fmt: skip
        measure(args, settings, env, barcodes, load_url, exits)


def measure(args: argparse.Namespace, settings: Settings, env: dict[str, str], barcodes: list[str], load_url: str,
            exits: contextlib.ExitStack) -> None:  # fmt: skip
    schema = settings.db_schema
    ready, stop, out = mp.Event(), mp.Event(), mp.Queue()
    sub = mp.Process(target=subscriber, args=(args.redis_url, events_channel(settings.redis_prefix), ready, stop, out))
    sub.start()
    ready.wait(10)
    ports = [free_port() for _ in range(args.workers)]
    relays = [subprocess.Popen([*labpulse_cmd(), "worker", "--health-port", str(port)], env=env, cwd=ROOT)
              for port in ports]  # fmt: skip
    exits.callback(_stop, relays)
    spawned = time.monotonic()
    if args.start_early:  # as this bench did before: the load 1.5 s after the workers were started
        time.sleep(1.5)
    else:
        for port, relay in zip(ports, relays, strict=True):
            wait_healthy(port, relay, path="/readyz")
        print(f"  worker(s) ready {time.monotonic() - spawned:.1f} s after they were started", flush=True)
        time.sleep(2.0)  # the workers' first sweep and slot-making are over before the load starts

    committed: dict[tuple[str, int], float] = {}

    async def run_load() -> tuple[int, list[float], float]:
        assert settings.database_url
        pool = await create_pool(load_url, schema, min_size=args.concurrency, max_size=args.concurrency,
                                 pooled=args.pgbouncer)  # fmt: skip
        sampling = asyncio.create_task(sample(ports, args.database_url, schema, samples_taken))
        t0 = time.perf_counter()
        n, lat = await load(pool, barcodes, args.seconds, args.concurrency, committed)
        elapsed = time.perf_counter() - t0
        await asyncio.sleep(2.0)  # let the relay drain, still sampling
        sampling.cancel()
        await pool.close()
        return n, lat, elapsed

    samples_taken: list[Sample] = []
    done, latencies, elapsed = asyncio.run(run_load())
    stop.set()
    timed, received, dupes = out.get(timeout=30)
    lags = [lag for _, lag in timed]
    commit_lags = [(received[k] - t) * 1000 for k, t in committed.items() if k in received]
    sub.join(10)
    _stop(relays)

    async def cleanup() -> int:
        conn = await asyncpg.connect(args.database_url)
        unpublished = await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox WHERE published_at IS NULL')
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
        return int(unpublished)

    unpublished = asyncio.run(cleanup())
    through = "through PgBouncer (transaction pooling)" if args.pgbouncer else "direct"
    print(f"\n{datetime.now(UTC):%Y-%m-%d} · {os.cpu_count()} cores · concurrency {args.concurrency} · {elapsed:.1f} s"
          f" · {args.workers} worker(s) · {through}")  # fmt: skip
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
    for line in stalls(timed, samples_taken):
        print(line)


if __name__ == "__main__":
    main()
