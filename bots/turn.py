"""What every conversation flow shares: the inbound message, one turn of a conversation, the reference data
kept for a minute, and the base of the flows (the engine is built from them: bots/engine.py)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from bots.sessions import Session, SessionStore
from bots.texts import t
from core.booking import catalogue
from core.identity import RequestMeta
from core.labtime import LAB_TZ
from core.vault import Vault


@dataclass(frozen=True, slots=True)
class Inbound:
    channel: str  # "whatsapp", "sms" or "telegram"
    address: str  # the person's address on that channel (an E.164 number, a Telegram chat id)
    text: str
    phone: str | None  # E.164, when the channel vouches for it; None for a Telegram chat not yet linked


Handler = Callable[["Turn"], Awaitable[list[str]]]


@dataclass
class Turn:
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


def when(at: datetime, lang: str) -> str:
    local = at.astimezone(LAB_TZ)
    return local.strftime("%a %d %b, %I:%M %p") if lang == "en" else local.strftime("%d-%m-%Y, %H:%M")


def day(d: date, lang: str) -> str:
    return d.strftime("%a %d %b") if lang == "en" else d.strftime("%d-%m-%Y")


class Reference:
    """The catalogue and the centres, read at most once a minute by this engine (a price or centre edit shows
    within a minute); every conversation step needs them."""

    TTL = 60.0

    def __init__(self) -> None:
        self._at: dict[str, float] = {}
        self._items: list[catalogue.Item] = []
        self._centres: dict[str, list[tuple[str, str]]] = {}

    def _fresh(self, key: str) -> bool:
        return time.monotonic() - self._at.get(key, -self.TTL) < self.TTL

    async def items(self, conn: asyncpg.Connection) -> list[catalogue.Item]:
        if not self._fresh("items"):
            self._items, self._at["items"] = await catalogue.items(conn), time.monotonic()
        return self._items

    async def centres(self, conn: asyncpg.Connection, lang: str) -> list[tuple[str, str]]:
        """The collection centres, named in ``lang`` (in the same order in every language)."""
        key = f"centres:{lang}"
        if not self._fresh(key):
            self._centres[lang], self._at[key] = await catalogue.centres(conn, lang), time.monotonic()
        return self._centres[lang]


class Flow:
    """What a flow may use of the engine it is part of."""

    _pool: asyncpg.Pool
    _vault: Vault
    _sessions: SessionStore
    _reference: Reference

    def _to_menu(self, turn: Turn, *prefix: str) -> list[str]:
        turn.session.state, turn.session.data = "menu", {}
        return [*prefix, turn.say("menu")]
