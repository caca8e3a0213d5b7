"""The staff workspace's bench (issue 19), against the real `labpulse serve` and `labpulse worker` (the outbox relay),
as in production:

1. the worklist: GET /staff/bench with ``--tubes`` tubes on the bench at one centre, one request at a time; the
   server's own time (``Server-Timing: app``) and the time the whole page took to arrive;
2. the scan round trip: ``--sockets`` staff sockets on /ws/staff, and a technician scanning one tube every
   ``--every-ms`` through the page's scan form; from sending the scan until the last socket has the tube's new step
   (state saved, event relayed, row updated on every screen).

    .venv/bin/python bench/staff_bench.py [--tubes 5000] [--sockets 20] [--scans 300] [--every-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import subprocess
import time
from datetime import UTC, datetime

import asyncpg
import httpx
from common import ROOT, drop, free_port, labpulse_cmd, pct, throwaway, wait_healthy
from websockets.asyncio.client import connect

from core.booking.catalogue import Centre, upsert_centre
from core.db.migrate import migrate
from core.db.pool import create_pool
from core.identity import Actor, Role
from core.orders import service as orders
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.samples import service as samples
from core.samples.model import SampleState
from core.staff import service as staff
from core.vault import Vault

ADMIN = Actor("bench:admin", Role.ADMIN)
TECH = Actor("bench:tech", Role.LAB_TECHNICIAN)
CENTRE = "LAB-W"
PASSWORD = secrets.token_urlsafe(16)  # the bench staff's, for this run only


async def setup(settings, tubes: int) -> list[str]:  # type: ignore[no-untyped-def]
    """``tubes`` tubes received at the lab (a quarter of them on the analyzer), and the staff who work there."""
    conn = await asyncpg.connect(settings.database_url.reveal())
    await migrate(conn, settings.db_schema)
    await conn.close()
    pool = await create_pool(settings.database_url.reveal(), settings.db_schema, min_size=4, max_size=4)
    vault = Vault.from_settings(settings)
    async with pool.acquire() as conn:
        await upsert_centre(conn, Centre(CENTRE, "Bench Lab", "lab", "Pune"))
        for name, role in (("bench.tech", Role.LAB_TECHNICIAN), ("bench.watch", Role.LAB_TECHNICIAN)):
            member = await staff.add(conn, username=name, display_name=name, role=role, password=PASSWORD, actor=ADMIN)
            await staff.set_centre(conn, member.id, CENTRE, actor=ADMIN)
    barcodes: list[str] = []

    async def worker(start: int) -> None:
        async with pool.acquire() as conn:
            for i in range(start, tubes, 4):
                p = await patients.create(conn, vault, NewPatient(name=f"Bench {i}", sex=Sex.MALE), actor=ADMIN)
                o = await orders.place(
                    conn, patient_id=p.id, centre_id=CENTRE, test_codes=["CBC", "LIPID"], actor=ADMIN
                )
                code = f"W{i:06d}"
                await samples.register(
                    conn, order_id=o.id, barcode=code, sample_type="whole_blood_edta", actor=ADMIN, centre_id=CENTRE
                )
                await samples.transition(
                    conn, barcode=code, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH, centre_id=CENTRE
                )
                if i % 4 == 0:
                    await samples.transition(
                        conn, barcode=code, to_state=SampleState.PROCESSING, actor=TECH, centre_id=CENTRE
                    )
                barcodes.append(code)

    await asyncio.gather(*(worker(s) for s in range(4)))
    await pool.close()
    return sorted(barcodes)


async def signed_in(base: str, username: str) -> tuple[httpx.AsyncClient, str]:
    """A browser-like client signed in through the sign-in form, and the CSRF token of its pages."""
    http = httpx.AsyncClient(base_url=base, headers={"Origin": base, "Accept": "text/html"}, timeout=30)
    page = await http.get("/staff")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    http.cookies.set("lp_csrf", page.cookies["lp_csrf"])  # Secure cookies: a browser sends them to 127.0.0.1, httpx not
    r = await http.post("/staff/signin", data={"csrf": token, "username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text[:200]
    http.cookies.set("lp_staff", r.cookies["lp_staff"])
    return http, token


async def worklist(http: httpx.AsyncClient, runs: int) -> tuple[list[float], list[float], int, int]:
    server, total, size, rows = [], [], 0, 0
    for i in range(runs + 3):
        t = time.perf_counter()
        r = await http.get("/staff/bench")
        elapsed = (time.perf_counter() - t) * 1000
        assert r.status_code == 200, r.status_code
        if i >= 3:  # after the warm-up
            total.append(elapsed)
            server.append(float(r.headers["server-timing"].split("dur=")[1]))
        size, rows = len(r.content), r.text.count('<tr id="tube-')
    return server, total, size, rows


async def scans(base: str, http: httpx.AsyncClient, csrf: str, barcodes: list[str], sockets: int, every_ms: float,
                cookie: str) -> list[float]:  # fmt: skip
    """Scan each tube once (received -> processing, or processing -> completed); the time until every socket has it."""
    ws_base = base.replace("http", "ws")
    sent: dict[str, float] = {}
    heard: dict[str, int] = {}
    done: dict[str, float] = {}
    all_heard = asyncio.Event()

    async def listen(ready: asyncio.Event, opened: list[int]) -> None:
        async with connect(f"{ws_base}/ws/staff", additional_headers={"Cookie": f"lp_staff={cookie}"},
                           origin=base, max_size=2**20) as ws:  # type: ignore[arg-type]  # fmt: skip
            json.loads(await ws.recv())  # ready
            opened.append(1)
            if len(opened) == sockets:
                ready.set()
            while not all_heard.is_set():
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
                except TimeoutError:
                    continue
                code = frame.get("barcode")
                if code in sent:
                    heard[code] = heard.get(code, 0) + 1
                    if heard[code] == sockets:
                        done[code] = time.perf_counter()
                        if len(done) == len(barcodes):
                            all_heard.set()

    ready, opened = asyncio.Event(), []  # type: ignore[var-annotated]
    listeners = [asyncio.create_task(listen(ready, opened)) for _ in range(sockets)]
    await asyncio.wait_for(ready.wait(), 30)

    async def scan(code: str) -> None:
        sent[code] = time.perf_counter()
        r = await http.post("/staff/bench/scan", data={"csrf": csrf, "barcode": code})
        assert r.status_code == 303 and "done=" in r.headers["location"], r.headers.get("location")

    tasks = []
    for code in barcodes:  # open loop: one scan every ``every_ms``, whatever the answers do
        tasks.append(asyncio.create_task(scan(code)))
        await asyncio.sleep(every_ms / 1000)
    await asyncio.gather(*tasks)
    await asyncio.wait_for(all_heard.wait(), 30)
    for task in listeners:
        task.cancel()
    return [(done[c] - sent[c]) * 1000 for c in barcodes]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tubes", type=int, default=5000)
    ap.add_argument("--sockets", type=int, default=20)
    ap.add_argument("--scans", type=int, default=300)
    ap.add_argument("--every-ms", type=float, default=50.0)
    ap.add_argument("--runs", type=int, default=30, help="worklist requests measured")
    ap.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = ap.parse_args()
    settings, env = throwaway(args.database_url, args.redis_url, "lpw")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        print(f"setting up {args.tubes} tubes on the bench, schema {settings.db_schema} …", flush=True)
        barcodes = asyncio.run(setup(settings, args.tubes))
        port = free_port()
        procs.append(subprocess.Popen([*labpulse_cmd(), "serve", "--port", str(port)], env=env, cwd=ROOT))
        procs.append(subprocess.Popen([*labpulse_cmd(), "worker"], env=env, cwd=ROOT))
        base = f"http://127.0.0.1:{port}"
        wait_healthy(port, procs[0], path="/readyz")

        async def run() -> tuple[tuple[list[float], list[float], int, int], list[float]]:
            http, csrf = await signed_in(base, "bench.tech")
            listing = await worklist(http, args.runs)
            watch, _ = await signed_in(base, "bench.watch")
            cookie = next(c.value for c in watch.cookies.jar if c.name == "lp_staff")
            trips = await scans(base, http, csrf, barcodes[: args.scans], args.sockets, args.every_ms, cookie)
            await http.aclose()
            await watch.aclose()
            return listing, trips

        (server, total, size, rows), trips = asyncio.run(run())
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
        asyncio.run(drop(settings))
    print(f"\n{datetime.now(UTC):%Y-%m-%d} · {os.cpu_count()} cores · one `labpulse serve`, one `labpulse worker`")
    print(f"worklist of {rows} tubes      server p50 {pct(server, 50):.1f} ms  p99 {pct(server, 99):.1f} ms  "
          f"max {max(server):.1f} ms  (whole page, {size / 1024:.0f} KiB, as received: p50 {pct(total, 50):.1f} ms "
          f"p99 {pct(total, 99):.1f} ms)")  # fmt: skip
    print(f"scan round trip             {len(trips)} scans, one every {args.every_ms:.0f} ms, {args.sockets} staff "
          f"sockets: p50 {pct(trips, 50):.1f} ms  p99 {pct(trips, 99):.1f} ms  max {max(trips):.1f} ms "
          "(scan sent -> the step on every socket)")  # fmt: skip


if __name__ == "__main__":
    main()
