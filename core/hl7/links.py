"""Which MLLP listeners are up and which senders are connected to each (issue 19's operations page): each listener
keeps its connections in memory (``Links``) and reports them every few seconds (``LABPULSE_MLLP_REPORT_MS``) in one
statement; the page
reads the listeners heard from in the last ``GONE_AFTER``. A listener that stops reporting (killed) is shown as
gone, and its rows are cleared after an hour. No PHI: addresses, sender names (MSH-3^MSH-4), times and counts.
The only SQL for ``mllp_listeners`` and ``mllp_links``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

GONE_AFTER = timedelta(seconds=30)
FORGET_AFTER = timedelta(hours=1)


@dataclass(slots=True)
class Link:
    """One connection as its listener sees it."""

    peer: str
    opened_at: datetime
    sender: str | None = None
    last_at: datetime | None = None
    messages: int = 0


@dataclass(slots=True)
class Links:
    """The connections of this listener, kept by its connection handler."""

    listener: str
    address: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    open: dict[int, Link] = field(default_factory=dict)

    def opened(self, key: int, peer: str) -> None:
        self.open[key] = Link(peer, datetime.now(UTC))

    def heard(self, key: int, sender: str, messages: int = 1) -> None:
        link = self.open.get(key)
        if link is not None:
            link.sender, link.last_at, link.messages = (
                sender or link.sender,
                datetime.now(UTC),
                link.messages + messages,
            )

    def closed(self, key: int) -> None:
        self.open.pop(key, None)


async def report(conn: asyncpg.Connection, links: Links, now: datetime) -> None:
    """This listener's connections now, replacing what it said before, in one statement (the closed ones deleted,
    the open ones written: disjoint rows); listeners silent for an hour are forgotten."""
    rows = json.dumps([{"peer": k.peer, "sender": k.sender, "opened_at": k.opened_at.isoformat(),
                        "last_at": k.last_at.isoformat() if k.last_at else None, "messages": k.messages}
                       for k in links.open.values()])  # fmt: skip
    await conn.execute(
        """WITH me AS (INSERT INTO mllp_listeners (listener, address, started_at, beat_at) VALUES ($1, $2, $3, $4)
                       ON CONFLICT (listener) DO UPDATE SET beat_at = excluded.beat_at RETURNING listener),
                gone AS (DELETE FROM mllp_listeners WHERE beat_at < $4 - $6::interval AND listener <> $1),
                dropped AS (DELETE FROM mllp_links WHERE listener = $1 AND peer <> ALL($7::text[]))
           INSERT INTO mllp_links (listener, peer, sender, opened_at, last_at, messages)
           SELECT (SELECT listener FROM me), l.peer, l.sender, l.opened_at, l.last_at, l.messages
           FROM jsonb_to_recordset($5::jsonb)
                AS l(peer text, sender text, opened_at timestamptz, last_at timestamptz, messages bigint)
           ON CONFLICT (listener, peer) DO UPDATE SET sender = excluded.sender, last_at = excluded.last_at,
                                                      messages = excluded.messages""",
        links.listener,
        links.address,
        links.started_at,
        now,
        rows,
        FORGET_AFTER,
        [k.peer for k in links.open.values()],
    )


async def withdraw(conn: asyncpg.Connection, listener: str) -> None:
    """A listener that stops cleanly: it and its connections are gone at once."""
    await conn.execute("DELETE FROM mllp_listeners WHERE listener = $1", listener)


@dataclass(frozen=True, slots=True)
class Listener:
    listener: str
    address: str
    started_at: datetime
    beat_at: datetime
    up: bool
    links: list[Link]


async def listeners(conn: asyncpg.Connection, now: datetime) -> list[Listener]:
    """Every listener that has reported in the last hour, whether it is up (reported within ``GONE_AFTER``), and its
    connections, busiest sender first."""
    rows = await conn.fetch(
        """SELECT l.listener, l.address, l.started_at, l.beat_at, k.peer, k.sender, k.opened_at, k.last_at,
                  k.messages
           FROM mllp_listeners l LEFT JOIN mllp_links k ON k.listener = l.listener
           ORDER BY l.listener, k.messages DESC NULLS LAST, k.peer"""
    )
    found: dict[str, Listener] = {}
    for r in rows:
        here = found.setdefault(r["listener"], Listener(r["listener"], r["address"], r["started_at"], r["beat_at"],
                                                         now - r["beat_at"] <= GONE_AFTER, []))  # fmt: skip
        if r["peer"] is not None:
            here.links.append(Link(r["peer"], r["opened_at"], r["sender"], r["last_at"], r["messages"]))
    return list(found.values())
