"""Redis through Sentinel (issue 20): with LABPULSE_REDIS_SENTINELS the processes find the master through the
Sentinels; when the master dies and a Sentinel promotes the replica, the hub and the relay carry on against the new
master, and the patient's socket hears the next step. Debian's redis-server, in Sentinel mode for the Sentinel."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from core.config import Secret, Settings
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault
from portal.app import create_app
from tests.realtime.conftest import Live, patient_signed_in, recv
from tests.support.factories import PHLEB, TECH
from tests.support.inbox import Inbox
from tests.support.procs import free_port
from tests.support.server import serving

MASTER = "labpulse-test"


def _redis(port: int, where: Path, *extra: str) -> subprocess.Popen[bytes]:
    server = shutil.which("redis-server")
    assert server, "Debian's redis-server is needed for the Sentinel test"
    where.mkdir(exist_ok=True)  # a replica's first sync writes a file: not into the working directory
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(where)]
    return subprocess.Popen([server, *args, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def sentinel_set(tmp_path: Path) -> Iterator[tuple[int, int, int, list[subprocess.Popen[bytes]]]]:
    master, replica, sentinel = free_port(), free_port(), free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {sentinel}\nbind 127.0.0.1\nsentinel monitor {MASTER} 127.0.0.1 {master} 1\n"
        f"sentinel down-after-milliseconds {MASTER} 1000\nsentinel failover-timeout {MASTER} 4000\n"
    )
    procs = [_redis(master, tmp_path / "m"), _redis(replica, tmp_path / "r", "--replicaof", "127.0.0.1", str(master))]
    server = shutil.which("redis-server")
    assert server
    procs.append(subprocess.Popen([server, str(conf), "--sentinel"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL))  # fmt: skip
    try:
        yield master, replica, sentinel, procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(10)


async def _master_port(sentinel: int) -> int | None:
    client = aioredis.Redis(port=sentinel, decode_responses=True)
    try:
        addr = await client.execute_command("SENTINEL", "get-master-addr-by-name", MASTER)
    except (OSError, aioredis.RedisError):
        return None
    finally:
        await client.aclose()
    return int(addr[1]) if addr else None


async def _replica_known(sentinel: int, replica: int) -> bool:
    client = aioredis.Redis(port=sentinel, decode_responses=True)
    try:
        known = await client.execute_command("SENTINEL", "replicas", MASTER)
    except (OSError, aioredis.RedisError):
        return False
    finally:
        await client.aclose()
    rows = [r if isinstance(r, dict) else dict(zip(r[::2], r[1::2], strict=False)) for r in known or []]
    return any(str(r.get("port")) == str(replica) and "s_down" not in str(r.get("flags", "")) for r in rows)


async def test_the_socket_hears_the_next_step_after_the_sentinels_promote_the_replica(
    settings: Settings,
    pool: asyncpg.Pool,
    vault: Vault,
    sentinel_set: tuple[int, int, int, list[subprocess.Popen[bytes]]],
) -> None:
    master, replica, sentinel, procs = sentinel_set
    for _ in range(300):  # the replica has synced, and the Sentinel knows the master and its replica (it asks the
        # master every 10 s at most)
        info = await aioredis.Redis(port=replica, decode_responses=True).info("replication")
        if info.get("master_link_status") == "up" and await _master_port(sentinel) == master:
            if await _replica_known(sentinel, replica):
                break
        await asyncio.sleep(0.1)
    via = settings.with_overrides(redis_url=Secret(f"redis://127.0.0.1:{master}/0"), redis_sentinels=(
        ("127.0.0.1", sentinel),), redis_sentinel_master=MASTER, serve_relay=True)  # fmt: skip
    inbox = Inbox()
    async with serving(create_app(via, notifier=inbox)) as addr, httpx.AsyncClient(base_url=f"http://{addr}") as http:
        live = Live(addr, inbox, http)
        token, _, tube = await patient_signed_in(live, pool, vault, "+919811144455")
        async with live.socket(token) as ws:
            assert (await recv(ws))["type"] == "snapshot"
            async with pool.acquire() as conn:
                await samples.transition(conn, barcode=tube.barcode, to_state=SampleState.IN_TRANSIT, actor=PHLEB,
                                         centre_id="CC-1")  # fmt: skip
            assert (await recv(ws))["data"]["to"] == "in_transit"
            await asyncio.sleep(0.5)  # the session the sign-in wrote reaches the replica
            procs[0].kill()  # the master dies
            for _ in range(200):
                if await _master_port(sentinel) == replica:
                    break
                await asyncio.sleep(0.1)
            assert await _master_port(sentinel) == replica  # promoted
            async with pool.acquire() as conn:
                await samples.transition(conn, barcode=tube.barcode, to_state=SampleState.RECEIVED_AT_LAB,
                                         actor=TECH, centre_id="LAB-1")  # fmt: skip
            heard = []
            while not heard or heard[-1].get("data", {}).get("to") != "received_at_lab":
                heard.append(await recv(ws, timeout=30))
    assert heard[-1]["event"] == "sample.state_changed"
