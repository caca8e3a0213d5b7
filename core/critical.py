"""Critical values: each critical result raises an alert that goes to the on-duty doctor and climbs the chain
(next doctor, then lab manager) every ``STEP_MINUTES`` until someone acknowledges it in the portal. Every step is
audited. The clock is a parameter, so the timeline is tested exactly; the worker calls ``tick`` with the real one.

Messages to staff name the MRN, the tube and the value (they must act on it); the patient is never shown the
word "critical": their page asks them calmly to keep their phone nearby. The only SQL for critical alerts and
the escalation chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from core import alert_rules, audit, results, roster
from core.access import doctor_scope_sql
from core.db.statement import Statement
from core.errors import Conflict, DomainError, InvalidInput, NotFound
from core.i18n import worded
from core.identity import Actor, Role
from core.notify import Message, Notifier
from core.patients import store as patients_store
from core.phones import normalize_phone
from core.samples import store as samples_store
from core.staff import store as staff_store
from core.vault import Vault

STEP_MINUTES = 10
ESCALATOR = Actor("critical:escalation", Role.SYSTEM)
CHANNELS = ("sms", "whatsapp", "telegram")
_CHAIN_ROLES = {Role.DOCTOR.value, Role.PATHOLOGIST.value, Role.ADMIN.value}


@dataclass(frozen=True, slots=True)
class ChainMember:
    """One person in the escalation chain, in order: the on-duty doctor first."""

    staff_id: str
    label: str
    phone: str
    channel: str = "sms"


class NoChannel(DomainError):
    """The chain names a channel this deployment does not have, and there is no SMS to fall back on."""

    code = "escalation_channel_missing"

    def __init__(self, channel: str) -> None:
        super().__init__(f"Critical values cannot be sent: the {channel} channel is not set up, nor SMS.")


def stage_alerts(stmt: Statement, results_cte: str, now: datetime) -> None:
    """Stage one alert per critical row of ``results_cte`` (a CTE returning ``id, sample_id, critical``), each with
    its own audit row, into the statement that stores the results. The first notification goes out at the
    next tick."""
    at = stmt.bind(now)
    stmt.cte(
        "raised",
        f"""INSERT INTO critical_alerts (result_id, sample_id, created_at, next_step_at)
            SELECT r.id, r.sample_id, {at}, {at} FROM {results_cte} r WHERE r.critical
            ON CONFLICT (result_id) DO NOTHING RETURNING id""",
    )
    audit.stage(stmt, actor=ESCALATOR, action="critical.raised", entity_type="critical_alert", only_if="raised",
                each_id="id", name="audit_raised")  # fmt: skip


# An alert with its tube, patient and result, each read through its owner's subquery (one round trip).
_WITH_RESULT = f"""critical_alerts a JOIN ({samples_store.view_sql()}) s ON s.id = a.sample_id
                   JOIN ({patients_store.mrns_sql()}) p ON p.id = s.patient_id
                   JOIN ({results.view_sql()}) r ON r.id = a.result_id"""


def raised_sql() -> str:
    """A subquery of the tubes with a critical alert (``sample_id``), raised whether or not acknowledged, for a
    patient's timeline (they are asked, calmly, to expect a call)."""
    return "SELECT sample_id FROM critical_alerts"


async def tick(
    conn: asyncpg.Connection, vault: Vault, notifiers: Mapping[str, Notifier], now: datetime
) -> list[tuple[int, int]]:
    """Notify the next person for every due, unacknowledged alert on their channel (SMS when theirs is not set up).
    Returns (alert id, chain position) sent. A send that fails rolls the tick back: the alert stays due."""
    chain = await _callees(conn, vault, now)
    if not chain:
        return []
    sent: list[tuple[int, int]] = []
    async with conn.transaction():  # the due rows stay locked while they are sent: two workers never double up
        due = await conn.fetch(
            f"""SELECT a.id, a.level, s.barcode, p.mrn, r.name, r.value_num, r.comparator, r.value_text, r.unit
                FROM {_WITH_RESULT}
                WHERE a.acknowledged_at IS NULL AND a.next_step_at <= $1 ORDER BY a.id FOR UPDATE OF a SKIP LOCKED""",
            now,
        )
        for alert in due:
            level = min(alert["level"] + 1, len(chain))  # past the end of the chain: keep calling its last person
            person = chain[level - 1]
            shown = alert["value_num"] if alert["value_num"] is not None else alert["value_text"]
            value = f"{alert['comparator'] or ''}{shown} {alert['unit'] or ''}".strip()
            message = Message("critical", "en", {"test": alert["name"], "value": value, "mrn": alert["mrn"],
                                                 "barcode": alert["barcode"], "alert": str(alert["id"])})  # fmt: skip
            notifier = notifiers.get(person.channel) or notifiers.get("sms")
            if notifier is None:
                raise NoChannel(person.channel)
            await notifier.send(person.phone, message)
            await conn.execute(
                "UPDATE critical_alerts SET level = $2, next_step_at = $3 WHERE id = $1",
                alert["id"],
                level,
                now + timedelta(minutes=STEP_MINUTES),
            )
            await audit.append(
                conn,
                actor=ESCALATOR,
                action="critical.notified",
                entity_type="critical_alert",
                entity_id=str(alert["id"]),
                summary={"position": level, "label": person.label, "staff_id": person.staff_id},
            )
            sent.append((alert["id"], level))
    return sent


