"""Supervised loops: a failing loop is restarted with back-off and logged once per outage; readiness follows its
heartbeat; checks make a process unready, warnings only show."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import weakref

import httpx
import pytest
from prometheus_client import REGISTRY

from core import supervise
from core.supervise import Beat, Supervisor, time_gc_pauses, watch_event_loop
from portal import health_port
from tests.support.procs import free_port


async def _until(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def test_a_failing_loop_is_restarted_logged_once_and_ready_again(caplog: pytest.LogCaptureFixture) -> None:
    sup = Supervisor(min_backoff=0.01, max_backoff=0.05)
    attempts = 0

    async def flaky(beat: Beat) -> None:
        nonlocal attempts
        attempts += 1
        if attempts <= 4:
            raise ConnectionRefusedError("database down")
        while True:
            beat()
            await asyncio.sleep(0.01)

    with caplog.at_level(logging.DEBUG, logger="labpulse.supervise"):
        task = sup.loop("relay", flaky, stale_after=1)
        await _until(lambda: sup.health()[0])
    task.cancel()
    detail = sup.health()[1]
    assert detail["loops"]["relay"]["failures"] == 4  # type: ignore[index]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "ConnectionRefusedError" in errors[0].getMessage()  # once per outage
    assert any("running again" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "database down" not in caplog.text  # the type and place are logged, never the text


async def test_a_silent_loop_goes_stale_and_a_down_one_is_unready() -> None:
    sup = Supervisor(min_backoff=0.01, max_backoff=0.02)
    go_silent = asyncio.Event()

    async def beats_then_hangs(beat: Beat) -> None:
        while not go_silent.is_set():
            beat()
            await asyncio.sleep(0.01)
        await asyncio.Event().wait()  # alive, but no longer doing its work

    task = sup.loop("queue", beats_then_hangs, stale_after=0.2)
    await _until(lambda: sup.health()[0])
    go_silent.set()
    await _until(lambda: not sup.health()[0])
    assert sup.health()[1]["loops"]["queue"]["heartbeat_age_s"] >= 0.2  # type: ignore[index,operator]
    task.cancel()

    async def always_down(beat: Beat) -> None:
        raise OSError("no route")

    down = sup.loop("escalation", always_down)
    await asyncio.sleep(0.1)
    ready, detail = sup.health()
    assert not ready and detail["loops"]["escalation"]["last_error"] == "OSError"  # type: ignore[index]
    down.cancel()


async def test_checks_make_unready_warnings_only_show_and_a_finished_loop_counts_as_stopped() -> None:
    sup = Supervisor()

    async def finishes(beat: Beat) -> None:
        beat()

    await sup.run("one-shot", finishes)
    assert sup.health()[0]
    problem: list[str] = []
    sup.add_check("event-bus", lambda: problem[0] if problem else None)
    sup.add_warning("escalation_chain", lambda: "the escalation chain is empty")
    ready, detail = sup.health()
    assert ready and detail["warnings"] == {"escalation_chain": "the escalation chain is empty"}
    problem.append("not subscribed to Redis")
    ready, detail = sup.health()
    assert not ready and detail["problems"] == {"event-bus": "not subscribed to Redis"}


async def test_the_health_port_answers_liveness_readiness_and_metrics() -> None:
    sup = Supervisor()
    up = asyncio.Event()

    async def loop(beat: Beat) -> None:
        await up.wait()
        while True:
            beat()
            await asyncio.sleep(0.01)

    task = sup.loop("relay", loop, stale_after=1)
    port = free_port()
    server = await health_port.start(sup, "127.0.0.1", port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).status_code == 200
            r = await client.get("/readyz")
            assert r.status_code == 503 and r.json()["loops"]["relay"]["ready"] is False
            up.set()
            await asyncio.sleep(0.05)
            r = await client.get("/readyz")
            assert (r.status_code, r.json()["status"]) == (200, "ready")
            metrics = (await client.get("/metrics")).text
            assert 'labpulse_loop_up{loop="relay"} 1.0' in metrics
            assert (await client.get("/nope")).status_code == 404
            assert (await client.post("/readyz")).status_code == 405
    finally:
        task.cancel()
        server.close()
        await server.wait_closed()


async def test_the_event_loop_watch_sees_the_loop_held() -> None:
    """What holds a process's event loop (a CPU-bound job, a blocking call) shows in /metrics: the relay's lag
    shares that loop, and bench/transitions.py names it as a stall's cause."""

    def held() -> float:
        return float(REGISTRY.get_sample_value("labpulse_event_loop_lag_seconds_sum") or 0.0)

    before = held()
    watching = asyncio.create_task(watch_event_loop(every=0.01))
    await asyncio.sleep(0.05)
    time.sleep(0.3)
    await asyncio.sleep(0.05)
    watching.cancel()
    assert 0.25 <= held() - before < 1.0


def test_garbage_collection_pauses_are_timed_by_generation() -> None:
    def full() -> float:
        return float(REGISTRY.get_sample_value("labpulse_gc_pause_seconds_count", {"generation": "2"}) or 0.0)

    time_gc_pauses()
    time_gc_pauses()  # once per process, however often it is asked
    before = full()
    gc.collect()
    assert full() == before + 1


class _Cycle:
    def __init__(self) -> None:
        self.me = self


async def test_the_heap_keeper_freezes_what_lives_long_and_thaws_it_on_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What has lived a while is frozen (a cycle dropped then is not collected); the thaw on schedule frees it."""
    assert await asyncio.wait_for(supervise.keep_heap(0.01, 0.05), 1) is None  # a process that never settled
    monkeypatch.setattr(supervise, "_settled", [True])
    keeper = asyncio.create_task(supervise.keep_heap(0.1, 0.6))
    try:
        cycle = _Cycle()
        gone = weakref.ref(cycle)
        await _until(lambda: (REGISTRY.get_sample_value("labpulse_gc_frozen_objects") or 0) > 0)  # it froze
        del cycle
        gc.collect()
        assert gone() is not None  # frozen: out of the collector's sight
        await _until(lambda: gone() is None, timeout=3)  # the thaw's full collection freed it
    finally:
        keeper.cancel()
        gc.unfreeze()
        supervise.metrics.GC_FROZEN.set(0)
