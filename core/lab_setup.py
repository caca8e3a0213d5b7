"""What an administrator sets about the lab's tests (issue 19): each test's price and turnaround target, and each
analyte's reference intervals (by sex and age), critical limits and delta-check limit. Checked, audited, through
the owners of the tables (``booking.catalogue``, ``results``). A listener keeps the intervals a minute
(``ranges.RangeCache``): a change applies to new results within that minute."""

from __future__ import annotations

import re
from decimal import Decimal

import asyncpg

from core import audit, permissions, ranges
from core.booking import catalogue
from core.errors import InvalidInput, NotFound
from core.i18n import worded
from core.identity import Actor, RequestMeta


async def set_test(
    conn: asyncpg.Connection, code: str, *, price_paise: int, turnaround_hours: int, actor: Actor,
    meta: RequestMeta | None = None,
) -> None:  # fmt: skip
    permissions.require(actor.role, "admin.lab")
    if not 0 <= price_paise <= 10_000_000:
        raise worded(InvalidInput, "error:price_between", "price")
    if not 1 <= turnaround_hours <= 24 * 60:
        raise worded(InvalidInput, "error:turnaround_target_between_hour", "turnaround_hours")
    async with conn.transaction():
        if not await catalogue.set_price_and_target(conn, code, price_paise=price_paise,
                                                    turnaround_hours=turnaround_hours):  # fmt: skip
            raise NotFound(f"There is no test {code[:20]!r} in the catalogue.")
        await audit.append(
            conn, actor=actor, action="catalogue.set", entity_type="test", entity_id=code,
            summary={"price_paise": price_paise, "turnaround_hours": turnaround_hours}, meta=meta,
        )  # fmt: skip


async def set_range(
    conn: asyncpg.Connection,
    range_id: int,
    *,
    low: Decimal | None,
    high: Decimal | None,
    critical_low: Decimal | None,
    critical_high: Decimal | None,
    delta_percent: Decimal | None,
    actor: Actor,
    meta: RequestMeta | None = None,
) -> None:
    """One interval, with its analyte's delta-check limit: low below high, critical limits outside the interval."""
    permissions.require(actor.role, "admin.lab")
    if low is not None and high is not None and low >= high:
        raise worded(InvalidInput, "error:low_end_range_below", "low")
    if critical_low is not None and low is not None and critical_low > low:
        raise worded(InvalidInput, "error:critical_low_below_range", "critical_low")
    if critical_high is not None and high is not None and critical_high < high:
        raise worded(InvalidInput, "error:critical_high_above_range", "critical_high")
    if delta_percent is not None and not 0 < delta_percent <= 1000:
        raise worded(InvalidInput, "error:delta_check_limit_between", "delta_percent")
    async with conn.transaction():
        code = await ranges.set_range(conn, range_id, low=low, high=high, critical_low=critical_low,
                                       critical_high=critical_high)  # fmt: skip
        if code is None:
            raise worded(NotFound, "error:there_such_reference_range")
        await ranges.set_delta(conn, code, delta_percent)
        summary = {"analyte": code, "low": low, "high": high, "critical_low": critical_low,
                   "critical_high": critical_high, "delta_percent": delta_percent}  # fmt: skip
        await audit.append(conn, actor=actor, action="reference_range.set", entity_type="reference_range",
                           entity_id=str(range_id), summary={k: None if v is None else str(v) for k, v in
                                                             summary.items()}, meta=meta)  # fmt: skip


_CENTRE_ID = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,19}$")
_PINCODE = re.compile(r"^[1-9][0-9]{5}$")


async def set_centre(
    conn: asyncpg.Connection,
    centre: catalogue.Centre,
    *,
    pincodes: list[str],
    actor: Actor,
    meta: RequestMeta | None = None,
) -> None:
    """Add or rename a centre, and add pincodes its team visits (Indian PIN codes: six digits); audited."""
    permissions.require(actor.role, "admin.lab")
    if not _CENTRE_ID.match(centre.id):
        raise worded(InvalidInput, "error:centre_id_capital_letters", "id")
    if centre.kind not in ("collection", "lab"):
        raise worded(InvalidInput, "error:centre_collection_centre_lab", "kind")
    if not 1 <= len(centre.name.strip()) <= 120 or not 1 <= len(centre.city.strip()) <= 60:
        raise worded(InvalidInput, "error:give_centre_name_city", "name")
    if bad := [p for p in pincodes if not _PINCODE.match(p)]:
        raise InvalidInput("pincodes", f"{bad[0][:10]!r} is not a six-digit PIN code.")
    async with conn.transaction():
        await catalogue.upsert_centre(conn, centre)
        await catalogue.add_served_pincodes(conn, [(p, centre.id, centre.city) for p in pincodes])
        await audit.append(conn, actor=actor, action="centre.set", entity_type="centre", entity_id=centre.id,
                           summary={"kind": centre.kind, "pincodes": len(pincodes)}, meta=meta)  # fmt: skip


