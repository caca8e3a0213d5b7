"""Debian's HAProxy in front of the test servers: the load balancer of the reference deployment, started by the
tests that need one (teleconsult rooms owned by one web process, the fault drill)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.procs import free_port, wait_listening


def config(front: int, servers: Sequence[tuple[str, str]]) -> str:
    """HTTP and WebSockets to ``servers`` ((name, host:port)), round robin, except that a request carrying the
    ``lp_node`` cookie goes to the server of that name (how a teleconsult's second side reaches its room)."""
    lines = [
        "global", "    maxconn 2000",
        "defaults", "    mode http", "    timeout connect 5s", "    timeout client 60s", "    timeout server 60s",
        "    timeout tunnel 1h",
        "frontend front", f"    bind 127.0.0.1:{front}", "    default_backend web",
        "backend web", "    balance roundrobin", "    cookie lp_node",
        *(f"    server {name} {addr} cookie {name}" for name, addr in servers),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


@contextmanager
def haproxy(servers: Sequence[tuple[str, str]], where: Path) -> Iterator[str]:
    """Yields the front's ``host:port``."""
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    assert Path(binary).exists(), "install Debian's haproxy: apt-get install -y haproxy (./run test does it as root)"
    front = free_port()
    conf = where / "haproxy.cfg"
    conf.write_text(config(front, servers))
    check = subprocess.run([binary, "-c", "-f", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    proc = subprocess.Popen([binary, "-f", str(conf), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(front)
        yield f"127.0.0.1:{front}"
    finally:
        proc.terminate()
        proc.wait(10)
