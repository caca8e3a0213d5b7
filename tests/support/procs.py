"""Run ``labpulse`` as a real process, as an operator would."""

from __future__ import annotations

import os
import subprocess
import time

import httpx

from core.config import Settings
from portal.drill.servers import free_port, labpulse_cmd, wait_listening

__all__ = ["env_for", "free_port", "labpulse_cmd", "run", "stop_all", "wait_healthy", "wait_listening"]


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    assert settings.database_url and settings.redis_url and settings.lookup_key and settings.secret_key
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABPULSE_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        LABPULSE_MODE="production",
        DATABASE_URL=settings.database_url.reveal(),
        REDIS_URL=settings.redis_url.reveal(),
        LABPULSE_DB_SCHEMA=settings.db_schema,
        LABPULSE_REDIS_PREFIX=settings.redis_prefix,
        LABPULSE_FIELD_KEYS=",".join(f"{k}:{v.reveal()}" for k, v in settings.field_keys.items()),
        LABPULSE_LOOKUP_KEY=settings.lookup_key.reveal(),
        LABPULSE_SECRET_KEY=settings.secret_key.reveal(),
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*labpulse_cmd(), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


def wait_healthy(url: str, timeout: float = 90.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, timeout=2.0)
            if r.status_code == 200:
                return r
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not become healthy: {last}")


def stop_all(procs: list[subprocess.Popen[bytes]], timeout: float = 30) -> None:
    """SIGTERM every process, then wait for each (SIGKILL one that will not stop)."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