_ANALYTE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$")  # a LOINC code (718-7) or the lab's own
SEXES = ("any", "female", "male")


async def set_analyte(
    conn: asyncpg.Connection, code: str, *, test_code: str, name: str, unit: str, delta_percent: Decimal | None,
    actor: Actor, meta: RequestMeta | None = None,
) -> bool:  # fmt: skip
    """Add what a test measures, or rename an analyte, change its unit or its delta-check limit (its test stays:
    results already stored name it). A new analyte makes every tube of its test wait for its result before the tube
    is complete. True when it was new."""
    permissions.require(actor.role, "admin.lab")
    code, name, unit = code.strip(), " ".join(name.split()), unit.strip()
    if not _ANALYTE_CODE.match(code):
        raise worded(InvalidInput, "error:analyte_code_loinc_code", "code")
    if not 1 <= len(name) <= 80 or not 1 <= len(unit) <= 20:
        raise worded(InvalidInput, "error:give_analyte_name_up", "name")
    if delta_percent is not None and not 0 < delta_percent <= 1000:
        raise worded(InvalidInput, "error:delta_check_limit_between", "delta_percent")
    async with conn.transaction():
        current = await ranges.analyte_test(conn, code)
        if current is not None and current != test_code:
            raise worded(InvalidInput, "error:belongs_analyte_s_test", "test_code", code=code, current=current)
        if current is None and test_code not in {t.code for t in await catalogue.tests(conn)}:
            raise InvalidInput("test_code", f"There is no test {test_code[:20]!r} in the catalogue.")
        added = await ranges.put_analyte(conn, code, test_code, name, unit)
        await ranges.set_delta(conn, code, delta_percent)
        await audit.append(conn, actor=actor, action="analyte.added" if added else "analyte.set", entity_type="analyte",
                           entity_id=code, summary={"test": test_code, "unit": unit, "delta_percent":
                                                    None if delta_percent is None else str(delta_percent)},
                           meta=meta)  # fmt: skip
    return added


async def add_range(
    conn: asyncpg.Connection, band: ranges.Band, *, actor: Actor, meta: RequestMeta | None = None
) -> int:
    """A new reference interval for an analyte, sex and age band, with no limits until they are set; refused when
    it overlaps an interval of the same analyte and sex (which one applied would be arbitrary)."""
    permissions.require(actor.role, "admin.lab")
    if band.sex not in SEXES:
        raise worded(InvalidInput, "error:interval_anyone_women_men", "sex")
    if not 0 <= band.age_min_years < band.age_max_years <= 150:
        raise worded(InvalidInput, "error:age_band_runs_from", "age_min_years")
    async with conn.transaction():
        if await ranges.analyte_test(conn, band.analyte_code) is None:
            raise NotFound(f"There is no analyte {band.analyte_code[:20]!r}.")
        await ranges.lock_bands(conn, band.analyte_code)
        if (clash := await ranges.overlapping(conn, band)) is not None:
            raise worded(InvalidInput, "error:overlaps_interval_years", "age_min_years", sex=clash.sex,
                         age_min_years=clash.age_min_years, age_max_years=clash.age_max_years)  # fmt: skip
        range_id = await ranges.add_band(conn, band)
        await audit.append(conn, actor=actor, action="reference_range.added", entity_type="reference_range",
                           entity_id=str(range_id), summary={"analyte": band.analyte_code, "sex": band.sex,
                                                             "age": [band.age_min_years, band.age_max_years]},
                           meta=meta)  # fmt: skip
    return range_id


async def remove_range(
    conn: asyncpg.Connection, range_id: int, *, actor: Actor, meta: RequestMeta | None = None
) -> None:
    permissions.require(actor.role, "admin.lab")
    async with conn.transaction():
        code = await ranges.remove_band(conn, range_id)
        if code is None:
            raise worded(NotFound, "error:there_such_reference_range")
        await audit.append(conn, actor=actor, action="reference_range.removed", entity_type="reference_range",
                           entity_id=str(range_id), summary={"analyte": code}, meta=meta)  # fmt: skip
