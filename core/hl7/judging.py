"""What the lab adds to an analyzer's observations before they are stored: values no column can hold kept as text,
a flag computed against our reference ranges when the analyzer sent none, the range itself when it sent none,
and whether the value is critical; then the rows that carry them into ``results``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import asyncpg

from core import results
from core.hl7.parse import Observation, Value
from core.labtime import LAB_TZ
from core.ranges import RangeCache, age_years, ranges_for
from core.vault import Vault


@dataclass(frozen=True, slots=True)
class Judged:
    """An observation with what the lab adds: a flag computed against our ranges when the analyzer sent none,
    the reference range when it sent none, and whether the value is critical."""

    obs: Observation
    flag_source: str
    critical: bool


def _sane(number: Decimal) -> bool:
    """A number a result column can hold: finite, under a quadrillion, at most 15 decimal places."""
    # adjusted() and the exponent read the number's form; no arithmetic, which would itself overflow on 1e999999999
    return number.is_finite() and number.adjusted() < 15 and number.as_tuple().exponent >= -15  # type: ignore[operator]


async def judge(
    conn: asyncpg.Connection,
    vault: Vault,
    observations: list[Observation],
    *,
    patient_id: str | None,
    dob_enc: bytes | None,
    sex: str,
    cache: RangeCache | None = None,
) -> list[Judged]:
    """The observations of one patient's tube, judged against that patient's ranges (sex, age today)."""
    dob = vault.open("patients", "dob", patient_id, dob_enc) if patient_id and dob_enc else None
    age = age_years(date.fromisoformat(dob) if dob else None, datetime.now(LAB_TZ).date())
    codes = [o.code for o in observations if o.code]
    ranges = await (cache.ranges_for if cache else ranges_for)(conn, codes, sex, age)
    judged = []
    for o in observations:
        rng = ranges.get(o.code)
        value = o.value
        if value is not None and value.number is not None and not _sane(value.number):
            value = Value("text", text=str(value.number))  # NaN, infinity, 1e999…: kept as the text sent, not a number
        number = value.number if value is not None and value.kind == "numeric" else None
        flag, critical = results.judged(number, value.comparator if value else None, rng, o.flag)
        source = "analyzer" if o.flag else "computed" if flag else "none"
        o = Observation(  # what dataclasses.replace would build, at a fraction of its cost
            set_id=o.set_id, code=o.code, name=o.name, code_system=o.code_system, value=value, unit=o.unit,
            reference_range=o.reference_range or (rng.text() if rng else None), flag=flag, status=o.status,
            observed_at=o.observed_at, notes=o.notes,
        )  # fmt: skip
        judged.append(Judged(o, source, critical))
    return judged


def result_rows(message_id: str, sample_id: str, judged: list[Judged]) -> list[dict[str, object]]:
    """A message's results as JSON rows (numbers as their exact decimal text): for the whole group, one JSON
    parameter costs the driver far less than 17 typed arrays."""
    rows: list[dict[str, object]] = []
    for j in judged:
        o, v = j.obs, j.obs.value
        rows.append({
            "message_id": message_id, "sample_id": sample_id,
            "flag_source": j.flag_source, "critical": j.critical, "set_id": o.set_id or None,
            "code": o.code or o.name or "unknown", "name": o.name or o.code or "unknown",
            "code_system": o.code_system or None, "value_kind": v.kind if v else None,
            "value_num": str(v.number) if v and v.number is not None else None,
            "comparator": v.comparator if v else None, "value_text": v.text if v else None,
            "value_code": v.code if v else None, "unit": o.unit, "reference_range": o.reference_range,
            "flag": o.flag, "status": o.status, "observed_at": o.observed_at, "notes": list(o.notes),
        })  # fmt: skip
    return rows
