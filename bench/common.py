"""What every benchmark here shares: throwaway settings and the matching server environment, child processes,
/proc readings and percentiles. Benchmarks run as scripts (``python bench/x.py``), so they import this as
``common``."""

from __future__ import annotations

import base64
import http.client
import os
import resource
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

from core.config import Secret, Settings
from core.crypto import generate_key
from portal.drill.servers import free_port, labpulse_cmd  # noqa: F401 - every bench starts processes with these

ROOT = Path(__file__).resolve().parents[1]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def throwaway(database_url: str, redis_url: str, prefix_root: str) -> tuple[Settings, dict[str, str]]:
    """Settings for a fresh schema, Redis prefix and random keys, and the environment a `labpulse` child needs
    to use the same ones."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    key = base64.b64encode(generate_key()).decode()
    lookup = base64.b64encode(os.urandom(32)).decode()
    secret = uuid.uuid4().hex + uuid.uuid4().hex
    settings = Settings(
        mode="production",
        database_url=Secret(database_url),
        redis_url=Secret(redis_url),
        db_schema=schema,
        redis_prefix=f"{prefix_root}:{schema}",
        field_keys={"b1": Secret(key)},
        field_key_active="b1",
        lookup_key=Secret(lookup),
        secret_key=Secret(secret),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABPULSE_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        LABPULSE_MODE="production",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        LABPULSE_DB_SCHEMA=schema,
        LABPULSE_REDIS_PREFIX=settings.redis_prefix,
        LABPULSE_FIELD_KEYS=f"b1:{key}",
        LABPULSE_LOOKUP_KEY=lookup,
        LABPULSE_SECRET_KEY=secret,
        LABPULSE_LOG_LEVEL="warning",
    )
    return settings, env


async def drop(settings: Settings) -> None:
    """Remove the throwaway schema and every Redis key under the prefix."""
    assert settings.database_url and settings.redis_url
    conn = await asyncpg.connect(settings.database_url.reveal())
    await conn.execute(f'DROP SCHEMA IF EXISTS "{settings.db_schema}" CASCADE')
    await conn.close()
    redis = aioredis.from_url(settings.redis_url.reveal())
    batch = [k async for k in redis.scan_iter(match=f"{settings.redis_prefix}:*", count=1000)]
    for i in range(0, len(batch), 1000):
        await redis.delete(*batch[i : i + 1000])
    await redis.aclose()


def wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 90.0, *, path: str = "/healthz") -> None:
    """Until the process on ``port`` answers 200 on ``path`` (``/readyz``: every loop of it running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the process on port {port} exited with {proc.returncode}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.3)
    raise TimeoutError(f"port {port}: {path} did not answer 200")


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


def postgres_cpu_seconds() -> float:
    """CPU used so far by every running PostgreSQL process of this machine (backends, WAL writer, checkpointer):
    read before and after a run, while the run's connections stay open, it is PostgreSQL's share of the work."""
    return cpu_seconds_of("postgres")


def cpu_seconds_of(comm: str) -> float:
    """CPU used so far by every running process of this machine named ``comm`` (``postgres``, ``redis-server``)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() == comm:
                total += cpu_seconds(int(proc.name))
        except OSError:  # it exited meanwhile
            continue
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK"), idle / os.sysconf("SC_CLK_TCK")
