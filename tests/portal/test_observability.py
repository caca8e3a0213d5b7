"""Observability (issue 20), on real processes: every request, whatever its answer, has one JSON access-log line with
its request id and its route's template; and a request id follows the work it started from the HTTP request through
the outbox and the bus to the worker that runs its job. (What ``/metrics`` shows: tests/realtime/test_metrics.py.)"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from core.config import Settings
from core.vault import Vault
from tests.core.test_reports import _completed as completed_tube
from tests.support.procs import env_for, free_port, labpulse_cmd, wait_healthy

PASSWORD = "correct horse battery"


def _lines(stderr: str) -> list[dict[str, Any]]:
    out = []
    for line in stderr.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


async def test_every_request_has_one_access_log_line_with_its_id_whatever_the_answer(settings: Settings) -> None:
    port = free_port()
    proc = subprocess.Popen([*labpulse_cmd(), "serve", "--port", str(port)], env=env_for(settings),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/healthz")
        async with httpx.AsyncClient(base_url=base) as http:
            answers = {
                "log-health-001": await http.get("/healthz", headers={"X-Request-ID": "log-health-001"}),
                "log-denied-001": await http.get("/api/staff/samples/LPT12345678",
                                                 headers={"X-Request-ID": "log-denied-001"}),
                "log-invalid-01": await http.post("/api/triage", content=b"{not json",
                                                  headers={"X-Request-ID": "log-invalid-01",
                                                           "Content-Type": "application/json"}),
                "log-missing-01": await http.get("/no/such/page", headers={"X-Request-ID": "log-missing-01"}),
            }  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert {rid: r.status_code for rid, r in answers.items()} == {
        "log-health-001": 200, "log-denied-001": 401, "log-invalid-01": 422, "log-missing-01": 404}  # fmt: skip
    seen = {line["request_id"]: line for line in _lines(stderr) if line.get("event") == "request"}
    assert {rid: (seen[rid]["status"], seen[rid]["route"]) for rid in answers} == {
        "log-health-001": (200, "/healthz"),
        "log-denied-001": (401, "/api/staff/samples/{barcode}"),  # the template: never the barcode itself
        "log-invalid-01": (422, "/api/triage"),
        "log-missing-01": (404, "unmatched"),
    }
    assert "LPT12345678" not in stderr


async def test_a_request_id_follows_the_work_from_http_through_the_outbox_to_the_worker(
    settings: Settings, pool: asyncpg.Pool, vault: Vault, client: httpx.AsyncClient
) -> None:
    """A pathologist signs a report over HTTP with a request id; the worker that publishes the approval's event and
    renders the report names that id on its lines."""
    async with pool.acquire() as conn:
        barcode, _ = await completed_tube(conn, vault)
    token = (await client.post("/api/staff/session", json={"username": "dr.path", "password": "x" * 12})).json()
    signed = await client.post(f"/api/staff/samples/{barcode}/report", json={},
                               headers={"Authorization": f"Bearer {token['token']}",
                                        "X-Request-ID": "trace-report-001"})  # fmt: skip
    assert signed.status_code in (200, 201, 202), signed.text
    health = free_port()
    env = env_for(settings, LABPULSE_LOG_LEVEL="debug", LABPULSE_DATA_DIR=str(settings.data_dir))
    proc = subprocess.Popen([*labpulse_cmd(), "worker", "--health-port", str(health)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        for _ in range(300):
            async with pool.acquire() as conn:
                if await conn.fetchval("SELECT count(*) FROM reports WHERE rendered_at IS NOT NULL") == 1:
                    break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    mine = [line["event"] for line in _lines(stderr) if line.get("request_id") == "trace-report-001"]
    assert any(e.startswith("published ") for e in mine), mine  # the relay put the approval's event on the bus
    assert any(e.startswith("job reports.render #") and e.endswith(" ms") for e in mine), mine  # the worker ran it


async def test_several_uvicorn_workers_answer_one_sum_on_metrics(settings: Settings, tmp_path: Path) -> None:
    """With ``PROMETHEUS_MULTIPROC_DIR`` set, every worker process counts into files there and ``/metrics`` adds
    them up, whichever worker answers it."""
    port = free_port()
    env = env_for(settings, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    proc = subprocess.Popen([*labpulse_cmd(), "serve", "--port", str(port), "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/healthz")
        for _ in range(40):  # new connections, so both workers take some
            async with httpx.AsyncClient(base_url=base) as once:
                assert (await once.get("/livez-nothing")).status_code == 404
        counts = set()
        for _ in range(6):
            async with httpx.AsyncClient(base_url=base) as once:
                text = (await once.get("/metrics")).text
            counts.add(sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                           if s.name == "labpulse_http_request_seconds_count"
                           and s.labels.get("route") == "unmatched"))  # fmt: skip
        pids = {p.name.split("_")[-1] for p in tmp_path.glob("*.db")}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert len(pids) >= 2  # two workers wrote their values
    assert counts == {40.0}  # every worker's answer sums both
