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
    env.update(LABPULSE_DATA_DIR=data_dir, LABPULSE_PORT=str(port), LABPULSE_SIMULATE_SECONDS="0")
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
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    # The server was the last user: it stopped both.
    assert not (Path(data_dir) / "pg" / "postmaster.pid").exists()
    assert json.loads((Path(data_dir) / "embedded-users.json").read_text()) == []


@pytest.mark.slow
def test_the_quick_start_works_while_the_simulated_lab_runs() -> None:
    """README's Quick start on a fresh data directory: serve (demo), the MLLP listener joining the same embedded
    services, the sample ORU file sent over MLLP completing its tube live, and the README's scan, all while the
    simulated lab steps every second. A demo card has a released report."""
    data_dir = tempfile.mkdtemp(prefix="lpq", dir="/tmp")
    port, mllp_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABPULSE_", "DATABASE_URL", "REDIS_URL"))}
    env.update(LABPULSE_DATA_DIR=data_dir, LABPULSE_PORT=str(port), LABPULSE_SIMULATE_SECONDS="1")
    log = Path(data_dir) / "serve.log"
    with log.open("w") as out:
        serve = subprocess.Popen([*labpulse_cmd(), "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    mllp = None
    try:
        wait_healthy(f"http://127.0.0.1:{port}/readyz")
        mllp = subprocess.Popen([*labpulse_cmd(), "mllp", "--port", str(mllp_port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        oru = Path(__file__).parents[2] / "docs" / "examples" / "demo-oru.hl7"
        deadline = time.monotonic() + 60
        while True:
            sent = subprocess.run([*labpulse_cmd(), "hl7", "send", str(oru), "--port", str(mllp_port)], env=env,
                                  capture_output=True, text=True, timeout=60)  # fmt: skip
            if sent.returncode != 2 or time.monotonic() > deadline:  # 2: the listener is not up yet
                break
            time.sleep(0.5)
        assert sent.returncode == 0 and "message 1: AA" in sent.stdout, sent.stdout + sent.stderr
        time.sleep(3)  # three steps of the simulated lab: the Quick start's tubes are not its to move
        base = f"http://127.0.0.1:{port}"
        token = _demo_sign_in(log, base, "demo.tech")
        headers = {"Authorization": f"Bearer {token}"}
        r = httpx.post(f"{base}/api/staff/scan", headers=headers,
                       json={"barcode": "DEMO-QS-SCAN", "to": "in_transit", "centre_id": "CC-BANDRA"})  # fmt: skip
        assert r.status_code == 200, r.text
        r = httpx.get(f"{base}/api/staff/samples/DEMO-QS-ORU", headers=headers)
        assert r.json()["sample"]["state"] == "completed", r.text
        deadline = time.monotonic() + 30
        while (
            httpx.get(f"{base}/api/staff/samples/DEMO-003-1", headers=headers).json()["sample"]["state"] != "reported"
        ):
            assert time.monotonic() < deadline, "the seeded report was never rendered"
            time.sleep(0.5)
    finally:
        for proc in (mllp, serve):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
        if mllp is not None:
            mllp.wait(30)
        serve.wait(30)
    assert serve.returncode == 0


def _demo_sign_in(log: Path, base: str, username: str) -> str:
    """The staff password printed once at start, read from the server's output."""
    passwords = {
        p[1]: p[2] for p in map(str.split, log.read_text().splitlines()) if len(p) == 3 and p[1].startswith("demo.")
    }
    r = httpx.post(f"{base}/api/staff/session", json={"username": username, "password": passwords[username]})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])
