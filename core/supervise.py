"""Supervised background loops: each long-running loop of a process (outbox relay, job queue, escalation timer,
sweep, MLLP appliers, the hub's subscription) runs under a ``Supervisor`` that restarts it with back-off whenever
it fails, says so once per outage in the log, and keeps the loop's health for ``/readyz`` and ``/metrics``.

A loop proves it is alive by calling the ``beat`` it is given each time round. It is *ready* when it has beaten
within its ``stale_after`` seconds and has not failed since; a loop that returns on its own has stopped (that is
how a loop ends on shutdown) and is no longer counted. Nothing here knows about HTTP: the web server and the
worker's and listener's health ports read ``Supervisor.health()``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Counter, Gauge

from core import metrics

log = logging.getLogger("labpulse.supervise")

Beat = Callable[[], None]
LoopBody = Callable[[Beat], Awaitable[None]]

LOOP_UP = Gauge("labpulse_loop_up", "1 while a supervised loop runs and has beaten recently", ["loop"])
LOOP_FAILURES = Counter("labpulse_loop_failures_total", "Times a supervised loop failed and was restarted", ["loop"])
LOOP_BEAT = Gauge("labpulse_loop_last_beat_seconds", "Unix time of a supervised loop's last heartbeat", ["loop"])


@dataclass
class LoopHealth:
    """What ``/readyz`` shows of one loop (never an error's text: it may carry a host name or a number)."""

    name: str
    stale_after: float
    up: bool = False
    last_beat: float | None = None  # time.monotonic() of the last beat
    failures: int = 0
    last_error: str | None = None  # the exception's type only
    down_since: float | None = None
    stopped: bool = False

    def ready(self, now: float) -> bool:
        return self.stopped or (self.up and self.last_beat is not None and now - self.last_beat <= self.stale_after)

    def detail(self, now: float) -> dict[str, object]:
        age = None if self.last_beat is None else round(now - self.last_beat, 1)
        out: dict[str, object] = {"ready": self.ready(now), "heartbeat_age_s": age, "failures": self.failures}
        if self.last_error and not self.up:
            out["last_error"] = self.last_error
        if self.down_since is not None:
            out["down_for_s"] = round(now - self.down_since, 1)
        return out


def _where(exc: BaseException) -> str:
    """Where it was raised (file:line), without the message: an error's text can hold a value from a row."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"


class Supervisor:
    """Runs loops, restarts the ones that fail, and reports their health. One per process."""

    def __init__(self, *, min_backoff: float = 0.5, max_backoff: float = 4.0) -> None:
        self._loops: dict[str, LoopHealth] = {}
        self._min, self._max = min_backoff, max_backoff
        self._checks: dict[str, Callable[[], str | None]] = {}
        self._warnings: dict[str, Callable[[], str | None]] = {}

    def add_check(self, name: str, check: Callable[[], str | None]) -> None:
        """A readiness condition that is not a loop (the event bus subscribed?): it returns a problem or None."""
        self._checks[name] = check

    def add_warning(self, name: str, check: Callable[[], str | None]) -> None:
        """Shown in ``/readyz``'s detail without making the process unready (an empty escalation chain)."""
        self._warnings[name] = check

    def loop(self, name: str, body: LoopBody, *, stale_after: float = 60.0) -> asyncio.Task[None]:
        """Start ``body`` under supervision as a task named ``name``."""
        health = self._loops[name] = LoopHealth(name, stale_after)  # counted (unready) from now, not once it runs
        return asyncio.create_task(self._run(health, body), name=name)

    async def run(self, name: str, body: LoopBody, *, stale_after: float = 60.0) -> None:
        """Run ``body`` under supervision in this task, until it returns or is cancelled."""
        await self._run(self._loops.setdefault(name, LoopHealth(name, stale_after)), body)

    async def _run(self, health: LoopHealth, body: LoopBody) -> None:
        backoff = self._min
        while True:
            started = time.monotonic()
            try:
                await body(lambda: self._beat(health))
            except asyncio.CancelledError:
                self._stopped(health)
                raise
            except Exception as exc:  # noqa: BLE001 - a loop outlives any failure: logged, shown, restarted
                if time.monotonic() - started > 4 * self._max:
                    backoff = self._min  # it ran well for a while: this is a new outage
                self._failed(health, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max)
                continue
            self._stopped(health)
            return

    def _beat(self, health: LoopHealth) -> None:
        now = time.monotonic()
        if health.down_since is not None:
            log.warning("%s is running again after %.1f s", health.name, now - health.down_since)
            health.down_since = None
        health.up, health.last_beat = True, now
        LOOP_UP.labels(health.name).set(1)
        LOOP_BEAT.labels(health.name).set(time.time())

    def _failed(self, health: LoopHealth, exc: Exception, backoff: float) -> None:
        health.up, health.failures, health.last_error = False, health.failures + 1, type(exc).__name__
        LOOP_UP.labels(health.name).set(0)
        LOOP_FAILURES.labels(health.name).inc()
        if health.down_since is None:  # once per outage; the rest of it at debug level
            health.down_since = time.monotonic()
            log.error("%s failed (%s at %s); restarting it with back-off until it runs again", health.name,
                      type(exc).__name__, _where(exc))  # fmt: skip
        else:
            log.debug("%s still failing (%s); next try in %.1f s", health.name, type(exc).__name__, backoff)

    def _stopped(self, health: LoopHealth) -> None:
        health.up, health.stopped = False, True
        LOOP_UP.labels(health.name).set(0)

    def health(self) -> tuple[bool, dict[str, object]]:
        """(ready?, detail): every loop ready and every check passing."""
        now = time.monotonic()
        loops = {name: h.detail(now) for name, h in self._loops.items()}
        problems = {name: problem for name, check in self._checks.items() if (problem := check()) is not None}
        ready = all(h.ready(now) for h in self._loops.values()) and not problems
        detail: dict[str, object] = {"loops": loops}
        if problems:
            detail["problems"] = problems
        if warnings := {name: w for name, check in self._warnings.items() if (w := check()) is not None}:
            detail["warnings"] = warnings
        return ready, detail

    def names(self) -> list[str]:
        return list(self._loops)


async def watch_event_loop(every: float = 0.1) -> None:
    """Forever: how late the event loop wakes from a sleep of ``every`` seconds, into
    ``labpulse_event_loop_lag_seconds``. Whatever holds the loop (a CPU-bound job, a blocking call) shows here, and
    in the lag of every other loop of the process, the outbox relay's included."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(every)
        metrics.EVENT_LOOP_LAG.observe(max(0.0, loop.time() - started - every))


_gc_started: list[float] = []


def _gc_timer(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_started[:] = [time.perf_counter()]
    elif _gc_started:
        metrics.GC_PAUSE.labels(str(info.get("generation", "?"))).observe(time.perf_counter() - _gc_started[0])


# The collector's thresholds for a serving process: a young collection per 10,000 new objects (not 700), and a
# full one only after 100 middle ones (not 10). Measured with 10,000 sockets open (docs/benchmarks.md): with the
# defaults, full collections over every socket's objects held the loop for up to 3.6 s.
GC_THRESHOLDS = (10_000, 10, 100)
FREEZE_EVERY_SECONDS = 60.0
THAW_EVERY_SECONDS = 3600.0
_settled: list[bool] = []


def settle_heap() -> None:
    """Once a process has imported and built what it keeps (call it from a process's entry point, never in tests):
    collect, then freeze what is left out of the collector's sight, so a full collection walks what the process
    holds for its work and not every module, table and model it loaded; and collect less often. ``keep_heap``
    then keeps freezing what lives long (open sockets) in the process's event loop."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    _settled[:] = [True]


async def keep_heap(freeze_every: float = FREEZE_EVERY_SECONDS, thaw_every: float = THAW_EVERY_SECONDS) -> None:
    """Forever, in a process that called ``settle_heap`` (else it returns at once): every ``freeze_every`` seconds,
    freeze what the process holds, so the collector walks only what is newer (an open socket is walked for a
    minute, not for its whole life); every ``thaw_every`` seconds, one full collection over everything frees the
    few cycles a closed socket leaves among the frozen (its transport and protocol: about 1 KiB)."""
    if not _settled:
        return
    loop = asyncio.get_running_loop()
    thawed = loop.time()
    while True:
        await asyncio.sleep(freeze_every)
        if loop.time() - thawed >= thaw_every:
            gc.unfreeze()
            gc.collect()
            thawed = loop.time()
        gc.freeze()
        metrics.GC_FROZEN.set(gc.get_freeze_count())


def time_gc_pauses() -> None:
    """Every garbage collection's pause into ``labpulse_gc_pause_seconds`` (once per process)."""
    if _gc_timer not in gc.callbacks:
        gc.callbacks.append(_gc_timer)
