"""Status fan-out: N concurrent authenticated /ws/status sockets of distinct patients, M transitions per second
through the core; connect rate, change → socket latency p50/p99/max, server RSS per connection, and lost and
duplicated events (both must be 0).

Processes, as in production: one real `labpulse serve` (one uvicorn process, relay off), the real
`labpulse worker` (outbox relay), and this load generator, which drives the transitions and runs the sockets in
separate client processes (--clients, 5,000 sockets each by default). Every socket belongs to its own patient,
signed in with a real Redis session cookie, and that patient has one tube that the driver moves along
collected → in_transit → received_at_lab → processing → completed → reported. Latency is the time from the
transition's commit being acknowledged to the driver to the event frame arriving on that patient's socket
(same machine clock). The clients freeze and disable their own garbage collector once connected, so their
pauses do not show as server latency. Runs in a throwaway schema and Redis prefix.

    .venv/bin/python bench/fanout.py [--sockets 10000] [--rate 500] [--seconds 30] [--clients 2]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import http.client
import json
import math
import multiprocessing as mp
import os
import queue
import random
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from core.config import Secret, Settings
from core.crypto import generate_key
from core.db.migrate import migrate
from core.db.pool import create_pool
from core.events import events_channel
from core.identity import Actor, Role
from core.orders import service as orders
from core.orders.store import Centre, upsert_centre
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.patients.sessions import PATIENT_COOKIE, PatientSessions
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault

ROOT = Path(__file__).resolve().parents[1]
ADMIN = Actor("bench:admin", Role.ADMIN)
# The tube's path after registration, each step scanned by the role that does it in a lab.
STEPS: list[tuple[SampleState, Actor]] = [
    (SampleState.IN_TRANSIT, Actor("bench:phlebotomist", Role.PHLEBOTOMIST)),
    (SampleState.RECEIVED_AT_LAB, Actor("bench:tech", Role.LAB_TECHNICIAN)),
    (SampleState.PROCESSING, Actor("bench:tech", Role.LAB_TECHNICIAN)),
    (SampleState.COMPLETED, Actor("bench:tech", Role.LAB_TECHNICIAN)),
    (SampleState.REPORTED, Actor("bench:pathologist", Role.PATHOLOGIST)),
]
CENTRE = "LAB-F"
SOCKETS_PER_CLIENT = 5000
ATTEMPTS = 10  # handshakes per socket before it counts as failed


@dataclass(frozen=True, slots=True)
class Subject:
    patient_id: str
    barcode: str
    phone_lookup: str  # hex, as a session holds it
    token: str = ""


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def tally(counts: Counter[str]) -> str:
    return " [" + ", ".join(f"{k}: {v}" for k, v in counts.most_common()) + "]" if counts else ""


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def labpulse_cmd() -> list[str]:
    exe = shutil.which("labpulse", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "portal.cli"]


def wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.3)
    raise TimeoutError(f"port {port}: /healthz did not answer 200")


def summarize_log(path: Path) -> Counter[str]:
    """The server's and relay's log lines, counted by message and the last line of any traceback."""
    counts: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("labpulse is serving on"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            counts[line[:160]] += 1
            continue
        exc = (entry.get("exception") or "").strip().splitlines()
        counts[
            f"{entry.get('level')}: {str(entry.get('event', '')).strip()[:80]}" + (f" — {exc[-1][:140]}" if exc else "")
        ] += 1
    return counts


# ---------------------------------------------------------------------------------------------- setup


async def setup(settings: Settings, n: int, concurrency: int) -> list[Subject]:
    """N patients, each with their own phone, one order and one collected tube, through the core services."""
    assert settings.database_url and settings.redis_url
    conn = await asyncpg.connect(settings.database_url.reveal())
    await migrate(conn, settings.db_schema)
    await conn.close()
    pool = await create_pool(
        settings.database_url.reveal(), settings.db_schema, min_size=concurrency, max_size=concurrency
    )
    vault = Vault.from_settings(settings)
    async with pool.acquire() as conn:
        await upsert_centre(conn, Centre(CENTRE, "Fan-out Lab", "lab", "Pune"))
    subjects: list[Subject | None] = [None] * n
    next_i = 0

    async def worker() -> None:
        nonlocal next_i
        async with pool.acquire() as conn:
            while next_i < n:
                i, next_i = next_i, next_i + 1
                p = await patients.create(
                    conn,
                    vault,
                    NewPatient(name=f"Fanout Patient {i}", sex=Sex.FEMALE, phone=f"+9198{i:08d}"),
                    actor=ADMIN,
                )
                assert p.phone
                order = await orders.place(conn, patient_id=p.id, centre_id=CENTRE, test_codes=["CBC"], actor=ADMIN)
                code = f"F{i:06d}"
                await samples.register(
                    conn, order_id=order.id, barcode=code, sample_type="whole_blood_edta", actor=ADMIN, centre_id=CENTRE
                )
                subjects[i] = Subject(p.id, code, vault.lookup.digest("phone", p.phone).hex())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    async with pool.acquire() as conn:
        await conn.execute("UPDATE outbox SET published_at = now()")  # setup events are not measured
    await pool.close()

    redis = aioredis.from_url(settings.redis_url.reveal())
    sessions = PatientSessions(redis, settings.redis_prefix)
    out: list[Subject] = []
    for chunk in range(0, n, 50):
        part = [s for s in subjects[chunk : chunk + 50] if s is not None]
        tokens = await asyncio.gather(
            *(
                sessions.create(phone_lookup=s.phone_lookup, phone_hint="+91******0000", active_patient_id=s.patient_id)
                for s in part
            )
        )
        out += [Subject(s.patient_id, s.barcode, s.phone_lookup, t) for s, t in zip(part, tokens, strict=True)]
    await redis.aclose()
    return out


# ---------------------------------------------------------------------------------------------- clients


def client(
    idx: int,
    url: str,
    origin: str,
    creds: list[tuple[str, str]],
    connect_concurrency: int,
    ctl: mp.Queue,  # type: ignore[type-arg]
    stop: mp.Event,  # type: ignore[type-arg]
    received: Any,  # mp.Value('q'): events received so far, read by the driver to know when all arrived
) -> None:
    """One load-generator process holding len(creds) sockets; reports what each one received."""
    raise_nofile()
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    async def main() -> None:
        records: list[tuple[str, int, int, float, str]] = []  # sample_id, version, seq, received at, frame "at"
        dupes = gaps = replays = closed = 0
        close_codes: Counter[str] = Counter()
        failures: Counter[str] = Counter()
        retries: Counter[str] = Counter()
        sem = asyncio.Semaphore(connect_concurrency)
        readers: list[asyncio.Task[None]] = []
        stopping = False

        async def read(ws: Any, last_seq: int) -> None:
            nonlocal dupes, gaps, replays, closed
            seen: set[str] = set()
            try:
                async for raw in ws:
                    now = time.time()
                    msg = json.loads(raw)
                    if msg.get("type") != "event":
                        continue
                    if msg["event_id"] in seen or msg["last_event_id"] <= last_seq:
                        dupes += 1
                        continue
                    seen.add(msg["event_id"])
                    if msg["last_event_id"] != last_seq + 1:
                        gaps += 1
                    if msg["replay"]:
                        replays += 1
                    last_seq = msg["last_event_id"]
                    data = msg["data"]
                    records.append((data["sample_id"], data["version"], last_seq, now, msg["at"]))
                    received.value += 1
            except ConnectionClosed:
                pass
            if not stopping:  # the server closed it (a clean close ends the loop without raising)
                closed += 1
                close_codes[str(ws.close_code)] += 1

        def why(exc: BaseException) -> str:
            if isinstance(exc, ConnectionClosed):
                return f"closed {exc.rcvd.code if exc.rcvd else 'without a close frame'}"
            if isinstance(exc, InvalidStatus):
                return f"HTTP {exc.response.status_code}"
            return type(exc).__name__

        async def open_one(patient_id: str, token: str) -> bool:
            """Open one socket and read its snapshot; on failure, reconnect as a browser would (with backoff)."""
            for attempt in range(ATTEMPTS):
                try:
                    async with sem:
                        ws = await connect(
                            url,
                            origin=origin,  # type: ignore[arg-type]
                            additional_headers={"Cookie": f"{PATIENT_COOKIE}={token}"},
                            compression=None,
                            proxy=None,
                            ping_interval=None,
                            open_timeout=120,
                            close_timeout=1,
                            user_agent_header=None,
                        )
                        first = json.loads(await asyncio.wait_for(ws.recv(), 120))
                    if first.get("type") != "snapshot" or first.get("patient_id") != patient_id:
                        failures[f"first frame {first.get('type')}:{first.get('code')}"] += 1
                        await ws.close()
                        return False
                    readers.append(asyncio.create_task(read(ws, int(first["last_event_id"]))))
                    return True
                except Exception as exc:  # noqa: BLE001 — counted and retried, as a client would
                    if attempt == ATTEMPTS - 1:
                        failures[why(exc)] += 1
                        return False
                    retries[why(exc)] += 1
                    await asyncio.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + random.random()))
            return False

        t0 = time.time()
        ok = sum(await asyncio.gather(*(open_one(p, t) for p, t in creds)))
        t1 = time.time()
        gc.collect()
        gc.freeze()
        gc.disable()
        ctl.put(("connected", idx, ok, dict(failures), dict(retries), t0, t1))
        await asyncio.to_thread(stop.wait)
        stopping = True
        ctl.put(("done", idx, records, dupes, gaps, replays, closed, dict(close_codes)))
        ctl.close()
        ctl.join_thread()
        os._exit(0)  # the kernel closes the sockets; a polite close of thousands is not what is measured

    asyncio.run(main())


def bus_listener(redis_url: str, channel: str, ready: Any, stop: Any, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """Timestamps each event as it reaches Redis, to split the latency into relay (commit → Redis) and server
    (Redis → socket) parts."""

    async def main() -> None:
        redis = aioredis.from_url(redis_url)
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)
        ready.set()
        seen: dict[tuple[str, int], float] = {}
        while not stop.is_set():
            msg = await pubsub.get_message(timeout=0.1)
            if msg is None:
                continue
            now = time.time()
            payload = json.loads(msg["data"])["payload"]
            seen.setdefault((payload["sample_id"], payload["version"]), now)
        out.put(seen)
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()

    asyncio.run(main())


# ---------------------------------------------------------------------------------------------- driver


async def drive(
    settings: Settings, subjects: list[Subject], rate: float, total: int, concurrency: int
) -> tuple[dict[tuple[str, int], float], list[str], float, float, float]:
    """Open loop: transition i starts at t0 + i/rate (tube i mod N, its next step). Returns the commit time
    of every (sample_id, version), errors, elapsed seconds, the worst start lateness and the driver t0."""
    assert settings.database_url
    pool = await create_pool(
        settings.database_url.reveal(), settings.db_schema, min_size=concurrency, max_size=concurrency
    )
    order = list(subjects)
    random.Random(11).shuffle(order)
    locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)  # a tube's steps run in order
    committed: dict[tuple[str, int], float] = {}
    errors: list[str] = []
    tasks: set[asyncio.Task[None]] = set()
    worst_late = 0.0

    async def one(i: int) -> None:
        subject = order[i % len(order)]
        to_state, actor = STEPS[i // len(order)]
        async with locks[subject.barcode], pool.acquire() as conn:
            try:
                s = await samples.transition(
                    conn, barcode=subject.barcode, to_state=to_state, actor=actor, centre_id=CENTRE
                )
                committed[(s.id, s.version)] = time.time()
            except Exception as exc:  # noqa: BLE001 — reported, not raised: the run goes on
                errors.append(f"{subject.barcode} → {to_state.value}: {exc!r}")

    t0 = time.perf_counter()
    wall0 = time.time()
    i = 0
    while i < total:
        now = time.perf_counter()
        due = min(total, int((now - t0) * rate) + 1)
        if due > i:
            worst_late = max(worst_late, now - (t0 + i / rate))
        while i < due:
            task = asyncio.create_task(one(i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    await pool.close()
    return committed, errors, elapsed, worst_late, wall0


# ---------------------------------------------------------------------------------------------- main


def collect(ctl: mp.Queue, count: int, workers: list[mp.Process]) -> list[Any]:  # type: ignore[type-arg]
    """``count`` reports from the client processes; fails fast if one of them died instead of reporting."""
    got: list[Any] = []
    while len(got) < count:
        try:
            got.append(ctl.get(timeout=2))
        except queue.Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a client process exited with {dead[0]} before reporting") from None
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sockets", type=int, default=10_000, help="concurrent sockets, one patient each")
    ap.add_argument("--rate", type=float, default=500, help="transitions per second through the core")
    ap.add_argument("--seconds", type=float, default=30, help="how long transitions are driven")
    ap.add_argument("--clients", type=int, default=0, help=f"socket processes (default: one per {SOCKETS_PER_CLIENT})")
    ap.add_argument("--connect-concurrency", type=int, default=64, help="handshakes in flight, all clients together")
    ap.add_argument("--driver-concurrency", type=int, default=16, help="database connections driving transitions")
    ap.add_argument("--setup-concurrency", type=int, default=8)
    ap.add_argument("--server-pool-max", type=int, default=20, help="LABPULSE_DB_POOL_MAX of the server")
    ap.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = ap.parse_args()
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    nofile = raise_nofile()  # inherited by the server, the relay and the clients
    n = args.sockets
    clients = args.clients or max(1, math.ceil(n / SOCKETS_PER_CLIENT))
    total = int(args.rate * args.seconds)
    if total > n * len(STEPS):
        print(f"note: {n} tubes allow {n * len(STEPS)} transitions; driving that many, not {total}", flush=True)
        total = n * len(STEPS)
    if n + 200 > nofile:
        print(f"warning: RLIMIT_NOFILE is {nofile}, below {n} sockets plus headroom", flush=True)

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    prefix = f"lpb:{schema}"
    key = base64.b64encode(generate_key()).decode()
    lookup = base64.b64encode(os.urandom(32)).decode()
    secret = uuid.uuid4().hex + uuid.uuid4().hex
    settings = Settings(
        mode="production",
        database_url=Secret(args.database_url),
        redis_url=Secret(args.redis_url),
        db_schema=schema,
        redis_prefix=prefix,
        field_keys={"f1": Secret(key)},
        field_key_active="f1",
        lookup_key=Secret(lookup),
        secret_key=Secret(secret),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABPULSE_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        LABPULSE_MODE="production",
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        LABPULSE_DB_SCHEMA=schema,
        LABPULSE_REDIS_PREFIX=prefix,
        LABPULSE_FIELD_KEYS=f"f1:{key}",
        LABPULSE_LOOKUP_KEY=lookup,
        LABPULSE_SECRET_KEY=secret,
        LABPULSE_SERVE_RELAY="off",
        LABPULSE_WS_IDLE_SECONDS="3600",
        LABPULSE_DB_POOL_MAX=str(args.server_pool_max),
        LABPULSE_LOG_LEVEL="warning",
    )
    procs: list[subprocess.Popen[bytes]] = []
    workers: list[mp.Process] = []
    log = tempfile.NamedTemporaryFile(prefix="fanout-", suffix=".log", delete=False)
    try:
        print(f"setting up {n} patients, tubes and sessions in schema {schema} …", flush=True)
        t = time.perf_counter()
        subjects = asyncio.run(setup(settings, n, args.setup_concurrency))
        print(f"  setup took {time.perf_counter() - t:.1f} s", flush=True)

        port = free_port()
        server = subprocess.Popen(
            [*labpulse_cmd(), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-demo-data"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(server)
        relay = subprocess.Popen([*labpulse_cmd(), "worker"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        procs.append(relay)
        wait_healthy(port, server)
        time.sleep(1.0)
        rss_before = rss_kib(server.pid)
        cpu_before = cpu_seconds(server.pid)

        print(f"opening {n} sockets from {clients} client process(es) …", flush=True)
        ctl: mp.Queue = mp.Queue()  # type: ignore[type-arg]
        stop = mp.Event()
        counters = [mp.Value("q", 0, lock=False) for _ in range(clients)]
        per = math.ceil(n / clients)
        for c in range(clients):
            creds = [(s.patient_id, s.token) for s in subjects[c * per : (c + 1) * per]]
            w = mp.Process(
                target=client,
                args=(
                    c,
                    f"ws://127.0.0.1:{port}/ws/status",
                    f"http://127.0.0.1:{port}",
                    creds,
                    max(1, args.connect_concurrency // clients),
                    ctl,
                    stop,
                    counters[c],
                ),
            )
            w.start()
            workers.append(w)
        connected = collect(ctl, clients, workers)
        ok = sum(m[2] for m in connected)
        failures: Counter[str] = Counter()
        for m in connected:
            failures.update(m[3])
        retries: Counter[str] = Counter()
        for m in connected:
            retries.update(m[4])
        connect_s = max(m[6] for m in connected) - min(m[5] for m in connected)
        cpu_connect = cpu_seconds(server.pid) - cpu_before
        time.sleep(2.0)
        rss_connected = rss_kib(server.pid)
        client_rss = sum(rss_kib(w.pid) for w in workers if w.pid)  # the bus listener starts later
        print(f"  {ok} of {n} sockets open in {connect_s:.1f} s; driving {total} transitions …", flush=True)

        bus_ready, bus_out = mp.Event(), mp.Queue()  # type: ignore[var-annotated]
        bus = mp.Process(target=bus_listener, args=(args.redis_url, events_channel(prefix), bus_ready, stop, bus_out))
        bus.start()
        workers.append(bus)
        bus_ready.wait(10)
        gc.collect()
        gc.freeze()
        cpu_run0 = cpu_seconds(server.pid)
        committed, errors, elapsed, worst_late, wall0 = asyncio.run(
            drive(settings, subjects, args.rate, total, args.driver_concurrency)
        )
        deadline = time.monotonic() + 15
        while sum(c.value for c in counters) < len(committed) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # anything beyond what was committed (a duplicate) has a moment to show
        cpu_run = cpu_seconds(server.pid) - cpu_run0
        rss_end = rss_kib(server.pid)
        stop.set()
        done = collect(ctl, clients, workers)
        on_bus: dict[tuple[str, int], float] = bus_out.get(timeout=60)
    finally:
        for w in workers:
            w.join(10)
            if w.is_alive():
                w.kill()
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

        async def cleanup() -> None:
            conn = await asyncpg.connect(args.database_url)
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await conn.close()
            redis = aioredis.from_url(args.redis_url)
            batch = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
            for i in range(0, len(batch), 1000):
                await redis.delete(*batch[i : i + 1000])
            await redis.aclose()

        asyncio.run(cleanup())

    received: dict[tuple[str, int], tuple[float, str]] = {}
    dupes = gaps = replays = closed = 0
    close_codes: Counter[str] = Counter()
    for m in done:
        for sample_id, version, _seq, at, frame_at in m[2]:
            if (sample_id, version) in received:
                dupes += 1
            else:
                received[(sample_id, version)] = (at, frame_at)
        dupes += m[3]
        gaps += m[4]
        replays += m[5]
        closed += m[6]
        close_codes.update(m[7])
    lat: list[float] = []
    upper: list[float] = []
    relay_part: list[float] = []
    server_part: list[float] = []
    by_second: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
    for k, t_commit in committed.items():
        got = received.get(k)
        if got is None:
            continue
        ms = (got[0] - t_commit) * 1000
        lat.append(ms)
        upper.append((got[0] - datetime.fromisoformat(got[1]).timestamp()) * 1000)
        t_bus = on_bus.get(k)
        r_ms = (t_bus - t_commit) * 1000 if t_bus else float("nan")
        s_ms = (got[0] - t_bus) * 1000 if t_bus else float("nan")
        if t_bus:
            relay_part.append(r_ms)
            server_part.append(s_ms)
        by_second[int(t_commit - wall0)].append((ms, r_ms, s_ms))
    lost = sum(1 for k in committed if k not in received)
    unexpected = sum(1 for k in received if k not in committed)
    slow = sum(1 for v in lat if v > 100)
    spikes = sorted(
        (
            (
                max(x[0] for x in v),
                s,
                sum(1 for x in v if x[0] > 100),
                max((x[1] for x in v if x[1] == x[1]), default=0),
                max((x[2] for x in v if x[2] == x[2]), default=0),
            )
            for s, v in by_second.items()
        ),
        reverse=True,
    )[:5]

    server_log = summarize_log(Path(log.name))
    print(
        f"\n{datetime.now(UTC):%Y-%m-%d} · {os.cpu_count()} cores · one server process · {clients} client process(es)"
    )
    print(f"command                    {command}")
    print(
        f"sockets open               {ok} of {n}  (failed {sum(failures.values())}{tally(failures)}, "
        f"reconnects {sum(retries.values())}{tally(retries)})"
    )
    print(
        f"connect rate               {ok / connect_s:,.0f} sockets/s  ({connect_s:.1f} s for all; server CPU "
        f"{cpu_connect:.1f} s, {cpu_connect / connect_s * 100:.0f}% of a core)"
    )
    print(
        f"server RSS                 {rss_before / 1024:.1f} MiB idle → {rss_connected / 1024:.1f} MiB connected → "
        f"{rss_end / 1024:.1f} MiB after the run"
    )
    print(f"server RSS per connection  {(rss_connected - rss_before) / max(ok, 1):.1f} KiB")
    print(
        f"transitions committed      {len(committed)} of {total} in {elapsed:.1f} s  ({len(committed) / elapsed:,.0f}"
        f" per second, target {args.rate:g}; worst start lateness {worst_late * 1000:.0f} ms; errors {len(errors)})"
    )
    print(
        f"change → socket ms         p50 {pct(lat, 50):.1f}  p99 {pct(lat, 99):.1f}  max {max(lat, default=0):.1f}  "
        f"(commit acknowledged to the driver → frame read by the client)"
    )
    print(
        f"  upper bound ms           p50 {pct(upper, 50):.1f}  p99 {pct(upper, 99):.1f}  "
        f"max {max(upper, default=0):.1f}  (event row written, before its commit → frame read)"
    )
    print(f"  over 100 ms              {slow} of {len(lat)}")
    print(
        f"  commit → Redis ms        p50 {pct(relay_part, 50):.1f}  p99 {pct(relay_part, 99):.1f}  "
        f"max {max(relay_part, default=0):.1f}  (the relay: outbox poll, publish)"
    )
    print(
        f"  Redis → socket ms        p50 {pct(server_part, 50):.1f}  p99 {pct(server_part, 99):.1f}  "
        f"max {max(server_part, default=0):.1f}  (the server: hub, sender task, socket write; the client's read)"
    )
    print("  worst seconds (since the first transition; max total, and max of the relay and server parts)")
    for mx, sec, k, r_mx, s_mx in spikes:
        print(f"    t={sec:>3}s  max {mx:6.1f} ms  ({k} over 100 ms)  relay max {r_mx:6.1f}  server max {s_mx:6.1f}")
    print(
        f"events                     expected {len(committed)}  received {len(received)}  lost {lost}  "
        f"duplicated {dupes}  (unexpected {unexpected}, seq gaps {gaps}, replayed {replays})"
    )
    print(f"sockets closed mid-run     {closed}{tally(close_codes)}")
    print(
        f"server CPU during the run  {cpu_run:.1f} s  ({cpu_run / elapsed * 100:.0f}% of a core); "
        f"client processes RSS {client_rss / 1024:.0f} MiB"
    )
    if errors:
        print("first transition errors:   " + " | ".join(errors[:3]))
    if server_log:
        print(f"server/relay log ({log.name}):")
        for line, count in server_log.most_common(8):
            print(f"  {count:6} × {line}")
    else:
        Path(log.name).unlink()


if __name__ == "__main__":
    main()
