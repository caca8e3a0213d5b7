"""Outage drill on real processes: `labpulse serve` (a patient's socket open on it), `labpulse worker` (the
outbox relay, job queue, sweep, escalation timer) and `labpulse mllp` run on a PostgreSQL and a Redis of the
test's own, which it stops for a few seconds each, then starts again, while tubes keep moving. Afterwards every
process is still running, `/readyz` of each went unready while a dependency it uses was away and came back, the
socket saw every event exactly once, in order, nothing is left unpublished, and the listener stores again.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from hl7.mllp import open_hl7_connection
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from core.config import Secret, Settings
from core.db.pool import create_pool
from core.identity import Actor
from core.patients.sessions import PatientSessions
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault
from portal.drill.servers import OwnPostgres, OwnRedis
from tests.support.factories import PHLEB, TECH, make_patient, make_sample
from tests.support.procs import env_for, free_port, labpulse_cmd, run, stop_all, wait_healthy

PHONE = "+919812300077"
TUBES = 5


def _ready(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None


async def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def _move(pool: asyncpg.Pool, barcode: str, to: SampleState, actor: Actor = PHLEB) -> None:
    """A scan, retried while PostgreSQL is coming back (the test's own pool holds broken connections after it)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            async with pool.acquire() as conn:
                await samples.transition(conn, barcode=barcode, to_state=to, actor=actor, centre_id="CC-1")
            return
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


class Watcher:
    """The patient's page: keeps the socket open, and reconnects and resumes if it is ever closed."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.seqs: list[int] = []
        self.reconnects = 0

    async def run(self) -> None:
        while True:
            try:
                async with connect(self.url, additional_headers={"Cookie": f"lp_session={self.token}"},
                                   origin=self.url.replace("ws://", "http://").rsplit("/ws", 1)[0],  # type: ignore[arg-type]
                                   open_timeout=10) as ws:  # fmt: skip
                    snap = json.loads(await ws.recv())
                    if self.seqs:  # a reconnect: ask for what came after the last event seen
                        await ws.send(json.dumps({"type": "resume", "last_event_id": self.seqs[-1]}))
                    elif snap["type"] != "snapshot":
                        raise AssertionError(snap)
                    await self._read(ws)
            except (WebSocketException, OSError, TimeoutError):
                self.reconnects += 1
                await asyncio.sleep(0.5)

    async def _read(self, ws: ClientConnection) -> None:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
            if frame["type"] == "event":
                self.seqs.append(frame["last_event_id"])
            await ws.send(json.dumps({"type": "ping"}))


async def _send_oru(port: int, barcode: str) -> str:
    reader, writer = await open_hl7_connection("127.0.0.1", port)
    try:
        writer.writemessage(f"MSH|^~\\&|A|L|LP|L|2026||ORU^R01|DRILL-1|P|2.5.1\rPID|1||M\rOBR|1|{barcode}||CBC\r"
                            "OBX|1|NM|718-7^Haemoglobin^LN||13.1|g/dL|||||F\r")  # fmt: skip
        await writer.drain()
        return str(await asyncio.wait_for(reader.readmessage(), 15))
    finally:
        writer.close()


@pytest.mark.slow
async def test_serve_and_worker_ride_out_postgres_and_redis_restarts(settings: Settings, tmp_path: Path) -> None:
    pg, rd = OwnPostgres(), OwnRedis(free_port())
    s = settings.with_overrides(database_url=Secret(pg.url), redis_url=Secret(rd.url))
    env = env_for(s)
    procs: list[subprocess.Popen[bytes]] = []
    pool = None
    try:
        assert run(["migrate"], env).returncode == 0
        pool = await create_pool(pg.url, s.db_schema, min_size=1, max_size=4)
        vault = Vault.from_settings(s)
        async with pool.acquire() as conn:
            patient = await make_patient(conn, vault, phone=PHONE)
            tubes = [(await make_sample(conn, vault, patient=patient)).barcode for _ in range(TUBES)]
        web, worker_health, mllp, mllp_health = free_port(), free_port(), free_port(), free_port()
        for args, name in (
            (["serve", "--port", str(web), "--no-demo-data"], "web"),
            (["worker", "--health-port", str(worker_health)], "worker"),
            (["mllp", "--port", str(mllp), "--health-port", str(mllp_health)], "mllp"),
        ):
            log = (tmp_path / f"{name}.log").open("wb")
            procs.append(subprocess.Popen([*labpulse_cmd(), *args], env=env | {"LABPULSE_SERVE_RELAY": "off"},
                                          stdout=log, stderr=subprocess.STDOUT))  # fmt: skip
        ready = [f"http://127.0.0.1:{port}/readyz" for port in (web, worker_health, mllp_health)]
        needs = {"postgres": set(ready), "redis": set(ready[:2])}  # the listener does not use Redis
        for url in ready:
            wait_healthy(url, timeout=60)

        async def session() -> str:
            redis = aioredis.from_url(rd.url)
            try:
                return await PatientSessions(redis, s.redis_prefix).create(
                    phone_lookup=vault.lookup.digest("phone", PHONE).hex(), phone_hint="+91***",
                    active_patient_id=patient.id)  # fmt: skip
            finally:
                await redis.aclose()

        watcher = Watcher(f"ws://127.0.0.1:{web}/ws/status", await session())
        watching = asyncio.create_task(watcher.run())
        await asyncio.sleep(1)
        moved = 0

        async def move(i: int) -> None:
            nonlocal moved
            await _move(pool, tubes[i], SampleState.IN_TRANSIT)
            moved += 1

        await move(0)
        await _until(lambda: len(watcher.seqs) >= 1, 15, "the first event")

        seen_unready: dict[str, set[str]] = {"postgres": set(), "redis": set()}
        for outage, down, up in (("postgres", pg.stop, pg.start), ("redis", rd.stop, rd.start)):
            down()
            started = time.monotonic()  # down for at least 5 s, and until each process has said so (12 s at most)
            while time.monotonic() - started < 12 and (
                time.monotonic() - started < 5 or seen_unready[outage] != needs[outage]
            ):
                for url in ready:
                    if await asyncio.to_thread(_ready, url) == 503:
                        seen_unready[outage].add(url)
                await asyncio.sleep(0.2)
            up()
            if outage == "redis":  # Redis kept nothing: the patient signs in again (docs say so)
                watcher.token = await session()
            for url in ready:
                await asyncio.to_thread(wait_healthy, url, 90)
            await move(moved)
            await move(moved)

        await _move(pool, tubes[0], SampleState.RECEIVED_AT_LAB, TECH)  # so the listener can take its results below
        moved += 1
        await _until(lambda: len(watcher.seqs) >= moved, 60, f"{moved} events at the socket")
        await asyncio.sleep(2)  # nothing more on its way
        watching.cancel()
        assert watcher.seqs == sorted(set(watcher.seqs)) and len(watcher.seqs) == moved, watcher.seqs
        for outage, urls in seen_unready.items():
            assert urls == needs[outage], f"/readyz through the {outage} outage: {urls} went 503"
        ack = await _send_oru(mllp, tubes[0])  # the listener stores again after both outages
        assert "MSA|AA" in ack or "|AA|" in ack, ack
        for proc in procs:
            assert proc.poll() is None, "a process died during the drill"
        async with pool.acquire() as conn:
            left = await conn.fetchval(f'SELECT count(*) FROM "{s.db_schema}".outbox WHERE published_at IS NULL')
        assert left == 0
    finally:
        stop_all(procs)
        if pool is not None:
            await pool.close()
        rd.close()
        pg.close()
