"""Debian's PgBouncer in transaction pooling mode in front of the test's PostgreSQL, as managed PostgreSQL is usually
fronted: the schema is set by the pooler (``connect_query``), the processes connect through it with
``LABPULSE_DB_POOLER=transaction``, and its admin console says how many transactions it carried."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.procs import free_port, wait_listening


@contextmanager
def pgbouncer(direct_url: str, schema: str, *, set_schema: bool = True, pool_size: int = 20) -> Iterator[str]:
    """Yields the URL of a database ``lp`` behind PgBouncer in transaction mode (``set_schema``: whether the pooler
    sets the schema on its server connections, as a deployment must)."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    assert Path(binary).exists(), "install Debian's pgbouncer: apt-get install -y pgbouncer (./run test does it)"
    direct = urlsplit(direct_url)
    port = free_port()
    where = Path(
        tempfile.mkdtemp(prefix="lp-pgbouncer-", dir="/tmp")
    )  # nobody must reach it: not the session tmp (0700)
    where.chmod(0o777)  # as root, PgBouncer runs as nobody: it writes its log and pid here
    schema_query = f" connect_query='SET search_path TO {schema}'" if set_schema else ""
    (where / "users.txt").write_text(f'"{direct.username or "postgres"}" ""\n')
    (where / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"lp = host={direct.hostname} port={direct.port or 5432} dbname={direct.path.lstrip('/')}{schema_query}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\nauth_type = trust\n"
        f"auth_file = {where / 'users.txt'}\nadmin_users = {direct.username or 'postgres'}\n"
        f"pool_mode = transaction\nmax_client_conn = 1000\ndefault_pool_size = {pool_size}\n"
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
                          capture_output=True, text=True, timeout=10)  # fmt: skip
    assert done.returncode == 0, done.stderr
    total = 0
    for line in done.stdout.splitlines():
        cells = line.split("|")
        if cells and cells[0] == "lp":
            total += int(cells[1])  # the columns begin: database, total_xact_count (PgBouncer 1.18)
    return total
