"""``labpulse drill``: the fault drill. It builds the drill's lab network (portal/drill/stack.py), plays a day of
the lab against it (portal/drill/day.py) while it SIGKILLs each kind of process, restarts PostgreSQL and Redis
(Redis comes back empty) and makes the Twilio stand-in answer 429, 500 or nothing in time, then waits for the
work to settle and checks, from the database and from what the clients and the stand-in saw, that nothing
acknowledged was lost and nothing happened twice. The last line reads
``drill: operations N, faults F, lost L, duplicated D``; the exit status is 0 only when L and D are 0."""

from __future__ import annotations

import asyncio
import random
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from core import outbox
from core.booking import store as bookings
from core.config import load_settings
from core.db.pool import create_pool
from core.jobs import runner
from core.patients import store as patients
from core.reports import store as reports
from core.reports.render import DELIVER_JOB
from core.results import analytes_with_ranges
from core.samples import store as samples
from core.vault import Vault
from portal.drill.day import GaveUp, Lab, Visit, visit
from portal.drill.stack import MLLP, SCHEMA, WEB, WORKERS, Stack
from portal.drill.standins import Providers, providers

FAULTS = ("kill web", "kill worker", "kill mllp", "restart postgres", "restart redis", "provider 429",
          "provider 500", "provider timeout")  # fmt: skip


@dataclass
class Verdict:
    operations: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def last_line(self) -> str:
        return (f"drill: operations {self.operations}, faults {sum(self.faults.values())}, lost {len(self.lost)}, "
                f"duplicated {len(self.duplicated)}")  # fmt: skip


class Faults:
    """One fault at a time, each kind in turn in a shuffled order, then everything ready again before the next."""

    def __init__(self, stack: Stack, standin: Providers, rng: random.Random, say: Callable[[str], None]) -> None:
        self.stack, self.standin, self.rng, self.say = stack, standin, rng, say
        self.done: Counter[str] = Counter()

    async def run(self, until: float, gap: float) -> None:
        """Until ``until``, and in any case until every kind of fault has been injected once."""
        order: list[str] = []
        while time.monotonic() + gap < until or len(self.done) < len(FAULTS):
            await asyncio.sleep(gap)
            if not order:
                order = list(FAULTS)
                self.rng.shuffle(order)
            kind = order.pop()
            started = time.monotonic()
            await self.inject(kind)
            await asyncio.to_thread(self.stack.wait_ready)
            self.done[kind] += 1
            self.say(f"  fault {sum(self.done.values()):>2}: {kind:<17} everything ready again in "
                     f"{time.monotonic() - started:4.1f} s")  # fmt: skip

    async def inject(self, kind: str) -> None:
        if kind.startswith("kill "):
            names = {"web": WEB, "worker": WORKERS, "mllp": MLLP}[kind.removeprefix("kill ")]
            name = self.rng.choice(names)
            await asyncio.to_thread(self.stack.kill, name)
            await asyncio.sleep(1)  # a supervisor's restart delay
            self.stack.start(name)
        elif kind == "restart postgres":
            await asyncio.to_thread(self.stack.pg.stop)
            await asyncio.sleep(3)
            await asyncio.to_thread(self.stack.pg.start)
        elif kind == "restart redis":  # it keeps nothing: sessions, conversations and rate counts are gone
            await asyncio.to_thread(self.stack.redis.stop)
            await asyncio.sleep(2)
            await asyncio.to_thread(self.stack.redis.start)
        else:
            code = {"provider 429": 429, "provider 500": 500, "provider timeout": 0}[kind]
            self.standin.seen.fail_next.extend([code] * (2 if code == 0 else 4))


async def _staff_logins(stack: Stack) -> dict[str, tuple[str, str]]:
    seeded = await asyncio.to_thread(stack.labpulse, "demo")
    if seeded.returncode != 0:
        raise RuntimeError(f"labpulse demo failed: {seeded.stderr[-2000:]}")
    found = re.findall(r"^\s+(\w+)\s+(demo\.\w+)\s+(\S+)$", seeded.stdout, re.M)
    return {role: (user, password) for role, user, password in found}


async def _day(lab: Lab, v: Visit, watching: asyncio.Event, watchers: list[asyncio.Task[None]]) -> None:
    try:
        await lab.register_and_order(v)
        token = await lab.sign_in(v)
        watchers.append(asyncio.create_task(lab.watch(v, token, watching)))
        await lab.scan(v, "in_transit", "phlebotomist", "CC-BANDRA")
        await lab.scan(v, "received_at_lab", "lab_technician", "LAB-MAIN")
        await lab.results(v)
        await lab.wait_state(v, "completed")
        await lab.release(v)
        if v.chat:
            await lab.say(v, "status")
            await lab.book(v)
    except GaveUp as exc:
        lab.seen.gave_up.append(str(exc))


