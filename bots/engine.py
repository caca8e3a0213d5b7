"""One conversation engine for every channel: a state machine whose state lives in Redis (bots/sessions.py).

A channel adapter turns a provider's webhook into an ``Inbound`` and sends back the texts ``handle`` returns.
Whole-message commands (STOP, START, HELP, MENU) work in every state; free text ("book", "where is my report",
"बुखार है") reaches each flow from anywhere; anything not understood gets the menu, never an error. Nothing about a
patient's tests is said until this chat has given that patient's date of birth (on the phone the message came
from). Inbound text is never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from bots import intents
from bots.booking_flow import BookingFlow
from bots.report_flow import ReportFlow
from bots.sessions import Session, SessionStore
from bots.turn import Handler, Inbound, Reference, Turn
from core import consent, i18n
from core.errors import DomainError
from core.identity import RequestMeta
from core.triage import assess as triage
from core.triage.nlp import MAX_CHARS
from core.vault import Vault

log = logging.getLogger("labpulse.bots")
FREE_TEXT_STATES = {"book_address"}
_LANGUAGE_WORDS = {"english": "en", "hindi": "hi", "marathi": "mr"}


class Engine(BookingFlow, ReportFlow):
    def __init__(self, pool: asyncpg.Pool, vault: Vault, sessions: SessionStore,
                 clock: Callable[[], datetime] | None = None, ambulance: str = "108",
                 consult_url: str | None = None) -> None:  # fmt: skip
        self._pool = pool
        self._vault = vault
        self._sessions = sessions
        self._clock = clock or (lambda: datetime.now(UTC))
        self._reference = Reference()
        self._ambulance = ambulance
        self._consult_url = consult_url  # where a video consultation is booked (the portal), offered after triage
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
            "language": self._language,
        }

    def lookup(self, phone: str | None) -> str | None:
        return self._vault.lookup.digest("phone", phone).hex() if phone else None

    async def language(self, phone: str | None) -> str:
        """The language this person chose (English until they choose)."""
        lookup = self.lookup(phone)
        if lookup is None:
            return "en"
        async with self._pool.acquire() as conn:
            return (await consent.get(conn, lookup)).language

    async def handle(self, msg: Inbound, meta: RequestMeta | None = None) -> list[str]:
        async with self._sessions.turn(msg.channel, msg.address):
            session = await self._sessions.load(msg.channel, msg.address)
            restarted = session is None
            lookup = self.lookup(msg.phone)
            async with self._pool.acquire() as conn:
                if session is None:
                    session = Session(lang=(await consent.get(conn, lookup)).language if lookup else "en")
                turn = Turn(msg, session, conn, lookup, self._clock(), meta or RequestMeta())
                try:
                    replies = await self._dispatch(turn, restarted)
                except (asyncpg.PostgresConnectionError, OSError):
                    raise  # the provider retries the webhook
                except Exception as exc:  # noqa: BLE001 - a person never gets a stack trace: start again, calmly
                    log.error("bot turn failed (%s); the conversation starts again", type(exc).__name__)
                    replies = self._to_menu(turn, turn.say("unknown"))
            await self._sessions.save(msg.channel, msg.address, session)
            return replies

    async def _dispatch(self, turn: Turn, restarted: bool) -> list[str]:
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
            return [i18n.error_text(turn.lang, exc)]

    async def _set_consent(self, turn: Turn, key: str, **changes: bool) -> list[str]:
        if turn.lookup:
            await consent.update(turn.conn, turn.lookup, via=turn.msg.channel, meta=turn.meta, **changes)
        turn.session.state, turn.session.data = "menu", {}
        return [turn.say(key)]

    async def _start(self, turn: Turn, what: str) -> list[str]:
        turn.session.data = {}
        if what == "book":
            return await self._offer_items(turn)
        if what == "report":
            return await self._ask_dob(turn)
        if what in ("bookings", "cancel_booking", "reschedule"):
            return await self._list_bookings(turn)
        if what in _LANGUAGE_WORDS:
            return await self._set_language(turn, _LANGUAGE_WORDS[what])
        if what == "symptoms":
            turn.session.state = "menu"
            return [self._triage(turn)]
        return self._to_menu(turn)

    def _triage(self, turn: Turn) -> str:
        """The symptom check (core/triage): its advice first; the tests and a booking offer unless it is an
        emergency, where the only thing to do is to get help now."""
        result = triage.assess(turn.msg.text[:MAX_CHARS], language=turn.lang, ambulance=self._ambulance)
        if result.level == "emergency":
            return result.advice
        tests = ", ".join(result.tests[:5])
        consult = turn.say("triage_consult", url=self._consult_url) if self._consult_url else ""
        return (
            result.advice + (turn.say("triage_tests", tests=tests) if tests else "") + turn.say("triage_book") + consult
        )

    async def _language(self, turn: Turn) -> list[str]:
        choice = intents.numbers(turn.msg.text)
        if len(choice) == 1 and 1 <= choice[0] <= len(i18n.LANGS):
            return await self._set_language(turn, i18n.LANGS[choice[0] - 1])
        return self._to_menu(turn, turn.say("unknown"))

    async def _set_language(self, turn: Turn, lang: str) -> list[str]:
        turn.session.lang = lang
        if turn.lookup:
            await consent.update(turn.conn, turn.lookup, via=turn.msg.channel, meta=turn.meta, language=lang)
        return self._to_menu(turn, turn.say("lang_set"))

    # --- menu ---------------------------------------------------------------------------------------------

    async def _menu(self, turn: Turn) -> list[str]:
        choice = intents.numbers(turn.msg.text)
        if choice == [1]:
            return await self._offer_items(turn)
        if choice == [2]:
            return await self._ask_dob(turn)
        if choice == [3]:
            return await self._list_bookings(turn)
        if choice == [4]:
            turn.session.state = "language"
            lines = "\n".join(f"{n} {i18n.autonym(lang)}" for n, lang in enumerate(i18n.LANGS, 1))
            return [turn.say("choose_language", lines=lines)]
        if choice == [5]:
            return [turn.say("help")]
        return self._to_menu(turn, turn.say("unknown"))
