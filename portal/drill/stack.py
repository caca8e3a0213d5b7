"""The drill's lab network on one machine: its own PostgreSQL behind PgBouncer (transaction pooling) and its own
Redis, 2 web processes behind HAProxy, 2 workers and 1 MLLP listener, each a real ``labpulse`` process in
production mode with Twilio pointed at the stand-in. The stack starts, SIGKILLs and restarts any of them, and
stops and restarts PostgreSQL and Redis (Redis starts empty, as after losing its data)."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from core.crypto import generate_key
from portal.drill.servers import OwnPostgres, OwnRedis, free_port, haproxy, labpulse_cmd, pgbouncer
from portal.drill.standins import ACCOUNT_SID, AUTH_TOKEN, template_env

SCHEMA = "labpulse"
PUBLIC_URL = "https://lab.example"  # what Twilio signs webhooks against, and what links in messages point to
SMS_FROM = "+14155550100"
WEB, WORKERS, MLLP = ("web-1", "web-2"), ("worker-1", "worker-2"), ("mllp-1",)


@dataclass
class Proc:
    name: str
    args: list[str]
    health: int  # the port answering /readyz
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0


@dataclass
class Stack:
    where: Path
    standins_url: str
    procs: dict[str, Proc] = field(default_factory=dict)
    front: str = ""  # HAProxy's host:port
    mllp_port: int = 0
    direct_url: str = ""
    _exit: ExitStack = field(default_factory=ExitStack)
    _env: dict[str, str] = field(default_factory=dict)

    def open(self) -> None:
        self.pg = OwnPostgres(port=free_port())
        self._exit.callback(self.pg.close)
        self.redis = OwnRedis(free_port())
        self._exit.callback(self.redis.close)
        self.direct_url = self.pg.url
        pooled = self._exit.enter_context(pgbouncer(self.pg.url, SCHEMA, pool_size=30))
        self._env = self._environment(pooled)
        webs = {name: free_port() for name in WEB}
        for name, port in webs.items():
            self.procs[name] = Proc(name, ["serve", "--port", str(port)], port)
        for name in WORKERS:
            health = free_port()
            self.procs[name] = Proc(name, ["worker", "--health-port", str(health)], health)
        self.mllp_port = free_port()
        for name in MLLP:
            health = free_port()
            self.procs[name] = Proc(name, ["mllp", "--port", str(self.mllp_port), "--health-port", str(health)], health)
        self.front = self._exit.enter_context(haproxy([(n, f"127.0.0.1:{p}") for n, p in webs.items()], self.where))
        self._exit.callback(self.stop_all)

    def close(self) -> None:
        self._exit.close()

    def _environment(self, pooled: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LABPULSE_", "DATABASE_URL", "REDIS_URL"))}
        env.update(
            LABPULSE_MODE="production", DATABASE_URL=pooled, LABPULSE_DB_POOLER="transaction",
            LABPULSE_LISTEN_DATABASE_URL=self.pg.url, LABPULSE_MIGRATION_DATABASE_URL=self.pg.url,
            LABPULSE_DB_SCHEMA=SCHEMA, REDIS_URL=self.redis.url, LABPULSE_FILE_STORE="postgres",
            LABPULSE_DATA_DIR=str(self.where / "data"),
            LABPULSE_FIELD_KEYS="drill1:" + base64.b64encode(generate_key()).decode(),
            LABPULSE_LOOKUP_KEY=base64.b64encode(os.urandom(32)).decode(),
            LABPULSE_SECRET_KEY=base64.urlsafe_b64encode(os.urandom(48)).decode(),
            LABPULSE_PUBLIC_URL=PUBLIC_URL, LABPULSE_TRUSTED_PROXIES="127.0.0.1", LABPULSE_SERVE_RELAY="off",
            TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_SMS_FROM=SMS_FROM,
            TWILIO_API_BASE=self.standins_url, LABPULSE_ESCALATION_TICK_SECONDS="2", LABPULSE_LOG_LEVEL="info",
            **template_env(),
        )  # fmt: skip
        return env

    @property
    def env(self) -> dict[str, str]:
        return dict(self._env)

    def labpulse(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*labpulse_cmd(), *args], env=self.env, input=stdin, capture_output=True, text=True,
                              timeout=180, check=False)  # fmt: skip

    def start(self, name: str) -> None:
        proc = self.procs[name]
        proc.starts += 1
        with (self.where / f"{name}.log").open("ab") as log:
            proc.popen = subprocess.Popen([*labpulse_cmd(), *proc.args], env=self.env, stdout=log,
                                          stderr=subprocess.STDOUT)  # fmt: skip

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown, nothing flushed, as when a machine loses power."""
        popen = self.procs[name].popen
        if popen is not None and popen.poll() is None:
            popen.send_signal(signal.SIGKILL)
            popen.wait(10)

    def ready(self, name: str) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.procs[name].health}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, names: list[str] | None = None, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        for name in names or list(self.procs):
            while not self.ready(name):
                popen = self.procs[name].popen
                if popen is not None and popen.poll() is not None:
                    raise RuntimeError(f"{name} exited with {popen.returncode}: see {self.where / (name + '.log')}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} did not become ready: see {self.where / (name + '.log')}")
                time.sleep(0.2)

    def died(self) -> list[str]:
        """Processes that ended by themselves (the drill's own kills are restarted at once)."""
        return [n for n, p in self.procs.items() if p.popen is not None and p.popen.poll() is not None]

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.popen is not None and proc.popen.poll() is None:
                proc.popen.terminate()
        for proc in self.procs.values():
            if proc.popen is not None:
                try:
                    proc.popen.wait(30)
                except subprocess.TimeoutExpired:
                    proc.popen.kill()
                    proc.popen.wait(10)
