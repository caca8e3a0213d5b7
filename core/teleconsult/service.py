"""Book and cancel a teleconsult, and open its join links.

Booking is one transaction: the slot taken (``booked`` flips only from false, so two people racing for it cannot
both get it), the consult row, one join link per side, the reminder job and the audit row. A join link is a random
secret stored as its keyed hash (plus encrypted, so a reminder can send it again). It opens 15 minutes before the
slot and closes an hour after it starts, and binds to the first device that opens it: the same device can rejoin
after a dropped call; a forwarded link opened elsewhere is refused. The consult's doctor, and only they, may read
what the note needs from the patient's record (their sex, for he or she), audited."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from core import audit, i18n
from core.booking import catalogue
from core.db.owned import PatientRows
from core.errors import Conflict, Gone, InvalidInput, NotFound, PermissionDenied
from core.i18n import worded
from core.identity import Actor, RequestMeta, Role
from core.ids import is_uuid
from core.jobs import queue as jobs
from core.notes.sex import Sex
from core.patients import store as patients_store
from core.teleconsult import store
from core.teleconsult.store import Consult as Consult
from core.vault import Vault

PATIENT_ROWS = PatientRows("consults")  # a merge of two patients moves their teleconsults

OPENS_BEFORE = timedelta(minutes=15)
CLOSES_AFTER = timedelta(minutes=60)
REMINDER_JOB = "consult.remind"
LINKS_JOB = "consult.links"  # right after booking: each side gets its own join link
SIDES = ("doctor", "patient")


class ConsultSlotTaken(Conflict):
    code = "consult_slot_taken"
    key = "error:consult_slot_taken"

    def __init__(self) -> None:
        super().__init__(i18n.text("en", self.key))


class JoinLinkInvalid(NotFound):
    code = "join_link_invalid"
    key = "error:join_link_invalid"

    def __init__(self) -> None:
        super().__init__(i18n.text("en", self.key))


class JoinLinkNotYet(Conflict):
    code = "join_link_not_yet"
    key = "error:join_link_not_yet"

    def __init__(self, opens_at: datetime) -> None:
        super().__init__(i18n.text("en", self.key))
        self.opens_at = opens_at


class JoinLinkClosed(Gone):
    code = "join_link_closed"
    key = "error:join_link_closed"

    def __init__(self) -> None:
        super().__init__(i18n.text("en", self.key))


class JoinLinkOtherDevice(Conflict):
    code = "join_link_other_device"
    key = "error:join_link_other_device"

    def __init__(self) -> None:
        super().__init__(i18n.text("en", self.key))


@dataclass(frozen=True, slots=True)
class Booked:
    consult: Consult
    patient_link: str
    doctor_link: str


@dataclass(frozen=True, slots=True)
class JoinGrant:
    consult: Consult
    side: str

    def actor(self) -> Actor:
        if self.side == "doctor":
            return Actor(f"staff:{self.consult.doctor_id}", Role.DOCTOR)
        return Actor(f"consult:{self.consult.id}", Role.PATIENT)


def _ref() -> str:
    return "C" + "".join(secrets.choice("ACDEFGHJKLMNPQRTUVWXY34679") for _ in range(6))


def _hash(vault: Vault, kind: str, value: str) -> bytes:
    return vault.lookup.digest(kind, value)


async def get(conn: asyncpg.Connection, consult_id: str) -> Consult:
    consult = await store.get(conn, consult_id) if is_uuid(consult_id) else None
    if consult is None:
        raise worded(NotFound, "error:consult_not_found")
    return consult


async def book(
    conn: asyncpg.Connection,
    vault: Vault,
    *,
    phone: str,
    slot_id: int,
    channel: str,
    patient_id: str | None = None,
    reason: str | None = None,
    language: str = "en",
    now: datetime | None = None,
    meta: RequestMeta | None = None,
) -> Booked:
    now = now or datetime.now(UTC)
    if reason is not None and len(reason) > 2000:
        raise worded(InvalidInput, "error:reason_long", "reason")
    if not i18n.is_language(language):
        raise InvalidInput("language", f"Language is one of {', '.join(i18n.LANGS)}.")
    phone_lookup = vault.lookup.digest("phone", phone).hex()
    consult_id = str(uuid.uuid4())
    async with conn.transaction():
        slot = await store.take_slot(conn, slot_id, now)
        if slot is None:
            raise ConsultSlotTaken
        await store.insert(
            conn,
            consult_id=consult_id,
            ref=_ref(),
            slot_id=slot_id,
            doctor_id=slot.doctor_id,
            phone_lookup=phone_lookup,
            phone_enc=vault.seal("consults", "phone", consult_id, phone),
            patient_id=patient_id,
            reason_enc=vault.seal("consults", "reason", consult_id, reason) if reason else None,
            language=language,
            channel=channel,
        )
        links = {}
        for side in SIDES:
            token = secrets.token_urlsafe(24)
            links[side] = token
            await store.insert_link(
                conn,
                token_hash=_hash(vault, "consult-link", token),
                token_enc=vault.seal("consult_links", "token", f"{consult_id}:{side}", token),
                consult_id=consult_id,
                side=side,
                opens_at=slot.starts_at - OPENS_BEFORE,
                closes_at=slot.starts_at + CLOSES_AFTER,
            )
        await jobs.queries(conn).enqueue(
            LINKS_JOB, jobs.encode({"consult_id": consult_id}), dedupe_key=f"consult-links:{consult_id}",
            on_conflict="skip",
        )  # fmt: skip
        remind_at = slot.starts_at - timedelta(hours=1)
        if remind_at > now:
            await jobs.queries(conn).enqueue(
                REMINDER_JOB,
                jobs.encode({"consult_id": consult_id}),
                execute_after=remind_at - now,
                dedupe_key=f"consult-remind:{consult_id}",
                on_conflict="skip",
            )
        await audit.append(
            conn,
            actor=Actor(f"phone:{phone_lookup[:16]}", Role.PATIENT),
            action="consult.book",
            entity_type="consult",
            entity_id=consult_id,
            patient_id=patient_id,
            summary={"slot": slot_id, "via": channel},
            meta=meta,
        )
        consult = await get(conn, consult_id)
    return Booked(consult, links["patient"], links["doctor"])


async def cancel(
    conn: asyncpg.Connection, vault: Vault, *, phone: str, consult_id: str, meta: RequestMeta | None = None
) -> None:
    phone_lookup = vault.lookup.digest("phone", phone).hex()
    async with conn.transaction():
        if not await store.cancel(conn, consult_id if is_uuid(consult_id) else None, phone_lookup):
            raise worded(NotFound, "error:consult_not_found")
        await audit.append(conn, actor=Actor(f"phone:{phone_lookup[:16]}", Role.PATIENT), action="consult.cancel",
                           entity_type="consult", entity_id=consult_id, meta=meta)  # fmt: skip


async def join(
    conn: asyncpg.Connection,
    vault: Vault,
    token: str,
    device_id: str,
    *,
    now: datetime | None = None,
    meta: RequestMeta | None = None,
) -> JoinGrant:
    """Open a join link on a device. The first device to open it keeps it; the same device may open it again."""
    now = now or datetime.now(UTC)
    if not isinstance(token, str) or not 16 <= len(token) <= 64 or not device_id:
        raise JoinLinkInvalid
    device = _hash(vault, "consult-device", device_id)
    async with conn.transaction():
        link = await store.lock_link(conn, _hash(vault, "consult-link", token))
        if link is None:
            raise JoinLinkInvalid
        consult = await get(conn, link.consult_id)
        if consult.status == "cancelled" or now >= link.closes_at:
            raise JoinLinkClosed
        if now < link.opens_at:
            raise JoinLinkNotYet(link.opens_at)
        grant = JoinGrant(consult, link.side)
        elsewhere = link.device_hash is not None and link.device_hash != device
        if link.device_hash is None:
            await store.bind_link(conn, _hash(vault, "consult-link", token), device, now)
        if elsewhere or link.device_hash is None:  # the first opening, and every refused one, are audited
            await audit.append(conn, actor=grant.actor(), action="consult.join", entity_type="consult",
                               entity_id=consult.id, patient_id=consult.patient_id,
                               outcome="other_device" if elsewhere else "ok", summary={"side": link.side},
                               meta=meta)  # fmt: skip
    if elsewhere:
        raise JoinLinkOtherDevice
    return grant


async def link_token(conn: asyncpg.Connection, vault: Vault, consult_id: str, side: str) -> str:
    """The join link's secret, to send again (a reminder, the doctor's list)."""
    sealed = await store.link_token_enc(conn, consult_id, side)
    if sealed is None:
        raise worded(NotFound, "error:consult_not_found")
    token = vault.open("consult_links", "token", f"{consult_id}:{side}", sealed)
    if token is None:
        raise worded(NotFound, "error:consult_not_found")
    return token


def staff_id(actor: Actor) -> str:
    """The staff row id behind a staff actor ("staff:<uuid>")."""
    return actor.id.removeprefix("staff:")


def require_doctor(grant_or_actor: JoinGrant | Actor, consult: Consult) -> None:
    """Only the consult's own doctor edits or signs its note and reads its transcript."""
    actor = grant_or_actor.actor() if isinstance(grant_or_actor, JoinGrant) else grant_or_actor
    if actor.role != Role.DOCTOR or actor.id != f"staff:{consult.doctor_id}":
        raise PermissionDenied("consult.note", actor.role.value)


