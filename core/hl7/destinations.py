"""Where results go out to (the only SQL for ``hl7_destinations``): each destination is an MLLP listener of a
doctor's or another lab system, set up by an administrator, audited."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import asyncpg

from core import audit
from core.errors import InvalidInput
from core.identity import Actor

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[?[0-9a-fA-F:]{2,39}\]?$")


@dataclass(frozen=True, slots=True)
class Destination:
    id: str
    name: str
    host: str
    port: int
    receiving_app: str = ""
    receiving_facility: str = ""
    order_source: str | None = None
    active: bool = True


async def all_(conn: asyncpg.Connection) -> list[Destination]:
    rows = await conn.fetch(
        """SELECT id, name, host, port, receiving_app, receiving_facility, order_source, active
           FROM hl7_destinations ORDER BY id"""
    )
    return [Destination(**dict(r)) for r in rows]


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
            await conn.execute(
                """INSERT INTO hl7_destinations (id, name, host, port, receiving_app, receiving_facility, order_source,
                                                 active)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                   ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, host = EXCLUDED.host, port = EXCLUDED.port,
                       receiving_app = EXCLUDED.receiving_app, receiving_facility = EXCLUDED.receiving_facility,
                       order_source = EXCLUDED.order_source, active = EXCLUDED.active""",
                d.id, d.name.strip(), d.host, d.port, d.receiving_app, d.receiving_facility, d.order_source, d.active,
            )  # fmt: skip
        except asyncpg.UniqueViolationError as exc:
            raise InvalidInput("order_source", "Another destination already takes that sender's results.") from exc
        await audit.append(
            conn, actor=actor, action="hl7.destination.set", entity_type="hl7_destination", entity_id=d.id,
            summary={k: v for k, v in asdict(d).items() if k != "id"},
        )  # fmt: skip
