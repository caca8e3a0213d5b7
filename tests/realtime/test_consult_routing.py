"""Teleconsult rooms on several web processes (issue 20), behind Debian's HAProxy: the first side to connect claims
the room for its process in Redis; the other side, sent by the load balancer to the other process, is told which
node owns the room, and with the ``lp_node`` cookie the load balancer sends it there: both sides share one room.
When the room empties its claim is let go, and the next consult may live anywhere."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core.config import Settings
from core.vault import Vault
from portal.app import create_app
from portal.drill.servers import haproxy
from tests.portal.test_teleconsult_pages import _open, _setup, _until
from tests.support.procs import free_port
from tests.support.server import serving


def _socket(front: str, consult_id: str, jar: dict[str, str], node: str):  # type: ignore[no-untyped-def]
    cookie = "; ".join(f"{k}={v}" for k, v in {**jar, "lp_node": node}.items())
    return connect(f"ws://{front}/consult/{consult_id}/ws", additional_headers={"Cookie": cookie},
                   origin=f"http://{front}")  # fmt: skip


async def test_both_sides_reach_the_process_that_owns_the_room(
    settings: Settings,
    pool: asyncpg.Pool,
    vault: Vault,
    redis,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    async with pool.acquire() as conn:
        booked = await _setup(conn, vault)
    ports = {"web-1": free_port(), "web-2": free_port()}
    async with (
        serving(create_app(settings.with_overrides(node="web-1")), port=ports["web-1"]),
        serving(create_app(settings.with_overrides(node="web-2")), port=ports["web-2"]),
    ):
        with haproxy([(name, f"127.0.0.1:{port}") for name, port in ports.items()], tmp_path) as front:
            async with httpx.AsyncClient(base_url=f"http://{front}") as http:
                _, doctor_jar = await _open(http, booked.doctor_link)
                _, patient_jar = await _open(http, booked.patient_link)
            id_ = booked.consult.id
            async with _socket(front, id_, doctor_jar, "web-1") as doctor:  # the doctor's process claims the room
                await _until(doctor, "consent", side="doctor")
                assert await redis.get(f"{settings.redis_prefix}:consult-owner:{id_}") == b"web-1"
                async with _socket(front, id_, patient_jar, "web-2") as elsewhere:  # the other process
                    moved = json.loads(await elsewhere.recv())
                    with pytest.raises(ConnectionClosed) as closed:
                        await elsewhere.recv()
                assert moved == {"type": "moved", "node": "web-1"} and closed.value.rcvd.code == 4421  # type: ignore[union-attr]
                async with _socket(front, id_, patient_jar, moved["node"]) as patient:  # as the page does
                    await _until(patient, "consent", side="patient")
                    await patient.send(json.dumps({"type": "consent", "given": True}))
                    await _until(doctor, "consent", side="patient", given=True)  # one room: the doctor hears it
            for _ in range(50):  # both gone: the claim is let go
                if await redis.get(f"{settings.redis_prefix}:consult-owner:{id_}") is None:
                    break
                await asyncio.sleep(0.1)
            assert await redis.get(f"{settings.redis_prefix}:consult-owner:{id_}") is None
