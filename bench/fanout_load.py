"""The fan-out benchmark's database side: patients with a tube and a session each, and an open-loop driver that
moves the tubes through the core at a fixed rate, recording when each commit came back. Used by bench/fanout.py."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis

from core.booking.catalogue import Centre, upsert_centre
from core.config import Settings
from core.db.migrate import migrate
from core.db.pool import create_pool
from core.identity import Actor, Role
from core.orders import service as orders
from core.patients import service as patients
from core.patients.model import NewPatient, Sex
from core.patients.sessions import PatientSessions
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault

ADMIN = Actor("bench:admin", Role.ADMIN)
# The tube's path after registration, each step scanned by the role that does it in a lab.
STEPS: list[tuple[SampleState, Actor]] = [
    (SampleState.IN_TRANSIT, Actor("bench:phlebotomist", Role.PHLEBOTOMIST)),
    (SampleState.RECEIVED_AT_LAB, Actor("bench:tech", Role.LAB_TECHNICIAN)),
    (SampleState.PROCESSING, Actor("bench:tech", Role.LAB_TECHNICIAN)),
    (SampleState.COMPLETED, Actor("bench:tech", Role.LAB_TECHNICIAN)),
    (SampleState.REPORTED, Actor("bench:pathologist", Role.PATHOLOGIST)),
]
CENTRE = "LAB-F"


@dataclass(frozen=True, slots=True)
class Subject:
    patient_id: str
    barcode: str
    phone_lookup: str  # hex, as a session holds it
    token: str = ""


async def setup(settings: Settings, n: int, concurrency: int) -> list[Subject]:
    """N patients, each with their own phone, one order and one collected tube, through the core services."""
    assert settings.database_url and settings.redis_url
    conn = await asyncpg.connect(settings.database_url.reveal())
    await migrate(conn, settings.db_schema)
    await conn.close()
    pool = await create_pool(
        settings.database_url.reveal(), settings.db_schema, min_size=concurrency, max_size=concurrency
    )
    vault = Vault.from_settings(settings)
    async with pool.acquire() as conn:
        await upsert_centre(conn, Centre(CENTRE, "Fan-out Lab", "lab", "Pune"))
    subjects: list[Subject | None] = [None] * n
    next_i = 0

    async def worker() -> None:
        nonlocal next_i
        async with pool.acquire() as conn:
            while next_i < n:
                i, next_i = next_i, next_i + 1
                p = await patients.create(
                    conn,
                    vault,
                    NewPatient(name=f"Fanout Patient {i}", sex=Sex.FEMALE, phone=f"+9198{i:08d}"),
                    actor=ADMIN,
                )
                assert p.phone
                order = await orders.place(conn, patient_id=p.id, centre_id=CENTRE, test_codes=["CBC"], actor=ADMIN)
                code = f"F{i:06d}"
                await samples.register(
                    conn, order_id=order.id, barcode=code, sample_type="whole_blood_edta", actor=ADMIN, centre_id=CENTRE
                )
                subjects[i] = Subject(p.id, code, vault.lookup.digest("phone", p.phone).hex())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    async with pool.acquire() as conn:
        await conn.execute("UPDATE outbox SET published_at = now()")  # setup events are not measured
    await pool.close()

    redis = aioredis.from_url(settings.redis_url.reveal())
    sessions = PatientSessions(redis, settings.redis_prefix)
    out: list[Subject] = []
    for chunk in range(0, n, 50):
        part = [s for s in subjects[chunk : chunk + 50] if s is not None]
        tokens = await asyncio.gather(
            *(
                sessions.create(phone_lookup=s.phone_lookup, phone_hint="+91******0000", active_patient_id=s.patient_id)
                for s in part
            )
        )
        out += [Subject(s.patient_id, s.barcode, s.phone_lookup, t) for s, t in zip(part, tokens, strict=True)]
    await redis.aclose()
    return out


async def drive(
    settings: Settings, subjects: list[Subject], rate: float, total: int, concurrency: int
) -> tuple[dict[tuple[str, int], float], list[str], float, float, float]:
    """Open loop: transition i starts at t0 + i/rate (tube i mod N, its next step). Returns the commit time
    of every (sample_id, version), errors, elapsed seconds, the worst start lateness and the driver t0."""
    assert settings.database_url
    pool = await create_pool(
        settings.database_url.reveal(), settings.db_schema, min_size=concurrency, max_size=concurrency
    )
    order = list(subjects)
    random.Random(11).shuffle(order)
    locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)  # a tube's steps run in order
    committed: dict[tuple[str, int], float] = {}
    errors: list[str] = []
    tasks: set[asyncio.Task[None]] = set()
    worst_late = 0.0

    async def one(i: int) -> None:
        subject = order[i % len(order)]
        to_state, actor = STEPS[i // len(order)]
        async with locks[subject.barcode], pool.acquire() as conn:
            try:
                s = await samples.transition(
                    conn, barcode=subject.barcode, to_state=to_state, actor=actor, centre_id=CENTRE
                )
                committed[(s.id, s.version)] = time.time()
            except Exception as exc:  # noqa: BLE001 — reported, not raised: the run goes on
                errors.append(f"{subject.barcode} → {to_state.value}: {exc!r}")

    t0 = time.perf_counter()
    wall0 = time.time()
    i = 0
    while i < total:
        now = time.perf_counter()
        due = min(total, int((now - t0) * rate) + 1)
        if due > i:
            worst_late = max(worst_late, now - (t0 + i / rate))
        while i < due:
            task = asyncio.create_task(one(i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    await pool.close()
    return committed, errors, elapsed, worst_late, wall0
