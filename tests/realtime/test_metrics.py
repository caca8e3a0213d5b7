"""``/metrics`` on a real server (issue 20): what happens shows in it (sockets open, events published and delivered,
relay lag, tube steps, HTTP answers by route template), nothing in it names a person, and the event a request wrote
carries that request's id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from core.identity import Actor, Role
from core.staff import service as staff
from core.vault import Vault
from tests.realtime.conftest import Live, patient_signed_in, recv

PASSWORD = "correct horse battery"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}  # fmt: skip


def _value(seen: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in seen.items() if n == name and set(labels.items()) <= set(ls))


async def _until(read: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    for _ in range(int(timeout / 0.1)):
        seen = await read()
        if ok(seen):
            return seen
        await asyncio.sleep(0.1)
    return seen


async def test_what_happens_shows_in_metrics_and_nothing_in_them_names_a_person(
    live: Live, pool: asyncpg.Pool, vault: Vault
) -> None:
    async def metrics() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        r = await live.http.get("/metrics")
        assert r.status_code == 200
        return _samples(r.text)

    token, patient, tube = await patient_signed_in(live, pool, vault, "+919811122233")
    async with pool.acquire() as conn:
        await staff.add(conn, username="obs.phleb", display_name="Obs", role=Role.PHLEBOTOMIST, password=PASSWORD,
                        actor=Actor.system("tests"))  # fmt: skip
    staff_token = (await live.http.post("/api/staff/session", json={"username": "obs.phleb", "password": PASSWORD}
                                        )).json()["token"]  # fmt: skip
    before = await metrics()
    async with live.socket(token) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        opened = await metrics()
        assert _value(opened, "labpulse_ws_open", socket="/ws/status") == _value(before, "labpulse_ws_open") + 1
        r = await live.http.post("/api/staff/scan", headers={"Authorization": f"Bearer {staff_token}",
                                                             "X-Request-ID": "trace-metrics-0001"},
                                 json={"barcode": tube.barcode, "to": "in_transit", "centre_id": "CC-1",
                                       "expected_version": 1})  # fmt: skip
        assert r.status_code == 200, r.text
        assert (await recv(ws))["event"] == "sample.state_changed"
    watched = (
        ("labpulse_transitions_total", {"to_state": "in_transit"}),
        ("labpulse_events_published_total", {"type": "sample.state_changed"}),
        ("labpulse_relay_lag_seconds_count", {}),
        ("labpulse_relay_batch_seconds_count", {"phase": "publish"}),  # the batch's phases, for finding a stall
        ("labpulse_events_delivered_total", {"socket": "status"}),
        ("labpulse_http_request_seconds_count", {"route": "/api/staff/scan", "method": "POST", "status": "2xx"}),
    )

    def grown(seen: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> dict[str, float]:
        return {name: _value(seen, name, **labels) - _value(before, name, **labels) for name, labels in watched}

    # the socket may hear the event before the relay, having committed its mark, counts it: wait for both
    grew = grown(await _until(metrics, lambda m: all(v >= 1 for v in grown(m).values())))
    assert grew == {name: 1.0 for name in grew}, grew
    closed = await _until(metrics, lambda m: _value(m, "labpulse_ws_open") == _value(before, "labpulse_ws_open"))
    assert _value(closed, "labpulse_ws_open") == _value(before, "labpulse_ws_open")  # the socket is counted out
    text = (await live.http.get("/metrics")).text
    for private in (patient.id, tube.barcode, tube.id, "9811122233", "obs.phleb"):
        assert private not in text
    async with pool.acquire() as conn:  # the event the scan wrote carries the request's id
        assert (
            await conn.fetchval(
                "SELECT request_id FROM outbox WHERE payload->>'sample_id' = $1 AND payload->>'to' = 'in_transit'",
                tube.id,
            )
            == "trace-metrics-0001"
        )
