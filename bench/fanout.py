"""Status fan-out: N concurrent authenticated /ws/status sockets of distinct patients, M transitions per second
through the core; connect rate, change → socket latency p50/p99/max, server RSS per connection, and lost and
duplicated events (both must be 0).

Processes, as in production: one real `labpulse serve` (one uvicorn process, relay off), the real
`labpulse worker` (outbox relay), and this load generator, which drives the transitions and runs the sockets in
separate client processes (--clients, 5,000 sockets each by default; each socket a bare asyncio
protocol, so the clients take little of the CPU the server is measured on). Every socket belongs to its own patient,
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
import contextlib
import gc
import json
import math
import multiprocessing as mp
import os
import queue
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from common import (
    ROOT,
    cpu_seconds,
    cpu_seconds_of,
    drop,
    free_port,
    labpulse_cmd,
    machine_cpu,
    pct,
    raise_nofile,
    rss_kib,
    throwaway,
    wait_healthy,
)
from fanout_clients import bus_listener, client
from fanout_load import STEPS, drive, setup
from prometheus_client.parser import text_string_to_metric_families

from core.events import events_channel
from portal.drill.servers import pgbouncer

SOCKETS_PER_CLIENT = 5000


def tally(counts: Counter[str]) -> str:
    return " [" + ", ".join(f"{k}: {v}" for k, v in counts.most_common()) + "]" if counts else ""


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


def server_pauses(ports: list[int]) -> str:
    """What held the servers' event loops over their life (their /metrics): the loop's lag and the garbage
    collector's pauses by generation, the usual cause of a server-side stall with many sockets open."""
    lag_sum = lag_slow = 0.0
    gc: dict[str, list[float]] = {}
    for port in ports:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            for m in family.samples:
                if m.name == "labpulse_event_loop_lag_seconds_sum":
                    lag_sum += m.value
                elif m.name == "labpulse_event_loop_lag_seconds_bucket" and m.labels["le"] == "0.1":
                    lag_slow -= m.value
                elif m.name == "labpulse_event_loop_lag_seconds_count":
                    lag_slow += m.value
                elif m.name.startswith("labpulse_gc_pause_seconds_"):
                    row = gc.setdefault(m.labels["generation"], [0.0, 0.0, 0.0])
                    if m.name.endswith("_count"):
                        row[0] += m.value
                    elif m.name.endswith("_sum"):
                        row[1] += m.value
                    elif m.labels.get("le") == "1.0":
                        row[2] -= m.value
                    elif m.labels.get("le") == "+Inf":
                        row[2] += m.value
    collections = "; ".join(f"gen {g}: {int(r[0])} collections, {r[1]:.2f} s in all, {int(r[2])} over 1 s"
                            for g, r in sorted(gc.items()))  # fmt: skip
    return (f"event loop held {lag_sum:.1f} s in all, {int(lag_slow)} times over 100 ms; garbage collection "
            f"{collections or 'not timed'}")  # fmt: skip


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
    ap.add_argument("--web", type=int, default=1, help="`labpulse serve` processes (client processes spread over them)")
    ap.add_argument("--workers", type=int, default=1, help="`labpulse worker` processes")
    ap.add_argument("--pgbouncer", action="store_true", help="servers and workers through Debian's PgBouncer")
    args = ap.parse_args()
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    nofile = raise_nofile()  # inherited by the server, the relay and the clients
    n = args.sockets
    clients = args.clients or max(args.web, math.ceil(n / SOCKETS_PER_CLIENT))
    total = int(args.rate * args.seconds)
    if total > n * len(STEPS):
        print(f"note: {n} tubes allow {n * len(STEPS)} transitions; driving that many, not {total}", flush=True)
        total = n * len(STEPS)
    if n + 200 > nofile:
        print(f"warning: RLIMIT_NOFILE is {nofile}, below {n} sockets plus headroom", flush=True)

    settings, env = throwaway(args.database_url, args.redis_url, "lpb")
    schema, prefix = settings.db_schema, settings.redis_prefix
    env.update(
        LABPULSE_SERVE_RELAY="off",
        LABPULSE_WS_IDLE_SECONDS="3600",
        LABPULSE_DB_POOL_MAX=str(args.server_pool_max),
    )
    procs: list[subprocess.Popen[bytes]] = []
    exits = contextlib.ExitStack()  # PgBouncer and HAProxy, when asked for: stopped after the processes
    workers: list[mp.Process] = []
    log = tempfile.NamedTemporaryFile(prefix="fanout-", suffix=".log", delete=False)
    try:
        print(f"setting up {n} patients, tubes and sessions in schema {schema} …", flush=True)
        t = time.perf_counter()
        subjects = asyncio.run(setup(settings, n, args.setup_concurrency))
        print(f"  setup took {time.perf_counter() - t:.1f} s", flush=True)

        if args.pgbouncer:  # the servers and the relays through PgBouncer in transaction pooling mode
            pooled = exits.enter_context(pgbouncer(args.database_url, schema, pool_size=args.server_pool_max + 10))
            env.update(DATABASE_URL=pooled, LABPULSE_DB_POOLER="transaction",
                       LABPULSE_LISTEN_DATABASE_URL=args.database_url,
                       LABPULSE_MIGRATION_DATABASE_URL=args.database_url)  # fmt: skip
        ports = [free_port() for _ in range(args.web)]
        servers = [subprocess.Popen([*labpulse_cmd(), "serve", "--host", "127.0.0.1", "--port", str(p),
                                     "--no-demo-data"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
                   for p in ports]  # fmt: skip
        procs.extend(servers)
        for _ in range(args.workers):
            procs.append(subprocess.Popen([*labpulse_cmd(), "worker"], env=env, cwd=ROOT, stdout=log,
                                          stderr=subprocess.STDOUT))  # fmt: skip
        for p, server in zip(ports, servers, strict=True):
            wait_healthy(p, server)
        # Several servers: each client process opens its sockets on one of them, in turn, as an L4 balancer would
        # spread them. (HAProxy in front needs two descriptors a socket: 10,000 do not fit a 20,000-descriptor
        # limit, and the figures would be HAProxy's on the same two cores.)
        fronts = [f"127.0.0.1:{p}" for p in ports]
        time.sleep(1.0)
        pids = [server.pid for server in servers]
        rss_before = sum(rss_kib(pid) for pid in pids)
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        others_before = cpu_seconds_of("postgres"), cpu_seconds_of("redis-server"), machine_cpu()

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
                    f"ws://{fronts[c % len(fronts)]}/ws/status",
                    f"http://{fronts[c % len(fronts)]}",
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
        cpu_connect = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        pg_connect = cpu_seconds_of("postgres") - others_before[0]
        redis_connect = cpu_seconds_of("redis-server") - others_before[1]
        busy, idle = (now - then for now, then in zip(machine_cpu(), others_before[2], strict=True))
        client_connect = sum(cpu_seconds(w.pid) for w in workers if w.pid)
        time.sleep(2.0)
        rss_connected = sum(rss_kib(pid) for pid in pids)
        client_rss = sum(rss_kib(w.pid) for w in workers if w.pid)  # the bus listener starts later
        print(f"  {ok} of {n} sockets open in {connect_s:.1f} s; driving {total} transitions …", flush=True)

        bus_ready, bus_out = mp.Event(), mp.Queue()  # type: ignore[var-annotated]
        bus = mp.Process(target=bus_listener, args=(args.redis_url, events_channel(prefix), bus_ready, stop, bus_out))
        bus.start()
        workers.append(bus)
        bus_ready.wait(10)
        gc.collect()
        gc.freeze()
        cpu_run0 = sum(cpu_seconds(pid) for pid in pids)
        committed, errors, elapsed, worst_late, wall0 = asyncio.run(
            drive(settings, subjects, args.rate, total, args.driver_concurrency)
        )
        deadline = time.monotonic() + 15
        while sum(c.value for c in counters) < len(committed) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # anything beyond what was committed (a duplicate) has a moment to show
        cpu_run = sum(cpu_seconds(pid) for pid in pids) - cpu_run0
        rss_end = sum(rss_kib(pid) for pid in pids)
        held = server_pauses(ports)
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

        exits.close()
        asyncio.run(drop(settings))

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
        f"\n{datetime.now(UTC):%Y-%m-%d} · {os.cpu_count()} cores · {args.web} server process(es)"
        f" · {args.workers} worker(s)"
        f"{' · through PgBouncer (transaction pooling)' if args.pgbouncer else ''} · {clients} client process(es)"
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
    per_open = 1000 / max(ok, 1)
    print(
        f"  CPU per open             server {cpu_connect * per_open:.2f} ms, clients {client_connect * per_open:.2f} "
        f"ms, PostgreSQL {pg_connect * per_open:.2f} ms, Redis {redis_connect * per_open:.2f} ms; the machine "
        f"{idle / max(busy + idle, 1e-9) * 100:.0f}% idle while they opened"
    )
    print(
        f"server RSS                 {rss_before / 1024:.1f} MiB idle → {rss_connected / 1024:.1f} MiB connected → "
        f"{rss_end / 1024:.1f} MiB after the run"
    )
    print(f"server RSS per connection  {(rss_connected - rss_before) / max(ok, 1):.1f} KiB")
    print(f"what held the servers      {held}")
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