async def _callees(conn: asyncpg.Connection, vault: Vault, now: datetime) -> list[ChainMember]:
    """Who is messaged at each step now: the chain, its first person replaced by the roster's on-duty doctor while a
    shift covers ``now`` (and that doctor alone when there is no chain)."""
    people = await chain(conn, vault)
    duty = await roster.on_duty(conn, vault, now)
    if duty is not None:
        people[:1] = [ChainMember(duty.staff_id, duty.name, duty.phone, duty.channel)]
    return people


def _scope(actor: Actor) -> str:
    """Which alerts ``actor`` may see and acknowledge (``$1``: their staff id): everyone's for lab roles and
    administrators; for a doctor, those of patients they may read (core/access.py), those the chain has already
    messaged them about, and every alert already sent while they are the roster's doctor on duty (they must act)."""
    if actor.role is not Role.DOCTOR:
        return "$1::text IS NOT NULL"  # every alert (the parameter is there for the doctors' form)
    return f"""({doctor_scope_sql("s.patient_id", "$1")}
               OR EXISTS (SELECT 1 FROM escalation_chain c WHERE c.staff_id::text = $1 AND c.position <= a.level)
               OR (a.level >= 1 AND EXISTS (SELECT 1 FROM ({roster.on_duty_sql("now()")}) d
                                            WHERE d.staff_id::text = $1)))"""


async def open_alerts(conn: asyncpg.Connection, actor: Actor) -> list[dict[str, object]]:
    """Unacknowledged alerts this person may see, oldest first (the MRN, tube and value: staff must act on it)."""
    rows = await conn.fetch(
        f"""SELECT a.id, a.level, a.created_at, s.barcode, p.mrn, r.name, r.value_num::text AS value, r.comparator,
                   r.unit FROM {_WITH_RESULT}
            WHERE a.acknowledged_at IS NULL AND {_scope(actor)} ORDER BY a.created_at""",
        actor.id.removeprefix("staff:"),
    )
    return [{**dict(r), "created_at": r["created_at"].isoformat()} for r in rows]


@dataclass(frozen=True, slots=True)
class Call:
    """One step of an alert's escalation: who in the chain was messaged, and when."""

    position: int
    label: str
    at: datetime


async def board(conn: asyncpg.Connection, actor: Actor) -> list[dict[str, object]]:
    """The open alerts this person may see, oldest first, each with the calls made so far (the critical board)."""
    alerts = await open_alerts(conn, actor)
    calls: dict[str, list[Call]] = {}
    steps = await audit.steps(conn, action="critical.notified", entity_type="critical_alert",
                              entity_ids=[str(a["id"]) for a in alerts])  # fmt: skip
    for step in steps:
        calls.setdefault(step.entity_id, []).append(
            Call(int(step.summary.get("position") or 0), str(step.summary.get("label") or ""), step.at)
        )
    return [{**a, "calls": calls.get(str(a["id"]), [])} for a in alerts]


