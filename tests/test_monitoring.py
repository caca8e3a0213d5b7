"""The monitoring files in deploy/: Prometheus's own promtool checks the alert rules and the scrape configuration
and runs their unit tests (each alert fires on the series that should raise it, and stays quiet otherwise); every
metric the rules and the Grafana dashboard ask for is one the product exports, so a renamed metric cannot leave a
panel blank or an alert silent."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from prometheus_client import REGISTRY

import core.metrics
import core.supervise  # noqa: F401 - the loop metrics

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
_NAME = re.compile(r"\b(labpulse_[a-z0-9_]+)")
_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def _promtool(*args: str) -> str:
    tool = shutil.which("promtool")
    assert tool, "install Debian's prometheus for promtool: apt-get install -y prometheus (./run test does it as root)"
    done = subprocess.run([tool, *args], cwd=DEPLOY / "prometheus", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _exported() -> set[str]:
    names = set()
    for collector in list(REGISTRY._collector_to_names):
        for metric in collector.describe() if hasattr(collector, "describe") else ():
            names.add(metric.name)
    return names


def _base(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def test_promtool_checks_the_rules_and_configuration_and_runs_their_unit_tests() -> None:
    assert "SUCCESS: 8 rules found" in _promtool("check", "rules", "alerts.yml")
    _promtool("check", "config", "prometheus.yml")
    assert "SUCCESS" in _promtool("test", "rules", "alerts_test.yml")


def test_every_metric_the_rules_and_the_dashboard_ask_for_is_exported() -> None:
    exported = _exported()
    assert {"labpulse_relay_lag_seconds", "labpulse_loop_up", "labpulse_critical_past_chain"} <= exported
    rules = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    dashboard = json.loads((DEPLOY / "grafana" / "labpulse.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    asked = {_base(name) for text in (rules, *exprs) for name in _NAME.findall(text)}
    assert asked and sorted(asked - exported) == []
    shown = {_base(name) for e in exprs for name in _NAME.findall(e)}
    assert sorted(exported - shown) == []  # and the dashboard shows every metric there is
