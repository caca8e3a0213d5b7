"""One messaging-consent record per person (keyed by their phone's lookup hash), whatever the channel.

STOP (or UNSUBSCRIBE, CANCEL, रोको …) on SMS, WhatsApp or Telegram turns off reminders and marketing everywhere;
START turns reminders back on. Report messages are transactional and follow ``reports``, which the person
chooses. The language they chose is kept here too. Every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from core import audit
from core.identity import Actor, RequestMeta, Role


@dataclass(frozen=True, slots=True)
class Consent:
    reminders: bool = True
    marketing: bool = False
    reports: bool = True
    language: str = "en"


async def get(conn: asyncpg.Connection, phone_lookup: str) -> Consent:
    return await find(conn, phone_lookup) or Consent()


async def find(conn: asyncpg.Connection, phone_lookup: str) -> Consent | None:
    """The person's recorded choices; None if they never made any (then the defaults, and their language as on
    file, apply)."""
    row = await conn.fetchrow(
        "SELECT reminders, marketing, reports, language FROM consents WHERE phone_lookup = $1", phone_lookup
    )
    return Consent(row["reminders"], row["marketing"], row["reports"], row["language"]) if row else None


async def update(
    conn: asyncpg.Connection,
    phone_lookup: str,
    *,
    via: str,
    meta: RequestMeta | None = None,
    **changes: bool | str,
) -> Consent:
    """Change some fields (reminders, marketing, reports, language); returns the new record. Audited."""
    allowed = {"reminders", "marketing", "reports", "language"}
    if not changes or set(changes) - allowed:
        raise ValueError(f"consent fields are {sorted(allowed)}")
    names = sorted(changes)
    # Only the changed columns are written, so a STOP and a language change at the same moment both stand.
    sets = ", ".join(f"{n} = EXCLUDED.{n}" for n in names)
    async with conn.transaction():
        defaults = Consent()
        values = [changes.get(n, getattr(defaults, n)) for n in ("reminders", "marketing", "reports", "language")]
        row = await conn.fetchrow(
            f"""INSERT INTO consents (phone_lookup, reminders, marketing, reports, language, updated_via)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (phone_lookup) DO UPDATE SET {sets}, updated_via = EXCLUDED.updated_via,
                    updated_at = now()
                RETURNING reminders, marketing, reports, language""",
            phone_lookup,
            *values,
            via,
        )
        new = Consent(row["reminders"], row["marketing"], row["reports"], row["language"])
        await audit.append(
            conn,
            actor=Actor(f"phone:{phone_lookup[:16]}", Role.PATIENT),
            action="consent.update",
            entity_type="consent",
            entity_id=phone_lookup[:16],
            summary={**{k: v for k, v in changes.items()}, "via": via},
            meta=meta,
        )
    return new
