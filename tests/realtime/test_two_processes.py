"""Two real ``labpulse serve`` processes sharing one PostgreSQL schema and one Redis prefix, as in production
behind a load balancer: a patient's socket is open on instance A while a phlebotomist scans the tube through
instance B. The event committed on B must reach the socket on A exactly once, by way of B's outbox relay and
the Redis bus. Then A gets SIGTERM and must close the socket with 1012 (service restart), so the client knows
to reconnect (to B) and resume, and A must exit cleanly.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core.config import Settings
from core.events import events_channel
from core.identity import Actor, Role
from core.patients.sessions import PatientSessions
from core.samples import service as samples
from core.samples.model import SampleState
from core.staff import service as staff
from core.vault import Vault
from tests.realtime.conftest import recv
from tests.support.factories import PHLEB, make_patient, make_sample
from tests.support.procs import env_for, free_port, labpulse_cmd, wait_healthy

PHONE = "+919812300001"
PASSWORD = "a long enough staff password"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@contextmanager
def _serve(
    settings: Settings, log_path: Path, *, relay: bool, workers: int = 1
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A healthy ``labpulse serve`` process and its port; it is always stopped when the block ends."""
    port = free_port()
    env = env_for(settings, LABPULSE_SERVE_RELAY="on" if relay else "off")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*labpulse_cmd(), "serve", "--port", str(port), "--no-demo-data", "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            try:
                wait_healthy(f"http://127.0.0.1:{port}/healthz")
            except TimeoutError as exc:
                raise AssertionError(f"{log_path.name} did not start:\n{log_path.read_text()}") from exc
            yield proc, port
        finally:
            _stop(proc)


@pytest.mark.slow
async def test_an_event_committed_on_one_instance_reaches_a_socket_on_another_then_shutdown_closes_it_1012(
    settings: Settings,
    pool: asyncpg.Pool,
    vault: Vault,
    redis: aioredis.Redis,
    tmp_path: Path,
) -> None:
    async with pool.acquire() as conn:
        patient = await make_patient(conn, vault, phone=PHONE)
        sample = await make_sample(conn, vault, patient=patient)
        await staff.add(
            conn,
            username="phleb.two",
            display_name="Phlebotomist",
            role=Role.PHLEBOTOMIST,
            password=PASSWORD,
            actor=Actor.system("tests"),
        )
    # A patient session as a completed sign-in leaves it (the code/OTP flow has its own tests).
    token = await PatientSessions(redis, settings.redis_prefix).create(
        phone_lookup=vault.lookup.digest("phone", PHONE).hex(), phone_hint="+91***", active_patient_id=patient.id
    )

    # The relay runs on B only. Both could run it (an advisory lock keeps one active), but then A's relay might
    # be the one publishing and the event would never have to cross from one process to the other. With it on
    # B alone, the only way A can learn of B's commit is the Redis bus: that is the fan-out under test.
    with (
        _serve(settings, tmp_path / "a.log", relay=False) as (proc_a, port_a),
        _serve(settings, tmp_path / "b.log", relay=True) as (_, port_b),
    ):
        async with connect(
            f"ws://127.0.0.1:{port_a}/ws/status",
            additional_headers={"Cookie": f"lp_session={token}"},
            origin=f"http://127.0.0.1:{port_a}",  # type: ignore[arg-type]
            open_timeout=10,
        ) as ws:
            snap = await recv(ws)
            assert (snap["type"], snap["patient_id"]) == ("snapshot", patient.id)
            assert [s["state"] for s in snap["samples"]] == ["collected"]
            last = snap["last_event_id"]

            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_b}", timeout=10) as b:
                r = await b.post("/api/staff/session", json={"username": "phleb.two", "password": PASSWORD})
                assert r.status_code == 200, r.text
                r = await b.post(
                    "/api/staff/scan",
                    headers={"Authorization": f"Bearer {r.json()['token']}"},
                    json={"barcode": sample.barcode, "to": "in_transit", "centre_id": "CC-1"},
                )
                assert r.status_code == 200, r.text

            event = await recv(ws, timeout=10)
            assert (event["type"], event["last_event_id"], event["replay"]) == ("event", last + 1, False), event
            assert event["data"]["to"] == "in_transit"
            with pytest.raises(TimeoutError):  # exactly once: nothing else is on its way
                await recv(ws, timeout=1.0)

            proc_a.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                frame = await asyncio.wait_for(ws.recv(), 15)
                pytest.fail(f"a frame arrived instead of the close: {frame!r}")
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012, closed.value

        # A shut down cleanly: its lifespan finished (hub, pool and Redis closed) and it exited with status 0.
        returncode = await asyncio.to_thread(proc_a.wait, 30)
        log_a = (tmp_path / "a.log").read_text()
        assert returncode == 0 and "Application shutdown complete" in log_a, log_a
        # B is unaffected by A going away: it still serves, ready for the reconnecting client.
        assert httpx.get(f"http://127.0.0.1:{port_b}/healthz", timeout=5).status_code == 200


@pytest.mark.slow
async def test_serve_with_two_workers_delivers_each_event_once_to_every_socket(
    settings: Settings,
    pool: asyncpg.Pool,
    vault: Vault,
    redis: aioredis.Redis,
    tmp_path: Path,
) -> None:
    """`labpulse serve --workers 2`: each worker process subscribes to the bus once; sockets spread over both
    get every event of their patient exactly once."""
    async with pool.acquire() as conn:
        patient = await make_patient(conn, vault, phone=PHONE)
        sample = await make_sample(conn, vault, patient=patient)
    token = await PatientSessions(redis, settings.redis_prefix).create(
        phone_lookup=vault.lookup.digest("phone", PHONE).hex(), phone_hint="+91***", active_patient_id=patient.id
    )
    with _serve(settings, tmp_path / "w.log", relay=True, workers=2) as (_, port):
        channel = events_channel(settings.redis_prefix)
        for _ in range(100):  # both workers' hubs subscribe during their start-up
            if dict(await redis.pubsub_numsub(channel)).get(channel.encode()) == 2:
                break
            await asyncio.sleep(0.1)
        assert dict(await redis.pubsub_numsub(channel)).get(channel.encode()) == 2
        sockets = [
            await connect(
                f"ws://127.0.0.1:{port}/ws/status",
                additional_headers={"Cookie": f"lp_session={token}"},
                origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
            )
            for _ in range(8)
        ]
        try:
            firsts = {(await recv(ws))["last_event_id"] for ws in sockets}
            assert len(firsts) == 1
            last = firsts.pop()
            async with pool.acquire() as conn:
                await samples.transition(
                    conn, barcode=sample.barcode, to_state=SampleState.IN_TRANSIT, actor=PHLEB, centre_id="CC-1"
                )
            got = [await recv(ws) for ws in sockets]
            assert [(g["type"], g["last_event_id"]) for g in got] == [("event", last + 1)] * len(sockets)
            for ws in sockets:
                with pytest.raises(TimeoutError):
                    await recv(ws, timeout=0.3)
        finally:
            for ws in sockets:
                await ws.close()
