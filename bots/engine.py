"""One conversation engine for every channel: a state machine whose state lives in Redis (bots/sessions.py).

A channel adapter turns a provider's webhook into an ``Inbound`` and sends back the texts ``handle`` returns.
Whole-message commands (STOP, START, HELP, MENU) work in every state; free text ("book", "where is my report",
"बुखार है") reaches each flow from anywhere; anything not understood gets the menu, never an error. Nothing about a
patient's tests is said until this chat has given that patient's date of birth (on the phone the message came
from). Inbound text is never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from bots import intents
from bots.sessions import Session, SessionStore
from bots.texts import t
from core import consent, tracking
from core.booking import catalogue, slots
from core.booking import service as booking
from core.errors import DomainError, InvalidInput
from core.identity import RequestMeta
from core.labtime import LAB_TZ
from core.patients import verify
from core.samples.model import SampleState
from core.triage import assess as triage
from core.triage.nlp import MAX_CHARS
from core.vault import Vault

log = logging.getLogger("labpulse.bots")
MAX_DOB_TRIES = 3
FREE_TEXT_STATES = {"book_address"}


@dataclass(frozen=True, slots=True)
class Inbound:
    channel: str  # "whatsapp", "sms" or "telegram"
    address: str  # the person's address on that channel (an E.164 number, a Telegram chat id)
    text: str
    phone: str | None  # E.164, when the channel vouches for it; None for a Telegram chat not yet linked


Handler = Callable[["_Turn"], Awaitable[list[str]]]


@dataclass
class _Turn:
    msg: Inbound
    session: Session
    conn: asyncpg.Connection
    lookup: str | None
    now: datetime
    meta: RequestMeta

    @property
    def lang(self) -> str:
        return self.session.lang

    def say(self, key: str, **values: object) -> str:
        return t(self.session.lang, key, **values)


def _when(at: datetime, lang: str) -> str:
    local = at.astimezone(LAB_TZ)
    return local.strftime("%a %d %b, %I:%M %p") if lang == "en" else local.strftime("%d-%m-%Y, %H:%M")


def _day(d: date, lang: str) -> str:
    return d.strftime("%a %d %b") if lang == "en" else d.strftime("%d-%m-%Y")


class _Reference:
    """The catalogue and the centres, read at most once a minute by this engine (a price or centre edit shows
    within a minute); every conversation step needs them."""

    TTL = 60.0

    def __init__(self) -> None:
        self._at: dict[str, float] = {}
        self._items: list[catalogue.Item] = []
        self._centres: list[tuple[str, str]] = []

    def _fresh(self, key: str) -> bool:
        return time.monotonic() - self._at.get(key, -self.TTL) < self.TTL

    async def items(self, conn: asyncpg.Connection) -> list[catalogue.Item]:
        if not self._fresh("items"):
            self._items, self._at["items"] = await catalogue.items(conn), time.monotonic()
        return self._items

    async def centres(self, conn: asyncpg.Connection) -> list[tuple[str, str]]:
        if not self._fresh("centres"):
            self._centres, self._at["centres"] = await catalogue.centres(conn), time.monotonic()
        return self._centres


class Engine:
    def __init__(self, pool: asyncpg.Pool, vault: Vault, sessions: SessionStore,
                 clock: Callable[[], datetime] | None = None, ambulance: str = "108") -> None:  # fmt: skip
        self._pool = pool
        self._vault = vault
        self._sessions = sessions
        self._clock = clock or (lambda: datetime.now(UTC))
        self._reference = _Reference()
        self._ambulance = ambulance
        self._states: dict[str, Handler] = {
            "menu": self._menu,
            "book_items": self._book_items,
            "book_where": self._book_where,
            "book_pincode": self._book_pincode,
            "book_address": self._book_address,
            "book_centre": self._book_centre,
            "book_day": self._book_day,
            "book_slot": self._book_slot,
            "book_confirm": self._book_confirm,
            "report_dob": self._report_dob,
            "report_pick": self._report_pick,
            "manage_pick": self._manage_pick,
            "manage_action": self._manage_action,
        }

    def lookup(self, phone: str | None) -> str | None:
        return self._vault.lookup.digest("phone", phone).hex() if phone else None

    async def handle(self, msg: Inbound, meta: RequestMeta | None = None) -> list[str]:
        async with self._sessions.turn(msg.channel, msg.address):
            session = await self._sessions.load(msg.channel, msg.address)
            restarted = session is None
            lookup = self.lookup(msg.phone)
            async with self._pool.acquire() as conn:
                if session is None:
                    session = Session(lang=(await consent.get(conn, lookup)).language if lookup else "en")
                turn = _Turn(msg, session, conn, lookup, self._clock(), meta or RequestMeta())
                try:
                    replies = await self._dispatch(turn, restarted)
                except (asyncpg.PostgresConnectionError, OSError):
                    raise  # the provider retries the webhook
                except Exception as exc:  # noqa: BLE001 - a person never gets a stack trace: start again, calmly
                    log.error("bot turn failed (%s); the conversation starts again", type(exc).__name__)
                    replies = self._to_menu(turn, turn.say("unknown"))
            await self._sessions.save(msg.channel, msg.address, session)
            return replies

    async def _dispatch(self, turn: _Turn, restarted: bool) -> list[str]:
        kw = intents.keyword(turn.msg.text)
        if kw == "stop":
            return await self._set_consent(turn, "stopped", reminders=False, marketing=False)
        if kw == "start":
            return await self._set_consent(turn, "started", reminders=True)
        if kw == "help":
            return [turn.say("help")]
        if kw in ("reports_off", "reports_on"):
            return await self._set_consent(turn, kw, reports=kw == "reports_on")
        if kw == "menu":
            return self._to_menu(turn)
        if turn.session.state not in FREE_TEXT_STATES:  # an address may well contain "book" or "fever"
            free = intents.intent(turn.msg.text)
            if free is not None:
                return await self._start(turn, free)
        if restarted and turn.session.state == "menu" and not intents.numbers(turn.msg.text):
            return [turn.say("restarted"), *self._to_menu(turn)]
        try:
            return await self._states.get(turn.session.state, self._menu)(turn)
        except DomainError as exc:  # a domain refusal is already written for people
            log.info("bot flow refused: %s", exc.code)
            return [exc.message]

    def _to_menu(self, turn: _Turn, *prefix: str) -> list[str]:
        turn.session.state, turn.session.data = "menu", {}
        return [*prefix, turn.say("menu")]

    async def _set_consent(self, turn: _Turn, key: str, **changes: bool) -> list[str]:
        if turn.lookup:
            await consent.update(turn.conn, turn.lookup, via=turn.msg.channel, meta=turn.meta, **changes)
        turn.session.state, turn.session.data = "menu", {}
        return [turn.say(key)]

    async def _start(self, turn: _Turn, what: str) -> list[str]:
        turn.session.data = {}
        if what == "book":
            return await self._offer_items(turn)
        if what == "report":
            return await self._ask_dob(turn)
        if what in ("bookings", "cancel_booking", "reschedule"):
            return await self._list_bookings(turn)
        if what in ("hindi", "english"):
            return await self._set_language(turn, "hi" if what == "hindi" else "en")
        if what == "symptoms":
            turn.session.state = "menu"
            return [self._triage(turn)]
        return self._to_menu(turn)

    def _triage(self, turn: _Turn) -> str:
        """The symptom check (core/triage): its advice first; the tests and a booking offer unless it is an
        emergency, where the only thing to do is to get help now."""
        result = triage.assess(turn.msg.text[:MAX_CHARS], language=turn.lang, ambulance=self._ambulance)
        if result.level == "emergency":
            return result.advice
        tests = ", ".join(result.tests[:5])
        return result.advice + (turn.say("triage_tests", tests=tests) if tests else "") + turn.say("triage_book")

    async def _set_language(self, turn: _Turn, lang: str) -> list[str]:
        turn.session.lang = lang
        if turn.lookup:
            await consent.update(turn.conn, turn.lookup, via=turn.msg.channel, meta=turn.meta, language=lang)
        return self._to_menu(turn, turn.say("lang_set"))

    # --- menu ---------------------------------------------------------------------------------------------

    async def _menu(self, turn: _Turn) -> list[str]:
        choice = intents.numbers(turn.msg.text)
        if choice == [1]:
            return await self._offer_items(turn)
        if choice == [2]:
            return await self._ask_dob(turn)
        if choice == [3]:
            return await self._list_bookings(turn)
        if choice == [4]:
            return await self._set_language(turn, "en" if turn.lang == "hi" else "hi")
        if choice == [5]:
            return [turn.say("help")]
        return self._to_menu(turn, turn.say("unknown"))

    # --- booking ------------------------------------------------------------------------------------------

    async def _offer_items(self, turn: _Turn) -> list[str]:
        items = await self._reference.items(turn.conn)
        lines = "\n".join(f"{i} {it.label(turn.lang)}: {catalogue.rupees(it.price_paise)}"
                          for i, it in enumerate(items, 1))  # fmt: skip
        turn.session.state = "book_items"
        return [turn.say("items", lines=lines)]

    async def _book_items(self, turn: _Turn) -> list[str]:
        items = await self._reference.items(turn.conn)
        picked = intents.numbers(turn.msg.text)
        if not picked or any(not 1 <= n <= len(items) for n in picked):
            return [turn.say("items_bad")]
        chosen = [items[n - 1] for n in dict.fromkeys(picked)]
        turn.session.data = {"items": [c.code for c in chosen]}
        turn.session.state = "book_where"
        return [turn.say("where")]

    async def _book_where(self, turn: _Turn) -> list[str]:
        choice = intents.numbers(turn.msg.text)
        if choice == [1]:
            turn.session.state = "book_pincode"
            return [turn.say("pincode")]
        if choice == [2]:
            return await self._offer_centres(turn)
        return [turn.say("where")]

    async def _offer_centres(self, turn: _Turn) -> list[str]:
        centres = await self._reference.centres(turn.conn)
        turn.session.state = "book_centre"
        return [turn.say("centre", lines="\n".join(f"{i} {name}" for i, (_, name) in enumerate(centres, 1)))]

    async def _book_pincode(self, turn: _Turn) -> list[str]:
        text = intents.normalize(turn.msg.text).replace(" ", "")
        if text == "2":
            return await self._offer_centres(turn)
        if not (len(text) == 6 and text.isdigit() and text[0] != "0"):
            return [turn.say("pincode_bad")]
        served = await catalogue.centre_for_pincode(turn.conn, text)
        if served is None:
            turn.session.data["kind"] = None
            return [turn.say("pincode_unserved", pincode=text)]
        turn.session.data.update(kind="home", centre=served[0], pincode=text)
        turn.session.state = "book_address"
        return [turn.say("address", area=served[1])]

    async def _book_address(self, turn: _Turn) -> list[str]:
        address = " ".join(turn.msg.text.split())
        if len(address) < 10 or len(address) > 300:
            return [turn.say("address_bad")]
        turn.session.data["address"] = address
        return await self._offer_days(turn)

    async def _book_centre(self, turn: _Turn) -> list[str]:
        centres = await self._reference.centres(turn.conn)
        choice = intents.numbers(turn.msg.text)
        if len(choice) != 1 or not 1 <= choice[0] <= len(centres):
            return await self._offer_centres(turn)
        turn.session.data.update(kind="centre", centre=centres[choice[0] - 1][0])
        return await self._offer_days(turn)

    async def _offer_days(self, turn: _Turn) -> list[str]:
        d = turn.session.data
        days = await slots.open_days(turn.conn, d["kind"], d["centre"], turn.now)
        if not days:
            return self._to_menu(turn, turn.say("no_days"))
        d["days"] = [x.isoformat() for x in days]
        turn.session.state = "book_day"
        return [turn.say("day", lines="\n".join(f"{i} {_day(x, turn.lang)}" for i, x in enumerate(days, 1)))]

    async def _book_day(self, turn: _Turn) -> list[str]:
        days = turn.session.data.get("days", [])
        choice = intents.numbers(turn.msg.text)
        if len(choice) != 1 or not 1 <= choice[0] <= len(days):
            return await self._offer_days(turn)
        turn.session.data["day"] = days[choice[0] - 1]
        return await self._offer_slots(turn)

    async def _offer_slots(self, turn: _Turn, *prefix: str) -> list[str]:
        d = turn.session.data
        day = date.fromisoformat(d["day"])
        found = await slots.open_slots(turn.conn, d["kind"], d["centre"], day, turn.now)
        if not found:
            return await self._offer_days(turn)
        d["slots"] = [s.id for s in found]
        turn.session.state = "book_slot"
        lines = "\n".join(f"{i} {s.starts_at.astimezone(LAB_TZ):%H:%M} ({s.free})" for i, s in enumerate(found, 1))
        return [*prefix, turn.say("slot", day=_day(day, turn.lang), lines=lines)]

    async def _book_slot(self, turn: _Turn) -> list[str]:
        ids = turn.session.data.get("slots", [])
        choice = intents.numbers(turn.msg.text)
        if len(choice) != 1 or not 1 <= choice[0] <= len(ids):
            return await self._offer_slots(turn)
        turn.session.data["slot"] = ids[choice[0] - 1]
        if turn.session.data.get("booking"):  # rescheduling: no need to confirm the tests again
            return await self._do_reschedule(turn)
        return await self._confirm(turn)

    async def _chosen(self, turn: _Turn) -> list[catalogue.Item]:
        by_code = {i.code: i for i in await self._reference.items(turn.conn)}
        return [by_code[c] for c in turn.session.data.get("items", []) if c in by_code]

    def _where(self, turn: _Turn, kind: str, centre_name: str) -> str:
        d = turn.session.data
        return turn.say("home_where", pincode=d.get("pincode")) if kind == "home" else centre_name

    async def _centre_name(self, turn: _Turn, centre_id: str) -> str:
        return dict(await self._reference.centres(turn.conn)).get(centre_id, centre_id)

    async def _confirm(self, turn: _Turn) -> list[str]:
        d = turn.session.data
        chosen = await self._chosen(turn)
        starts = await turn.conn.fetchval("SELECT starts_at FROM slots WHERE id = $1", d["slot"])
        turn.session.state = "book_confirm"
        return [turn.say("confirm", items=", ".join(i.label(turn.lang) for i in chosen),
                         price=catalogue.rupees(sum(i.price_paise for i in chosen)),
                         where=self._where(turn, d["kind"], await self._centre_name(turn, d["centre"])),
                         when=_when(starts, turn.lang))]  # fmt: skip

    async def _book_confirm(self, turn: _Turn) -> list[str]:
        if intents.is_no(turn.msg.text):
            return self._to_menu(turn, turn.say("not_booked"))
        if not intents.is_yes(turn.msg.text):
            return await self._confirm(turn)
        if turn.lookup is None:
            return self._to_menu(turn, turn.say("help"))
        d = turn.session.data
        chosen = await self._chosen(turn)
        try:
            made = await booking.book(turn.conn, self._vault, phone=turn.msg.phone or "", slot_id=d["slot"],
                                      chosen=chosen, channel=turn.msg.channel, pincode=d.get("pincode"),
                                      address=d.get("address"), now=turn.now, meta=turn.meta)  # fmt: skip
        except (booking.SlotFull, InvalidInput):  # taken, or no longer bookable: the next step is another time
            return await self._offer_slots(turn, turn.say("slot_full"))
        where = self._where(turn, made.kind, await self._centre_name(turn, made.centre_id))
        return self._to_menu(turn, turn.say("booked", ref=made.ref, items=", ".join(i.label(turn.lang) for i in chosen),
                                            where=where, when=_when(made.starts_at, turn.lang),
                                            price=catalogue.rupees(made.price_paise)))[:1]  # fmt: skip

    # --- my bookings: reschedule or cancel ---------------------------------------------------------------

    async def _list_bookings(self, turn: _Turn) -> list[str]:
        mine = await booking.upcoming(turn.conn, turn.lookup, turn.now) if turn.lookup else []
        if not mine:
            return self._to_menu(turn, turn.say("no_bookings"))[:1]
        turn.session.data = {"bookings": [b.id for b in mine]}
        turn.session.state = "manage_pick"
        lines = "\n".join(f"{i} {b.ref}: {_when(b.starts_at, turn.lang)}" for i, b in enumerate(mine, 1))
        return [turn.say("bookings", lines=lines)]

    async def _picked_booking(self, turn: _Turn, booking_id: str) -> booking.Booking | None:
        mine = await booking.upcoming(turn.conn, turn.lookup, turn.now) if turn.lookup else []
        return next((b for b in mine if b.id == booking_id), None)

    async def _manage_pick(self, turn: _Turn) -> list[str]:
        ids = turn.session.data.get("bookings", [])
        choice = intents.numbers(turn.msg.text)
        if len(choice) != 1 or not 1 <= choice[0] <= len(ids):
            return await self._list_bookings(turn)
        b = await self._picked_booking(turn, ids[choice[0] - 1])
        if b is None:
            return await self._list_bookings(turn)
        turn.session.data = {"booking": b.id, "kind": b.kind, "centre": b.centre_id}
        turn.session.state = "manage_action"
        return [turn.say("manage", ref=b.ref, when=_when(b.starts_at, turn.lang))]

    async def _manage_action(self, turn: _Turn) -> list[str]:
        b = await self._picked_booking(turn, turn.session.data.get("booking", ""))
        if b is None or turn.lookup is None:
            return await self._list_bookings(turn)
        choice = intents.numbers(turn.msg.text)
        if choice == [1]:
            return await self._offer_days(turn)
        if choice == [2]:
            await booking.cancel(turn.conn, phone_lookup=turn.lookup, booking_id=b.id, meta=turn.meta)
            return self._to_menu(turn, turn.say("cancelled", ref=b.ref))[:1]
        return [turn.say("manage", ref=b.ref, when=_when(b.starts_at, turn.lang))]

    async def _do_reschedule(self, turn: _Turn) -> list[str]:
        if turn.lookup is None:
            return self._to_menu(turn, turn.say("no_phone_records"))[:1]
        d = turn.session.data
        try:
            moved = await booking.reschedule(turn.conn, phone_lookup=turn.lookup, booking_id=d["booking"],
                                             slot_id=d["slot"], now=turn.now, meta=turn.meta)  # fmt: skip
        except booking.SlotFull:
            return await self._offer_slots(turn, turn.say("slot_full"))
        return self._to_menu(turn, turn.say("rescheduled", ref=moved.ref, when=_when(moved.starts_at, turn.lang)))[:1]

    # --- where is my report ------------------------------------------------------------------------------

    async def _ask_dob(self, turn: _Turn) -> list[str]:
        if turn.lookup is None or not await tracking.patient_ids(turn.conn, turn.lookup):
            return self._to_menu(turn, turn.say("no_phone_records"))[:1]
        if await self._sessions.dob_tries(turn.lookup) >= MAX_DOB_TRIES:
            return self._to_menu(turn, turn.say("dob_locked"))[:1]
        turn.session.state = "report_dob"
        return [turn.say("dob")]

    async def _report_dob(self, turn: _Turn) -> list[str]:
        if turn.lookup is None:
            return self._to_menu(turn, turn.say("no_phone_records"))[:1]
        born = _parse_dob(turn.msg.text)
        if born is None:
            return [turn.say("dob_bad")]
        # Counted per phone across every channel, before checking: a flood of guesses gets three checks in all.
        tries = await self._sessions.count_dob_try(turn.lookup)
        if tries > MAX_DOB_TRIES:
            return self._to_menu(turn, turn.say("dob_locked"))[:1]
        found = await verify.by_date_of_birth(turn.conn, self._vault, turn.lookup, born, via=turn.msg.channel,
                                              meta=turn.meta)  # fmt: skip
        if not found:
            return (
                self._to_menu(turn, turn.say("dob_locked"))[:1] if tries >= MAX_DOB_TRIES else [turn.say("dob_wrong")]
            )
        await self._sessions.clear_dob_tries(turn.lookup)
        turn.session.verified = sorted({*turn.session.verified, *(f.id for f in found)})
        if len(found) > 1:
            turn.session.data = {"people": [f.id for f in found]}
            turn.session.state = "report_pick"
            return [turn.say("which_person", lines="\n".join(f"{i} {f.first_name}" for i, f in enumerate(found, 1)))]
        return await self._status(turn, found[0].id)

    async def _report_pick(self, turn: _Turn) -> list[str]:
        people = turn.session.data.get("people", [])
        choice = intents.numbers(turn.msg.text)
        if len(choice) != 1 or not 1 <= choice[0] <= len(people):
            return [turn.say("which_person", lines="\n".join(f"{i}" for i in range(1, len(people) + 1)))]
        return await self._status(turn, people[choice[0] - 1])

    async def _status(self, turn: _Turn, patient_id: str) -> list[str]:
        if turn.lookup is None:
            return self._to_menu(turn, turn.say("no_phone_records"))[:1]
        if patient_id not in turn.session.verified:  # never without this chat's date-of-birth check
            return await self._ask_dob(turn)
        snap = await tracking.snapshot(turn.conn, turn.lookup, patient_id, meta=turn.meta)
        turn.session.state, turn.session.data = "menu", {}
        if not snap.samples:
            return [turn.say("no_tests")]
        lines = []
        for s in snap.samples[:5]:
            line = turn.say(f"status_{s.state.value}", tests=", ".join(s.tests) or s.sample_type, centre=s.centre)
            waiting = s.state in (SampleState.COLLECTED, SampleState.IN_TRANSIT, SampleState.RECEIVED_AT_LAB,
                                  SampleState.PROCESSING)  # fmt: skip
            if waiting and s.expected_ready_at and s.expected_ready_at > turn.now:
                line += turn.say("eta", when=_when(s.expected_ready_at, turn.lang))
            if s.call_expected:
                line += turn.say("call")
            lines.append(line)
        return ["\n".join(lines)]


def _parse_dob(text: str) -> date | None:
    digits = intents.normalize(text).replace("/", "-").replace(".", "-").replace(" ", "-")
    parts = [p for p in digits.split("-") if p]
    if len(parts) != 3 or not all(p.isascii() and p.isdecimal() and len(p) <= 4 for p in parts):
        return None
    d, m, y = (int(p) for p in parts)
    if y < 1900:
        return None
    try:
        return date(y, m, d)
    except (ValueError, OverflowError):
        return None
