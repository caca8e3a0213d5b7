"""The reference deployment's files agree with the product and with each other (issue 20): every process the compose
file starts is a real `labpulse` command, the settings it gives (with deploy/env.example filled in) load without a
single problem, the load balancer's server names are the web processes' LABPULSE_NODE, HAProxy accepts its file,
Prometheus scrapes every process on its metrics port, PgBouncer sets the schema the processes use, and the image
holds every package and installs the lock file hash-checked. (No Docker daemon runs here: the images themselves are
not built by the suite.)"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from core.config import load_settings
from portal.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
FILLED = {
    "OWNER_DB_PASSWORD": "owner-pw", "APP_DB_PASSWORD": "app-pw", "PUBLIC_HOST": "lab.example.in",
    "TURN_SECRET": "turn-secret", "LABPULSE_FIELD_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
    "LABPULSE_LOOKUP_KEY": base64.b64encode(os.urandom(32)).decode(), "LABPULSE_SECRET_KEY": "s" * 64,
}  # fmt: skip


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def _labpulse_services() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in _compose()["services"].items() if svc.get("image") == "labpulse:latest"}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    example = {k: v for k, _, v in (line.partition("=") for line in (DEPLOY / "env.example").read_text().splitlines()
                                    if line and not line.startswith("#"))}  # fmt: skip
    env = {**example, **FILLED, **{k: str(v) for k, v in service["environment"].items()}}
    return {k: re.sub(r"\$\{(\w+)\}", lambda m: FILLED.get(m.group(1), example.get(m.group(1), "")), v)
            for k, v in env.items()}  # fmt: skip


def test_every_process_is_a_labpulse_command_whose_settings_load_without_a_problem() -> None:
    services = _labpulse_services()
    assert {"migrate", "web-1", "web-2", "worker", "mllp"} <= set(services)
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    for name, service in services.items():
        assert service["command"][0] in commands, name
        settings = load_settings(_environment(service))  # raises ConfigError listing every problem
        assert settings.mode == "production" and settings.db_pooler == "transaction", name
        assert settings.file_store == "postgres", name  # several machines read the same report files


def test_the_load_balancer_pgbouncer_and_prometheus_agree_with_the_processes() -> None:
    services = _labpulse_services()
    nodes = {s["environment"].get("LABPULSE_NODE") for s in services.values()} - {None}
    haproxy_cfg = (DEPLOY / "haproxy" / "haproxy.cfg").read_text()
    assert (
        set(re.findall(r"^\s+server (\S+) \1:8000 cookie \1 check$", haproxy_cfg, re.M)) == nodes == {"web-1", "web-2"}
    )
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    checked = subprocess.run([binary, "-c", "-f", str(DEPLOY / "haproxy" / "haproxy.cfg")], capture_output=True,
                             text=True, timeout=30)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    schema = load_settings(_environment(services["web-1"])).db_schema
    assert f"connect_query='SET search_path TO {schema}'" in (DEPLOY / "pgbouncer" / "pgbouncer.ini").read_text()
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    targets = {t for job in scrape for sc in job.get("static_configs", []) for t in sc["targets"]}
    targets |= {f"{n}:{sd['port']}" for job in scrape for sd in job.get("dns_sd_configs", []) for n in sd["names"]}
    assert targets == {"web-1:8000", "web-2:8000", "worker:8001", "mllp:8002"}
    assert services["worker"]["command"][-1] == "8001" and services["mllp"]["command"][-1] == "8002"


def test_the_image_holds_every_package_and_installs_the_lock_file_hash_checked() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    for package in ("core", "portal", "bots", "realtime", "consult", "static"):
        assert f"COPY {package} {package}" in dockerfile, package