async def patient_sex(
    conn: asyncpg.Connection, consult: Consult, *, actor: Actor, meta: RequestMeta | None = None
) -> Sex | None:
    """The patient's sex as the record gives it, for the note's he or she (the consult's doctor only; audited);
    None when the consult has no patient record or the record says other or unknown."""
    require_doctor(actor, consult)
    if consult.patient_id is None:
        return None
    recorded = await patients_store.sex(conn, consult.patient_id)
    async with conn.transaction():
        await audit.append(conn, actor=actor, action="consult.patient.read", entity_type="patient",
                           entity_id=consult.patient_id, patient_id=consult.patient_id,
                           summary={"consult": consult.id, "fields": ["sex"]}, meta=meta)  # fmt: skip
    return "male" if recorded == "male" else "female" if recorded == "female" else None


TESTS_JOB = "consult.tests"


async def suggest_tests(
    conn: asyncpg.Connection, consult: Consult, codes: object, *, actor: Actor, meta: RequestMeta | None = None
) -> list[str]:
    """The doctor's one click: queue a message to the patient with a booking link for these catalogue tests."""
    require_doctor(actor, consult)
    if not isinstance(codes, list) or not codes or len(codes) > 20 or not all(isinstance(c, str) for c in codes):
        raise worded(InvalidInput, "error:choose_tests_book_list", "codes")
    chosen = await catalogue.known_codes(conn, codes)
    if not chosen:
        raise worded(InvalidInput, "error:none_those_tests_can", "codes")
    async with conn.transaction():
        await jobs.queries(conn).enqueue(
            TESTS_JOB,
            jobs.encode({"consult_id": consult.id, "codes": chosen}),
            dedupe_key=f"consult-tests:{consult.id}:{','.join(chosen)}",
            on_conflict="skip",
        )
        await audit.append(conn, actor=actor, action="consult.tests", entity_type="consult", entity_id=consult.id,
                           patient_id=consult.patient_id, summary={"codes": chosen}, meta=meta)  # fmt: skip
    return chosen
