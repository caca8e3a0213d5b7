"""What can be booked: packages first (better value), then single tests, each with its price and Hindi name."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    name: str
    name_hi: str
    tests: tuple[str, ...]
    price_paise: int

    def label(self, lang: str) -> str:
        return self.name_hi if lang == "hi" else self.name


def rupees(paise: int) -> str:
    return f"₹{paise // 100:,}" + (f".{paise % 100:02d}" if paise % 100 else "")


async def items(conn: asyncpg.Connection) -> list[Item]:
    rows = await conn.fetch(
        """SELECT code, name, name_hi, tests, price_paise, 0 AS ord FROM packages
           UNION ALL
           SELECT code, name, coalesce(name_hi, name), ARRAY[code], price_paise, 1 FROM test_catalogue
           ORDER BY ord, price_paise, code"""
    )
    return [Item(r["code"], r["name"], r["name_hi"], tuple(r["tests"]), r["price_paise"]) for r in rows]


async def centres(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    """Collection centres a person can visit: (id, name)."""
    rows = await conn.fetch("SELECT id, name FROM centres WHERE kind = 'collection' ORDER BY name")
    return [(r["id"], r["name"]) for r in rows]


async def centre_for_pincode(conn: asyncpg.Connection, pincode: str) -> tuple[str, str] | None:
    """The centre whose team visits homes in ``pincode``, with the area's name; None where we do not go."""
    row = await conn.fetchrow("SELECT centre_id, area FROM served_pincodes WHERE pincode = $1", pincode)
    return (row["centre_id"], row["area"]) if row else None
