"""Where results go out to: each destination is an MLLP listener of a doctor's or another lab system, set up by an
administrator (checked here, stored by ``core.hl7.store``), audited."""

from __future__ import annotations

import re
from dataclasses import asdict, replace

import asyncpg

from core import audit
from core.errors import InvalidInput
from core.hl7 import store
from core.identity import Actor

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[?[0-9a-fA-F:]{2,39}\]?$")


Destination = store.Destination


async def all_(conn: asyncpg.Connection) -> list[Destination]:
    return await store.destinations(conn)


def check(d: Destination) -> None:
    if not _ID.match(d.id):
        raise InvalidInput("id", "A destination id has 1 to 40 letters, digits, dots, dashes or underscores.")
    if not 1 <= len(d.name.strip()) <= 200:
        raise InvalidInput("name", "Give the destination a name (up to 200 characters).")
    if not _HOST.match(d.host):
        raise InvalidInput("host", "'host' is a host name or an IP address.")
    if not 1 <= d.port <= 65535:
        raise InvalidInput("port", "'port' is a TCP port from 1 to 65535.")


async def put(conn: asyncpg.Connection, d: Destination, *, actor: Actor) -> None:
    check(d)
    async with conn.transaction():
        try:
            await store.put_destination(conn, replace(d, name=d.name.strip()))
        except asyncpg.UniqueViolationError as exc:
            raise InvalidInput("order_source", "Another destination already takes that sender's results.") from exc
        await audit.append(
            conn, actor=actor, action="hl7.destination.set", entity_type="hl7_destination", entity_id=d.id,
            summary={k: v for k, v in asdict(d).items() if k != "id"},
        )  # fmt: skip
