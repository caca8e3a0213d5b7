"""What can be booked: packages first (better value), then single tests, each with its price and its names in other
languages; the collection centres and the pincodes their teams visit. The only SQL for the test catalogue,
packages, centres and served pincodes.

The lab's own names (a test, a package, a centre) are the lab's data: English in ``name``, other languages in
``names`` ({"hi": …, "mr": …}), edited at run time; a language without a name shows the English."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import asyncpg


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    name: str
    names: Mapping[str, str]  # the name in each other language
    tests: tuple[str, ...]
    price_paise: int

    def label(self, lang: str) -> str:
        return self.names.get(lang) or self.name


# The first tests a triage rule suggests (core/triage/rules.py), by the catalogue test that covers each. Urine
# protein and ketones are read in the urine routine; the thyroid check starts with TSH. What is not here (imaging,
# ECG, cultures, serology, random sugar…) cannot be booked online yet, and the booking page says so.
TRIAGE_TESTS = {
    "cbc": "CBC",
    "cbc with platelet count": "CBC",
    "fasting blood sugar": "FBS",
    "hba1c": "HBA1C",
    "kidney function tests": "KFT",
    "liver function tests": "LFT",
    "lipid profile": "LIPID",
    "thyroid profile": "TSH",
    "thyroid profile (tsh, t3, t4)": "TSH",
    "urine routine": "URINE",
    "urine protein": "URINE",
    "urine ketones": "URINE",
}


def match(wanted: Iterable[str], catalogue: Iterable[Item]) -> tuple[list[str], list[str]]:
    """Catalogue codes for names from a triage result (or catalogue codes or item names themselves), in order and
    without repeats, and the names that match nothing bookable."""
    by_key: dict[str, str] = {}
    for item in catalogue:
        by_key.setdefault(item.code.casefold(), item.code)
        by_key.setdefault(item.name.casefold(), item.code)
    codes: list[str] = []
    unmatched: list[str] = []
    for name in wanted:
        key = " ".join(name.split()).casefold()
        code = by_key.get(key) or by_key.get(TRIAGE_TESTS.get(key, "").casefold())
        if code is None:
            if key and name.strip() not in unmatched:
                unmatched.append(name.strip())
        elif code not in codes:
            codes.append(code)
    return codes, unmatched


async def items(conn: asyncpg.Connection) -> list[Item]:
    rows = await conn.fetch(
        """SELECT code, name, names, tests, price_paise, 0 AS ord FROM packages
           UNION ALL
           SELECT code, name, names, ARRAY[code], price_paise, 1 FROM test_catalogue
           ORDER BY ord, price_paise, code"""
    )
    return [Item(r["code"], r["name"], r["names"], tuple(r["tests"]), r["price_paise"]) for r in rows]


async def centres(conn: asyncpg.Connection, lang: str = "en") -> list[tuple[str, str]]:
    """Collection centres a person can visit: (id, name in ``lang``)."""
    rows = await conn.fetch(
        "SELECT id, coalesce(names ->> $1, name) AS label FROM centres WHERE kind = 'collection' ORDER BY name", lang
    )
    return [(r["id"], r["label"]) for r in rows]


async def centre_for_pincode(conn: asyncpg.Connection, pincode: str) -> tuple[str, str] | None:
    """The centre whose team visits homes in ``pincode``, with the area's name; None where we do not go."""
    row = await conn.fetchrow("SELECT centre_id, area FROM served_pincodes WHERE pincode = $1", pincode)
    return (row["centre_id"], row["area"]) if row else None


async def known_codes(conn: asyncpg.Connection, codes: list[str]) -> list[str]:
    """Which of ``codes`` are single tests in the catalogue, sorted."""
    rows = await conn.fetch("SELECT code FROM test_catalogue WHERE code = ANY($1::text[])", codes)
    return sorted({r["code"] for r in rows})


def collection_centres_sql() -> str:
    """A subquery of the collection centres (``id``) and whether each visits homes (``visits_homes``: it serves a
    pincode), for the statement that makes their slots."""
    return """SELECT c.id, EXISTS (SELECT 1 FROM served_pincodes p WHERE p.centre_id = c.id) AS visits_homes
              FROM centres c WHERE c.kind = 'collection'"""


def centres_sql() -> str:
    """A subquery of the centres (``id``, ``name``, ``names``, ``kind``), to JOIN in another module's statement (a
    centre's name beside a sample or an order) while only this module names the table."""
    return "SELECT id, name, names, kind FROM centres"


