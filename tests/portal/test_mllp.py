"""The MLLP listener over real TCP: ACKs echo MSH-10; bad framing, garbage and mutated messages each get an
ACK and never stop it (hypothesis); `labpulse mllp` runs as a process and stops cleanly."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from hl7.mllp import open_hl7_connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from core.config import Settings
from core.hl7 import links
from core.vault import Vault
from portal import mllp
from tests.support.procs import env_for, free_port, labpulse_cmd

ORU = (
    "MSH|^~\\&|HEMA-1|LAB-MAIN|LABPULSE|LAB|20261121101500||ORU^R01|{control}|P|2.5.1\r"
    "PID|1||MRN-1\rOBR|1|TUBE-00001||CBC\rOBX|1|NM|718-7^Hemoglobin^LN||13.5|g/dL|12-15|N|||F\r"
)


LIMIT = 1024 * 1024  # the listener's block limit in these tests


def _msa(block: bytes) -> list[str]:
    msa = next(seg for seg in block.decode().split("\r") if seg.startswith("MSA"))
    return msa.split("|")


@pytest.fixture
async def listener(pool: asyncpg.Pool, vault: Vault) -> AsyncIterator[int]:
    port = free_port()
    group_commit = mllp.GroupCommit(pool, vault)
    server = await asyncio.start_server(mllp.handler(group_commit, LIMIT), "127.0.0.1", port)
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()
        await group_commit.close()


async def test_each_message_is_acked_with_its_control_id(listener: int) -> None:
    reader, writer = await open_hl7_connection("127.0.0.1", listener)
    try:
        for control in ("C-1", "C-2", "C-1"):  # C-1 again: a resend gets the same answer
            writer.writeblock(ORU.format(control=control).encode())
            await writer.drain()
            code, echoed = _msa(await asyncio.wait_for(reader.readblock(), 10))[1:3]
            assert (code, echoed) == ("AE", control)  # no tube TUBE-00001 here: understood, not applicable
        writer.write(b"not framed at all\x1c\r")  # no start-block character
        await writer.drain()
        assert _msa(await asyncio.wait_for(reader.readblock(), 10))[1] == "AR"
        writer.writeblock(
            b"FHS|^~\\&\rBHS|^~\\&\r" + ORU.format(control="B-1").encode() + ORU.format(control="B-2").encode()
        )
        await writer.drain()
        acks = [_msa(await asyncio.wait_for(reader.readblock(), 10)) for _ in range(2)]
        assert [a[2] for a in acks] == ["B-1", "B-2"]  # one ACK per message of a batch, in order
    finally:
        writer.close()


async def test_a_block_over_the_limit_gets_one_ar_and_the_connection_stays_in_step(listener: int) -> None:
    """2 MiB against a 1 MiB limit: exactly one AR echoing the block's control id, then every later message is
    answered with its own ACK (the hl7 package's reader gave two ARs and put every later answer one behind)."""
    big = ORU.format(control="BIG-1") + "NTE|1||" + "x" * (2 * 1024 * 1024) + "\r"
    reader, writer = await open_hl7_connection("127.0.0.1", listener)
    try:
        writer.writeblock(big.encode())
        for control in ("AFTER-1", "AFTER-2"):
            writer.writeblock(ORU.format(control=control).encode())
        await writer.drain()
        answers = [_msa(await asyncio.wait_for(reader.readblock(), 10)) for _ in range(3)]
        assert [a[1:3] for a in answers] == [["AR", "BIG-1"], ["AE", "AFTER-1"], ["AE", "AFTER-2"]]
        assert "limit" in answers[0][3]
        writer.write(b"junk without a start\x1c\r")  # not framed: one AR, then in step again
        writer.writeblock(ORU.format(control="AFTER-3").encode())
        await writer.drain()
        answers = [_msa(await asyncio.wait_for(reader.readblock(), 10)) for _ in range(2)]
        assert [a[1:3] for a in answers] == [["AR", ""], ["AE", "AFTER-3"]]
        with pytest.raises(asyncio.TimeoutError):  # and nothing more: one answer per block
            await asyncio.wait_for(reader.readblock(), 0.5)
    finally:
        writer.close()


async def test_by_default_a_result_with_an_embedded_pdf_of_a_few_mib_is_taken(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    """OBX ED with a 3 MiB base64 PDF: under the default limit (LABPULSE_MLLP_MAX_BLOCK_BYTES), read and answered."""
    assert settings.mllp_max_block_bytes >= 8 * 1024 * 1024
    group_commit = mllp.GroupCommit(pool, vault)
    server = await asyncio.start_server(mllp.handler(group_commit, settings.mllp_max_block_bytes), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pdf = "OBX|2|ED|PDF^Report^L||^AP^PDF^Base64^" + "QUJD" * (3 * 1024 * 1024 // 4) + "||||||F\r"
    try:
        reader, writer = await open_hl7_connection("127.0.0.1", port)
        writer.writeblock((ORU.format(control="PDF-1") + pdf).encode())
        await writer.drain()
        assert _msa(await asyncio.wait_for(reader.readblock(), 30))[1:3] == ["AE", "PDF-1"]  # read, no tube here
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
        await group_commit.close()


async def test_a_group_that_fails_is_applied_one_by_one(pool: asyncpg.Pool, vault: Vault, migrated: str) -> None:
    """Three blocks arrive together and go in one statement; the database refuses one of them (a trigger stands in
    for any failure), so the statement fails and each block is tried alone: the other two are stored and
    answered, the refused one is asked to be sent again, and nothing of it is kept."""
    async with pool.acquire() as conn:
        await conn.execute(
            f"""CREATE FUNCTION "{migrated}".refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.control_id = 'BOOM' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW;
                END $$;
                CREATE TRIGGER refuse_boom BEFORE INSERT ON "{migrated}".hl7_messages
                    FOR EACH ROW EXECUTE FUNCTION "{migrated}".refuse_boom();"""
        )
    group_commit = mllp.GroupCommit(pool, vault, appliers=1)
    batch = b"FHS|^~\\&\rBHS|^~\\&\r" + b"".join(ORU.format(control=c).encode() for c in ("G-2", "BOOM", "G-3"))
    blocks = [ORU.format(control="G-1").encode(), ORU.format(control="BOOM").encode(), batch]
    try:
        answers = await asyncio.gather(*(group_commit.submit(block) for block in blocks))
    finally:
        await group_commit.close()
    assert group_commit.largest_group == 3  # they really went as one group
    assert [[_msa(reply.encode())[1:3] for reply in replies] for replies in answers] == [
        [["AE", "G-1"]],  # understood, kept for review: no tube TUBE-00001 here
        [["AE", "BOOM"]],  # not stored: "please send it again"
        [["AE", "G-2"], ["AE", "BOOM"], ["AE", "G-3"]],  # the batch's other messages are not lost with it
    ]
    assert "send it again" in answers[1][0] and "send it again" in answers[2][1]
    async with pool.acquire() as conn:
        kept = await conn.fetch("SELECT control_id FROM hl7_messages ORDER BY control_id")
    assert [r["control_id"] for r in kept] == ["G-1", "G-2", "G-3"]


def _mutate(data: bytes, cuts: list[tuple[int, bytes]]) -> bytes:
    out = bytearray(data)
    for pos, junk in cuts:
        pos %= len(out) + 1
        out[pos : pos + len(junk) // 2] = junk
    return bytes(out).replace(b"\x0b", b"").replace(b"\x1c", b"")


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.binary(max_size=400),
        st.lists(st.tuples(st.integers(0, 400), st.binary(max_size=12)), max_size=6).map(
            lambda cuts: _mutate(ORU.format(control="M-1").encode(), cuts)
        ),
    )
)
async def test_garbage_and_mutations_always_get_an_ack_and_never_stop_the_listener(
    listener: int, payload: bytes
) -> None:
    reader, writer = await open_hl7_connection("127.0.0.1", listener)
    try:
        writer.writeblock(payload.replace(b"\x0b", b"").replace(b"\x1c", b""))
        writer.writeblock(ORU.format(control="SENTINEL").encode())
        await writer.drain()
        acks = []
        while True:
            msa = _msa(await asyncio.wait_for(reader.readblock(), 10))
            acks.append(msa)
            if msa[2] == "SENTINEL":
                break
        assert len(acks) >= 2 and all(a[1] in ("AA", "AE", "AR") for a in acks)
    finally:
        writer.close()


@pytest.mark.slow
async def test_labpulse_mllp_runs_as_a_process(settings: Settings, pool: asyncpg.Pool) -> None:
    port, health = free_port(), free_port()
    proc = subprocess.Popen([*labpulse_cmd(), "mllp", "--port", str(port), "--health-port", str(health)],
                            env=env_for(settings), stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and "MLLP listener" in proc.stdout.readline()
        for _ in range(100):
            try:
                reader, writer = await open_hl7_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        writer.writeblock(ORU.format(control="P-1").encode())
        await writer.drain()
        assert _msa(await asyncio.wait_for(reader.readblock(), 10))[2] == "P-1"
        odd = ORU.format(control="P-2").replace("ORU^R01", "Z<script>9^Q01")  # a type nobody sends
        writer.writeblock(odd.encode())
        await writer.drain()
        await asyncio.wait_for(reader.readblock(), 10)
        writer.close()
        async with httpx.AsyncClient() as http:  # counted by type and answer; an unknown type is 'other'
            text = (await http.get(f"http://127.0.0.1:{health}/metrics")).text
        assert 'labpulse_hl7_messages_total{ack="AE",type="ORU"} 1.0' in text
        assert [ln for ln in text.splitlines() if ln.startswith("labpulse_hl7_messages_total{")] == [
            'labpulse_hl7_messages_total{ack="AE",type="ORU"} 1.0',
            'labpulse_hl7_messages_total{ack="AR",type="other"} 1.0',
        ]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


async def _connect(port: int) -> Any:
    for _ in range(100):
        try:
            return await open_hl7_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
    raise AssertionError("the listener never opened its port")


async def _listeners(pool: asyncpg.Pool, want: Callable[[list[links.Listener]], bool]) -> list[links.Listener]:
    for _ in range(100):
        async with pool.acquire() as conn:
            seen = await links.listeners(conn, datetime.now(UTC))
        if want(seen):
            return seen
        await asyncio.sleep(0.2)
    raise AssertionError(f"the listeners never reported as expected: {seen}")


async def test_the_listener_reports_who_is_connected_for_the_operations_page(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    port = free_port()
    env = {**env_for(settings), "LABPULSE_MLLP_REPORT_MS": "200"}
    proc = subprocess.Popen([*labpulse_cmd(), "mllp", "--port", str(port)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and "MLLP listener" in proc.stdout.readline()
        (r1, w1), (_, w2) = [await _connect(port) for _ in range(2)]
        w1.writeblock(ORU.format(control="L-1").encode())
        await w1.drain()
        await asyncio.wait_for(r1.readblock(), 10)
        [up] = await _listeners(pool, lambda s: len(s) == 1 and len(s[0].links) == 2 and s[0].links[0].messages == 1)
        assert up.up and up.address == f"127.0.0.1:{port}" and up.listener.endswith(f":{proc.pid}")
        assert (up.links[0].sender, up.links[1].sender, up.links[1].messages) == ("HEMA-1^LAB-MAIN", None, 0)
        w2.close()
        await _listeners(pool, lambda s: len(s) == 1 and len(s[0].links) == 1)
        w1.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert await _listeners(pool, lambda s: s == []) == []  # stopped cleanly: withdrawn at once
    async with pool.acquire() as conn:  # a listener that stops reporting (killed) is shown as gone
        await links.report(conn, links.Links("host:1", "0.0.0.0:2575"), datetime.now(UTC) - timedelta(seconds=31))
        [gone] = await links.listeners(conn, datetime.now(UTC))
    assert not gone.up
