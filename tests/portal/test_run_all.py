"""`./run all` as README promises it: the Procfile's web, worker and MLLP listener through honcho on the embedded
default (one PostgreSQL and Redis, started by the first and joined by the others), each ready on its port, an
analyzer's message ACKed AA, and one SIGTERM to honcho stops all three cleanly, the last one out stopping the
embedded services."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.procs import free_port, labpulse_cmd, wait_healthy

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_the_procfile_runs_together_and_stops_together() -> None:
    data_dir = tempfile.mkdtemp(prefix="lpa", dir="/tmp")
    web, worker_health, mllp, mllp_health = free_port(), free_port(), free_port(), free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABPULSE_", "DATABASE_URL", "REDIS_URL"))}
    env.update(LABPULSE_DATA_DIR=data_dir, PORT=str(web), WORKER_HEALTH_PORT=str(worker_health), MLLP_PORT=str(mllp),
               MLLP_HEALTH_PORT=str(mllp_health), PATH=f"{bin_dir}:{env.get('PATH', '')}")  # fmt: skip
    log = Path(data_dir) / "all.log"
    with log.open("w") as out:
        honcho = subprocess.Popen([f"{bin_dir}/honcho", "-f", str(ROOT / "Procfile"), "start"], cwd=ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        for port in (web, worker_health, mllp_health):
            wait_healthy(f"http://127.0.0.1:{port}/readyz", timeout=120)
        oru = ROOT / "docs" / "examples" / "demo-oru.hl7"
        sent = subprocess.run([*labpulse_cmd(), "hl7", "send", str(oru), "--port", str(mllp)], env=env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert sent.returncode == 0 and "message 1: AA" in sent.stdout, sent.stdout + sent.stderr
    finally:
        honcho.send_signal(signal.SIGTERM)
        honcho.wait(60)
    text = log.read_text()
    for name in ("web.1", "worker.1", "mllp.1"):
        assert f"{name} stopped (rc=0)" in text, text[-2000:]
    assert json.loads((Path(data_dir) / "embedded-users.json").read_text()) == []
    assert not (Path(data_dir) / "pg" / "postmaster.pid").exists()