async def drill(seconds: float, *, rate: float = 1.0, seed: int | None = None, keep: bool = False,
                say: Callable[[str], None] = print) -> Verdict:  # fmt: skip
    """Runs the drill for ``seconds`` of load (``rate`` new patients a second) and returns what it found."""
    rng = random.Random(seed)
    where = Path(tempfile.mkdtemp(prefix="lp-drill-"))
    verdict = Verdict()
    async with providers() as standin:
        stack = Stack(where, standin.base_url)
        try:
            await asyncio.to_thread(stack.open)
            migrated = await asyncio.to_thread(stack.labpulse, "migrate")
            if migrated.returncode != 0:
                raise RuntimeError(f"labpulse migrate failed: {migrated.stderr[-2000:]}")
            logins = await _staff_logins(stack)
            for name in stack.procs:
                stack.start(name)
            await asyncio.to_thread(stack.wait_ready)
            say(f"drill: 2 web behind HAProxy, 2 workers, 1 MLLP listener, through PgBouncer (transaction pooling);"
                f" {seconds:.0f} s of load at {rate:g} patients/s; logs in {where}")  # fmt: skip
            await _play(stack, standin, logins, seconds, rate, rng, verdict, say)
        finally:
            await asyncio.to_thread(stack.close)
            if not keep and not verdict.lost and not verdict.duplicated:
                shutil.rmtree(where, ignore_errors=True)
    for line in verdict.lines:
        say(line)
    say(verdict.last_line)
    return verdict


async def _play(stack: Stack, standin: Providers, logins: dict[str, tuple[str, str]], seconds: float, rate: float,
                rng: random.Random, verdict: Verdict, say: Callable[[str], None]) -> None:  # fmt: skip
    settings = load_settings(stack.env)
    pool = await create_pool(stack.direct_url, SCHEMA, min_size=1, max_size=4)
    try:
        async with pool.acquire() as conn:
            analytes = await _cbc_analytes(conn)
        lab = Lab(stack.front, stack.mllp_port, standin, logins, analytes)
        faults = Faults(stack, standin, rng, say)
        watching, watchers, days = asyncio.Event(), list[asyncio.Task[None]](), []
        until = time.monotonic() + seconds
        injecting = asyncio.create_task(faults.run(until, gap=max(2.0, seconds / (2 * len(FAULTS)))))
        n = 0
        while time.monotonic() < until or not injecting.done():  # the load lasts as long as the faults do
            n += 1
            v = visit(n)
            v.chat = n % 3 == 0
            days.append((v, asyncio.create_task(_day(lab, v, watching, watchers))))
            await asyncio.sleep(1 / rate)
        await injecting
        await asyncio.gather(*(t for _, t in days))
        await asyncio.to_thread(stack.wait_ready)
        await _settle(pool, standin, [v for v, _ in days], say)
        watching.set()
        await asyncio.gather(*watchers, return_exceptions=True)
        await lab.close()
        verdict.faults = faults.done
        async with pool.acquire() as conn:
            await _check(conn, Vault.from_settings(settings), standin, lab, [v for v, _ in days], stack, verdict)
    finally:
        await pool.close()


async def _cbc_analytes(conn: asyncpg.Connection) -> list[tuple[str, str, str, float, float]]:
    """The analyzer's menu for a CBC: the seeded demo tube for it (haemoglobin, LOINC 718-7, among its analytes)
    tells which analytes and ranges."""
    for barcode in ("DEMO-003-1", "DEMO-003-2"):
        found = list(await analytes_with_ranges(conn, barcode))
        if any(code == "718-7" for code, *_ in found):
            return found
    raise RuntimeError("the demo seed has no CBC tube")


async def _settle(pool: asyncpg.Pool, standin: Providers, visits: list[Visit], say: Callable[[str], None]) -> None:
    """Until the outbox is published, every released report is rendered and its notice sent or held (2 minutes at
    most: what is still missing then is counted as lost)."""
    deadline = time.monotonic() + 120
    started = time.monotonic()
    while time.monotonic() < deadline:
        async with pool.acquire() as conn:
            left = await outbox.unpublished(conn)
            unsent = [v for v in visits if v.report_released and not _notices(standin, v)]
            held = len(await held_notices(conn))
        if left == 0 and len(unsent) <= held:
            break
        await asyncio.sleep(1)
    say(f"  settled in {time.monotonic() - started:.0f} s")
    await asyncio.sleep(3)  # the sockets hear the last events