def tests_sql() -> str:
    """A subquery of the catalogue's tests (``code``, ``name``, ``names``, ``sample_type``, ``turnaround_hours``),
    to JOIN like ``centres_sql``."""
    return "SELECT code, name, names, sample_type, turnaround_hours FROM test_catalogue"


async def centre_name(conn: asyncpg.Connection, centre_id: str, lang: str = "en") -> str | None:
    name: str | None = await conn.fetchval(
        "SELECT coalesce(names ->> $2, name) FROM centres WHERE id = $1", centre_id, lang
    )
    return name


async def centre_names(conn: asyncpg.Connection, centre_id: str) -> dict[str, str]:
    """A centre's name in every language it has one in, English included."""
    row = await conn.fetchrow("SELECT name, names FROM centres WHERE id = $1", centre_id)
    return {"en": row["name"], **row["names"]} if row else {}


@dataclass(frozen=True, slots=True)
class CatalogueTest:
    code: str
    name: str
    sample_type: str
    turnaround_hours: int
    price_paise: int


@dataclass(frozen=True, slots=True)
class Centre:
    id: str
    name: str
    kind: str
    city: str
    names: Mapping[str, str] = field(default_factory=dict)  # the name in each other language


async def tests(conn: asyncpg.Connection, codes: list[str] | None = None) -> list[CatalogueTest]:
    if codes is None:
        rows = await conn.fetch(
            "SELECT code, name, sample_type, turnaround_hours, price_paise FROM test_catalogue ORDER BY code"
        )
    else:
        rows = await conn.fetch(
            """SELECT code, name, sample_type, turnaround_hours, price_paise FROM test_catalogue
               WHERE code = ANY($1) ORDER BY code""",
            codes,
        )
    return [CatalogueTest(**dict(r)) for r in rows]


async def upsert_centre(conn: asyncpg.Connection, centre: Centre) -> None:
    await conn.execute(
        """INSERT INTO centres (id, name, kind, city, names) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, city = EXCLUDED.city,
                                          names = EXCLUDED.names""",
        centre.id,
        centre.name,
        centre.kind,
        centre.city,
        dict(centre.names),
    )


async def centre_exists(conn: asyncpg.Connection, centre_id: str) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM centres WHERE id = $1)", centre_id))


async def lab_centre(conn: asyncpg.Connection, wanted: list[str]) -> str | None:
    """The first of ``wanted`` that is a centre here, else the lab itself (the first centre of kind 'lab')."""
    centre: str | None = await conn.fetchval(
        """SELECT id FROM centres WHERE id = ANY($1::text[]) OR kind = 'lab'
           ORDER BY array_position($1::text[], id) NULLS LAST, id LIMIT 1""",
        wanted,
    )
    return centre


async def add_served_pincodes(conn: asyncpg.Connection, areas: list[tuple[str, str, str]]) -> None:
    """Pincodes (pincode, centre id, area name) whose homes a centre's team visits; one already listed stays."""
    await conn.executemany(
        "INSERT INTO served_pincodes (pincode, centre_id, area) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", areas
    )


async def centres_all(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    """Every centre, the lab's too: (id, name)."""
    rows = await conn.fetch("SELECT id, name FROM centres ORDER BY kind, name")
    return [(r["id"], r["name"]) for r in rows]


async def set_price_and_target(conn: asyncpg.Connection, code: str, *, price_paise: int, turnaround_hours: int) -> bool:
    done: str = await conn.execute(
        "UPDATE test_catalogue SET price_paise = $2, turnaround_hours = $3 WHERE code = $1",
        code,
        price_paise,
        turnaround_hours,
    )
    return done.endswith(" 1")


@dataclass(frozen=True, slots=True)
class CentreListed:
    id: str
    name: str
    kind: str
    city: str
    pincodes: tuple[str, ...]  # where its team visits homes
    names: Mapping[str, str] = field(default_factory=dict)


async def centres_listed(conn: asyncpg.Connection) -> list[CentreListed]:
    rows = await conn.fetch(
        """SELECT c.id, c.name, c.kind, c.city, c.names,
                  array(SELECT p.pincode FROM served_pincodes p WHERE p.centre_id = c.id ORDER BY 1) AS pincodes
           FROM centres c ORDER BY c.kind DESC, c.name"""
    )
    return [CentreListed(r["id"], r["name"], r["kind"], r["city"], tuple(r["pincodes"]), r["names"]) for r in rows]