async def board_mark(conn: asyncpg.Connection) -> str:
    """Changes whenever the board would: an alert raised, a call made, an alert acknowledged (one cheap read, for a
    process that polls it on behalf of every open board)."""
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE acknowledged_at IS NULL) AS open, max(id) AS last,
                  coalesce(sum(level) FILTER (WHERE acknowledged_at IS NULL), 0) AS calls,
                  max(acknowledged_at) AS acked
           FROM critical_alerts"""
    )
    return f"{row['open']}:{row['last']}:{row['calls']}:{row['acked']}"


async def acknowledge(
    conn: asyncpg.Connection,
    alert_id: int,
    actor: Actor,
    now: datetime,
    *,
    read_back: str | None = None,
    vault: Vault | None = None,
) -> None:
    """Acknowledge an alert this person may see; one outside their scope is 'not found' to them, and audited.
    ``read_back``: what they read back and will do (kept sealed with the alert; the staff board asks for it)."""
    note = (read_back or "").strip()
    if len(note) > 500:
        raise worded(InvalidInput, "error:keep_read_back_characters", "read_back")
    async with conn.transaction():
        row = await conn.fetchrow(
            f"""SELECT a.acknowledged_at, {_scope(actor)} AS allowed FROM critical_alerts a
                JOIN ({samples_store.view_sql()}) s ON s.id = a.sample_id WHERE a.id = $2 FOR UPDATE OF a""",
            actor.id.removeprefix("staff:"),
            alert_id,
        )
        if row is not None and row["allowed"]:
            if row["acknowledged_at"] is not None:
                raise worded(Conflict, "error:alert_already_acknowledged")
            sealed = vault.seal("critical_alerts", "read_back", str(alert_id), note) if note and vault else None
            await conn.execute(
                """UPDATE critical_alerts SET acknowledged_at = $2, acknowledged_by = $3, read_back_enc = $4
                   WHERE id = $1""",
                alert_id,
                now,
                actor.id,
                sealed,
            )
            await audit.append(
                conn, actor=actor, action="critical.acknowledged", entity_type="critical_alert",
                entity_id=str(alert_id), summary={"read_back": bool(note)},
            )  # fmt: skip
            return
        if row is not None:  # outside the doctor's scope: as for a patient they may not read
            await audit.append(conn, actor=actor, action="critical.acknowledged", entity_type="critical_alert",
                               entity_id=str(alert_id), outcome="refused:scope")  # fmt: skip
    raise worded(NotFound, "error:there_such_critical_value")


async def set_chain(
    conn: asyncpg.Connection, vault: Vault, people: Sequence[ChainMember], actor: Actor = ESCALATOR
) -> None:
    """Replace the chain, in order (the on-duty doctor first); audited, phones sealed."""
    for member in people:
        if member.channel not in CHANNELS:
            raise InvalidInput("channel", f"A channel is one of {', '.join(CHANNELS)}; {member.channel!r} is not.")
    async with conn.transaction():
        ids = sorted({m.staff_id for m in people})
        if await staff_store.count_active(conn, ids) != len(ids):
            raise worded(InvalidInput, "error:everyone_chain_must_active", "staff")
        await conn.execute("DELETE FROM escalation_chain")
        for position, member in enumerate(people, 1):
            await conn.execute(
                """INSERT INTO escalation_chain (position, staff_id, label, phone_enc, channel)
                   VALUES ($1, $2, $3, $4, $5)""",
                position,
                member.staff_id,
                member.label,
                vault.seal("escalation_chain", "phone", str(position), member.phone),
                member.channel,
            )
        await audit.append(conn, actor=actor, action="critical.chain_set", entity_type="escalation_chain",
                           entity_id="chain", summary={"people": len(people),
                                                       "channels": [m.channel for m in people]})  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """One person of the chain as an administrator names them: by username, with the phone and channel to use."""

    username: str
    phone: str
    channel: str = "sms"
    label: str | None = None  # shown in the audit and to the next person; the account's name when not given


async def set_chain_by_username(
    conn: asyncpg.Connection, vault: Vault, entries: Sequence[ChainEntry], actor: Actor
) -> list[ChainMember]:
    """Set the chain from usernames (the roster an administrator keeps): each must be an active doctor,
    pathologist or administrator; phones are checked and kept in E.164."""
    if not 1 <= len(entries) <= 10:
        raise worded(InvalidInput, "error:chain_one_ten_people", "chain")
    people = []
    for i, entry in enumerate(entries, 1):
        member = await staff_store.by_username(conn, entry.username.strip().lower())
        if member is None or not member.active or member.role not in _CHAIN_ROLES:
            raise InvalidInput("username", f"Person {i}: {entry.username[:60]!r} is not an active doctor, "
                                           "pathologist or administrator account.")  # fmt: skip
        try:
            phone = normalize_phone(entry.phone, vault.phone_region)
        except InvalidInput as exc:
            raise worded(InvalidInput, "error:person", "phone", i=i, message=exc.message) from None
        label = (entry.label or member.display_name).strip()[:80]
        people.append(ChainMember(member.id, label, phone, entry.channel))
    await set_chain(conn, vault, people, actor)
    return people


async def chain(conn: asyncpg.Connection, vault: Vault) -> list[ChainMember]:
    """The chain in order, phones opened (for administrators; the caller audits the read)."""
    rows = await conn.fetch(
        "SELECT position, staff_id::text, label, phone_enc, channel FROM escalation_chain ORDER BY position"
    )
    return [
        ChainMember(r["staff_id"], r["label"],
                    vault.open("escalation_chain", "phone", str(r["position"]), r["phone_enc"]) or "", r["channel"])
        for r in rows
    ]  # fmt: skip


async def report_empty_chain(conn: asyncpg.Connection) -> None:
    """An alert for administrators that nobody would be told of a critical value (once while it stays open)."""
    await alert_rules.add_unless_open(conn, "critical.chain_empty")


@dataclass(frozen=True, slots=True)
class Unacknowledged:
    """The open critical values at a glance, for the metrics: how many, how many have messaged the whole chain, and
    the age of the oldest (seconds; 0 with none)."""

    open: int
    past_chain: int
    oldest_seconds: float


async def unacknowledged(conn: asyncpg.Connection, now: datetime) -> Unacknowledged:
    row = await conn.fetchrow(
        """SELECT count(*) AS open,
                  count(*) FILTER (WHERE a.level >= greatest((SELECT count(*) FROM escalation_chain), 1)) AS past,
                  coalesce(extract(epoch FROM $1 - min(a.created_at)), 0)::float8 AS oldest
           FROM critical_alerts a WHERE a.acknowledged_at IS NULL""",
        now,
    )
    return Unacknowledged(row["open"], row["past"], max(0.0, row["oldest"]))


async def chain_size(conn: asyncpg.Connection) -> int:
    size: int = await conn.fetchval("SELECT count(*) FROM escalation_chain")
    return size