async def held_notices(conn: asyncpg.Connection) -> set[str]:
    """The reports whose notice waits for a person: uncertain (sent, unconfirmed) or dead-lettered, with an alert."""
    dead = [int(d["payload"]["delivery_id"]) for d in await runner.dead_letters(conn)
            if d["entrypoint"] == DELIVER_JOB and "delivery_id" in d["payload"]]  # fmt: skip
    uncertain = {u.report_id for u in await reports.uncertain_notices(conn)}
    return uncertain | await reports.reports_of_deliveries(conn, dead)


def _notices(standin: Providers, v: Visit) -> list[dict[str, str]]:
    return [m for m in standin.seen.twilio if m.get("To") == v.phone and "report" in m.get("Body", "").lower()]


async def _check(conn: asyncpg.Connection, vault: Vault, standin: Providers, lab: Lab, visits: list[Visit],
                 stack: Stack, verdict: Verdict) -> None:  # fmt: skip
    seen = lab.seen
    verdict.operations = sum(seen.operations.values())
    lost, dup = verdict.lost, verdict.duplicated
    lost.extend(f"gave up: {g}" for g in seen.gave_up)
    caught_up = reconnects = rendered = sent = 0
    held = await held_notices(conn)
    held_n = 0
    for v in visits:
        row = await patients.get_by_mrn(conn, "DRILL", v.mrn)
        if row is None:
            if seen.operations["hl7-adt"]:
                lost.append(f"patient {v.mrn} acknowledged but not stored")
            continue
        tubes = [s for s in await samples.list_for_patient(conn, row.id) if s.barcode == v.barcode]
        if len(tubes) > 1:
            dup.append(f"tube {v.barcode} stored {len(tubes)} times")
        events = [e.seq for e in await outbox.events_after(conn, row.id, 0)]
        reconnects += v.reconnects
        caught_up += _socket(v, events, lost, dup)
        released = [r for r in await reports.released_for_patient(conn, row.id) if tubes and r.sample_id == tubes[0].id]
        if v.report_released:
            rendered += len(released) == 1
            if not released:
                lost.append(f"report for {v.barcode} released but never rendered")
            notices = _notices(standin, v)
            sent += len(notices) == 1
            if len(released) > 1:
                dup.append(f"report for {v.barcode} rendered {len(released)} times")
            if len(notices) > 1:
                dup.append(f"report notice for visit {v.n} sent {len(notices)} times")
            if released and not notices:  # not sent: it must wait for a person, this very report
                if any(r.id in held for r in released):
                    held_n += 1
                else:
                    lost.append(f"the notice of report {v.barcode} was neither sent nor held for a person")
    released_n = sum(v.report_released for v in visits)
    booked_once = 0
    now = datetime.now(UTC)
    for phone in seen.booked:
        found = await bookings.upcoming(conn, vault.lookup.digest("phone", phone).hex(), now)
        booked_once += len(found) == 1
        if len(found) > 1:
            dup.append(f"{len(found)} bookings for one patient who booked once")
        if not found:
            lost.append("a confirmed booking is not stored")
    lost.extend(f"chat message {sid} never answered" for sid in seen.chat_unanswered)
    if left := await outbox.unpublished(conn):
        lost.append(f"{left} events never published")
    died = stack.died()
    lost.extend(f"{name} died by itself" for name in died)
    verdict.lines += [
        "faults: " + ", ".join(f"{k} {n}" for k, n in sorted(verdict.faults.items())),
        "operations: " + ", ".join(f"{k} {n}" for k, n in sorted(seen.operations.items())),
        "tried again after a fault: " + (", ".join(f"{k} {n}" for k, n in sorted(seen.retries.items())) or "none"),
        f"sockets: {caught_up} of {len(visits)} caught up, each event once and in order ({reconnects} reconnects)",
        f"reports: {released_n} released, {rendered} rendered once; notices: {sent} sent once, {held_n} held for a "
        "person (uncertain or dead-lettered, with an alert)",
        f"bookings: {booked_once} of {len(seen.booked)} stored once",
        f"processes that died by themselves: {', '.join(died) or 'none'}",
        *(f"LOST: {x}" for x in lost[:20]),
        *(f"DUPLICATED: {x}" for x in dup[:20]),
    ]


def _socket(v: Visit, events: list[int], lost: list[str], dup: list[str]) -> int:
    """Whether the patient's socket saw every event from its first one on, once each, in order."""
    if not v.events:
        lost.append(f"visit {v.n}: the socket heard nothing")
        return 0
    if len(set(v.events)) != len(v.events) or v.events != sorted(v.events):
        dup.append(f"visit {v.n}: the socket heard {v.events}")
    expected = [e for e in events if e >= v.events[0]]
    missing = sorted(set(expected) - set(v.events))
    if missing:
        lost.append(f"visit {v.n}: the socket missed events {missing}")
    return int(not missing and v.events[-1] == events[-1])
