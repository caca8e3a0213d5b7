"""The fault drill (`labpulse drill`, issue 20) in its short form: 2 web processes behind HAProxy, 2 workers and an
MLLP listener through PgBouncer, a day's load for 40 seconds while every kind of fault is injected once (each
process type SIGKILLed, PostgreSQL and Redis restarted, the Twilio stand-in answering 429, 500 and nothing in
time). It must end with nothing lost and nothing duplicated, and say so on its last line. The checks it makes are
tested on their own below, so a drill that could not see a loss would fail here too."""

from __future__ import annotations

import re
import subprocess

import pytest

from portal.drill.day import visit
from portal.drill.run import FAULTS, Verdict, _socket
from tests.support.procs import labpulse_cmd


@pytest.mark.slow
def test_the_short_drill_loses_nothing_and_does_nothing_twice() -> None:
    done = subprocess.run([*labpulse_cmd(), "drill", "--seconds", "40", "--seed", "7"], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    lines = [ln for ln in done.stdout.splitlines() if ln.strip()]
    report = "\n".join(ln for ln in lines if not ln.startswith("{"))
    assert done.returncode == 0, report + done.stderr[-3000:]
    last = re.fullmatch(r"drill: operations (\d+), faults (\d+), lost 0, duplicated 0", lines[-1])
    assert last is not None, report
    assert int(last.group(1)) > 300 and int(last.group(2)) >= len(FAULTS), report
    faults = next(ln for ln in lines if ln.startswith("faults: "))
    assert all(kind in faults for kind in FAULTS), faults  # every kind of fault, at least once
    assert re.search(r"sockets: (\d+) of \1 caught up", report), report
    assert "processes that died by themselves: none" in report


def test_the_socket_check_sees_a_missed_and_a_repeated_event() -> None:
    v = visit(1)
    lost: list[str] = []
    dup: list[str] = []
    v.events = [3, 4, 5]
    assert _socket(v, [1, 2, 3, 4, 5], lost, dup) == 1 and lost == dup == []  # 1 and 2 came in the snapshot
    v.events = [3, 5]
    assert _socket(v, [1, 2, 3, 4, 5], lost, dup) == 0 and lost == ["visit 1: the socket missed events [4]"]
    v.events = [3, 4, 4, 5]
    _socket(v, [3, 4, 5], lost, dup)
    assert dup == ["visit 1: the socket heard [3, 4, 4, 5]"]
    v.events = []
    assert _socket(v, [1], lost, dup) == 0 and lost[-1] == "visit 1: the socket heard nothing"


def test_the_last_line_counts_what_was_lost_and_duplicated() -> None:
    verdict = Verdict(operations=12, lost=["a", "b"], duplicated=["c"])
    verdict.faults.update({"kill web": 2, "restart redis": 1})
    assert verdict.last_line == "drill: operations 12, faults 3, lost 2, duplicated 1"
