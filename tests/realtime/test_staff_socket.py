"""/ws/staff, the bench's live worklist, through a real uvicorn server, PostgreSQL, Redis and the outbox relay:
each member hears the steps of the tubes at their centre (and of those leaving it), never a patient's data; a
role that does not read tubes, a foreign page or no session is refused; a session that ends closes the socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import asyncpg
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core import critical
from core.hl7 import intake
from core.identity import Actor, Role
from core.samples import service as samples
from core.samples.model import SampleState
from core.staff import service as staff
from core.vault import Vault
from realtime import staff_socket
from tests.realtime.conftest import Live, recv
from tests.support.factories import PHLEB, TECH, make_sample

S = SampleState


async def _token(live: Live, pool: asyncpg.Pool, username: str, role: Role, centre: str | None = None) -> str:
    async with pool.acquire() as conn:
        member = await staff.add(conn, username=username, display_name=username, role=role,
                                 password="correct horse battery", actor=Actor.system("tests"))  # fmt: skip
        if centre:
            await staff.set_centre(conn, member.id, centre, actor=Actor.system("tests"))
    r = await live.http.post("/api/staff/session", json={"username": username, "password": "correct horse battery"})
    return str(r.json()["token"])


def _socket(live: Live, token: str, origin: str | None = None) -> Any:
    return connect(f"ws://{live.addr}/ws/staff", additional_headers={"Cookie": f"lp_staff={token}"},
                   origin=origin or f"http://{live.addr}", open_timeout=10)  # type: ignore[arg-type]  # fmt: skip


async def test_each_bench_hears_its_centres_tubes_and_nothing_of_the_patient(
    live: Live, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        tube = await make_sample(conn, vault)  # collected at CC-1
    everywhere = await _token(live, pool, "lab.lead", Role.PATHOLOGIST)
    desk = await _token(live, pool, "cc1.phleb", Role.PHLEBOTOMIST, centre="CC-1")
    lab = await _token(live, pool, "lab.tech", Role.LAB_TECHNICIAN, centre="LAB-1")
    async with _socket(live, everywhere) as a, _socket(live, desk) as b, _socket(live, lab) as c:
        assert [(await recv(ws))["type"] for ws in (a, b, c)] == ["ready"] * 3
        async with pool.acquire() as conn:
            await samples.transition(conn, barcode=tube.barcode, to_state=S.IN_TRANSIT, actor=PHLEB, centre_id="CC-1")
            await samples.transition(
                conn, barcode=tube.barcode, to_state=S.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1"
            )
        heard_a = [await recv(a), await recv(a)]
        heard_b = [await recv(b), await recv(b)]
        heard_c = await recv(c)  # the lab hears the tube arrive, not its leaving the collection centre
        with pytest.raises(TimeoutError):
            await recv(c, timeout=0.5)
    assert [(f["state"], f["on_bench"]) for f in heard_a] == [("in_transit", True), ("received_at_lab", True)]
    assert [(f["state"], f["on_bench"]) for f in heard_b] == [("in_transit", True), ("received_at_lab", False)]
    assert (heard_c["barcode"], heard_c["state"], heard_c["centre_id"], heard_c["on_bench"]) == (
        tube.barcode, "received_at_lab", "LAB-1", True
    )  # fmt: skip
    assert set(heard_c) == {"type", "barcode", "state", "centre_id", "version", "at", "on_bench"}  # no patient
    assert tube.patient_id not in json.dumps(heard_a + heard_b + [heard_c])


async def test_a_socket_is_refused_without_a_session_for_a_role_without_tubes_or_from_a_foreign_page(
    live: Live, pool: asyncpg.Pool
) -> None:
    doctor = await _token(live, pool, "dr.one", Role.DOCTOR)
    tech = await _token(live, pool, "tech.one", Role.LAB_TECHNICIAN)
    closes = []
    for token, origin in (("no-such-session", None), (doctor, None), (tech, "https://evil.example")):
        async with _socket(live, token, origin) as ws:
            first = await recv(ws)
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            closes.append((first["type"], first["code"], closed.value.rcvd.code))
    assert closes == [("error", "unauthenticated", 4401), ("error", "forbidden", 4403), ("error", "origin", 4403)]


async def test_signing_out_closes_the_socket(live: Live, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staff_socket, "SESSION_CHECK_SECONDS", 0.2)
    token = await _token(live, pool, "tech.two", Role.LAB_TECHNICIAN)
    async with _socket(live, token) as ws:
        assert (await recv(ws))["type"] == "ready"
        r = await live.http.delete("/api/staff/session", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 204
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_the_critical_board_is_told_when_a_critical_value_arrives_and_the_bench_is_not(
    live: Live, pool: asyncpg.Pool, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staff_socket, "BOARD_POLL_SECONDS", 0.2)
    path = await _token(live, pool, "path.board", Role.PATHOLOGIST)
    tech = await _token(live, pool, "tech.board", Role.LAB_TECHNICIAN)
    async with pool.acquire() as conn:
        tube = await make_sample(conn, vault)
        await samples.transition(conn, barcode=tube.barcode, to_state=S.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1")
    async with _socket(live, path) as board, _socket(live, tech) as bench:
        ready = [await recv(ws) for ws in (board, bench)]
        assert [f["critical"] for f in ready] == [True, False]
        async with pool.acquire() as conn:  # the board's mark now, for a page rendered with another to re-read
            assert ready[0]["mark"] == await critical.board_mark(conn) and "mark" not in ready[1]
        await asyncio.sleep(2.5)  # the watch has read the board once since (its first read sets the mark)
        async with pool.acquire() as conn:
            await intake.receive(conn, vault, (
                f"MSH|^~\\&|CHEM|LAB|LABPULSE|LAB|20261121||ORU^R01|B-1|P|2.5.1\rPID|1||M\rOBR|1|{tube.barcode}||CBC\r"
                "OBX|1|NM|6690-2^WBC^LN||1.2|10*3/uL|||||F\r"
            ).encode())  # fmt: skip
        frames = [await recv(board, timeout=5)]
        while frames[-1]["type"] != "critical":
            frames.append(await recv(board, timeout=5))
        with contextlib.suppress(TimeoutError):
            while True:  # the bench hears the tube's own steps, never the board's
                assert (await recv(bench, timeout=1))["type"] == "tube"
