"""The only SQL for signed reports and their notices (``reports``, ``deliveries``). Each function takes the
caller's connection (and so its transaction). A report's tube, order and patient are read through their owners'
subqueries (``samples.store.view_sql`` and the like), so one statement still answers and no other table is
named here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from core.orders import store as orders_store
from core.patients import store as patients_store
from core.samples import store as samples_store

_SAMPLES = f"({samples_store.view_sql()})"


@dataclass(frozen=True, slots=True)
class Signed:
    """A report row as approval wrote it: the sealed content, its hash and signature."""

    id: str
    sample_id: str
    version: int
    content_enc: bytes
    content_hash: bytes
    signature: bytes
    public_key: bytes
    issued_at: datetime
    verify_url: str | None
    rendered_at: datetime | None
    backfilled: bool


@dataclass(frozen=True, slots=True)
class ReportFile:
    """A report with its file and its tube, for a download."""

    id: str
    version: int
    file_name: str | None
    file_sha256: bytes | None
    rendered_at: datetime | None
    barcode: str
    patient_id: str


@dataclass(frozen=True, slots=True)
class Released:
    """A rendered report with its tube, for a patient's export."""

    id: str
    version: int
    issued_at: datetime
    verify_url: str | None
    content_enc: bytes
    file_name: str
    file_sha256: bytes
    sample_id: str
    barcode: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A released report as other systems receive it: sealed content, tube and order."""

    id: str
    version: int
    content_enc: bytes
    patient_id: str
    barcode: str
    collected_at: datetime
    placer_number: str | None
    tests: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Tube:
    """The tube of a report just recorded as rendered."""

    barcode: str
    state: str
    centre_id: str
    patient_id: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice being sent."""

    id: int
    report_id: str
    patient_id: str
    purpose: str
    channel: str


# --- reports ---


async def preparing(conn: asyncpg.Connection, sample_id: str) -> bool:
    """A report of this tube was approved and is not rendered yet."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM reports WHERE sample_id = $1 AND rendered_at IS NULL)", sample_id
    )
    return found


async def last_issued_at(conn: asyncpg.Connection, sample_id: str) -> datetime | None:
    at: datetime | None = await conn.fetchval("SELECT max(issued_at) FROM reports WHERE sample_id = $1", sample_id)
    return at


async def next_version(conn: asyncpg.Connection, sample_id: str) -> int:
    last = await conn.fetchval("SELECT coalesce(max(version), 0) FROM reports WHERE sample_id = $1", sample_id)
    return 1 + int(last)


async def insert(
    conn: asyncpg.Connection,
    *,
    report_id: str,
    sample_id: str,
    version: int,
    content_enc: bytes | None,
    content_hash: bytes,
    signature: bytes,
    public_key: bytes,
    signer_id: str,
    issued_at: datetime,
    verify_url: str,
) -> None:
    await conn.execute(
        """INSERT INTO reports (id, sample_id, version, content_enc, content_hash, signature, public_key,
                                signer_id, issued_at, verify_url)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        report_id,
        sample_id,
        version,
        content_enc,
        content_hash,
        signature,
        public_key,
        signer_id,
        issued_at,
        verify_url,
    )


async def signed(conn: asyncpg.Connection, report_id: str) -> Signed | None:
    r = await conn.fetchrow(
        """SELECT id::text, sample_id::text, version, content_enc, content_hash, signature, public_key, issued_at,
                  verify_url, rendered_at, backfilled
           FROM reports WHERE id = $1""",
        report_id,
    )
    if r is None:
        return None
    return Signed(r["id"], r["sample_id"], r["version"], r["content_enc"], bytes(r["content_hash"]),
                  bytes(r["signature"]), bytes(r["public_key"]), r["issued_at"], r["verify_url"], r["rendered_at"],
                  r["backfilled"])  # fmt: skip


async def is_rendered(conn: asyncpg.Connection, report_id: str) -> bool:
    done = await conn.fetchval("SELECT rendered_at IS NOT NULL FROM reports WHERE id = $1", report_id)
    return bool(done)


async def record_file(
    conn: asyncpg.Connection, report_id: str, file_name: str, file_sha256: bytes, verify_url: str
) -> Tube | None:
    """Record the rendered file, only if no run recorded one first; returns the report's tube, or None if a
    concurrent run won."""
    row = await conn.fetchrow(
        f"""UPDATE reports SET rendered_at = now(), file_name = $2, file_sha256 = $3, verify_url = $4
            WHERE id = $1 AND rendered_at IS NULL
            RETURNING (SELECT row(s.barcode, s.state, s.centre_id, s.patient_id::text)
                       FROM {_SAMPLES} s WHERE s.id = reports.sample_id) AS s""",
        report_id,
        file_name,
        file_sha256,
        verify_url,
    )
    return Tube(*row["s"]) if row else None


async def for_download(conn: asyncpg.Connection, report_id: str) -> ReportFile | None:
    r = await conn.fetchrow(
        f"""SELECT r.id::text, r.version, r.file_name, r.file_sha256, r.rendered_at, s.barcode, s.patient_id::text
            FROM reports r JOIN {_SAMPLES} s ON s.id = r.sample_id WHERE r.id = $1""",
        report_id,
    )
    if r is None:
        return None
    return ReportFile(r["id"], r["version"], r["file_name"], r["file_sha256"], r["rendered_at"], r["barcode"],
                      r["patient_id"])  # fmt: skip


async def released_for_patient(conn: asyncpg.Connection, patient_id: str) -> list[Released]:
    """Every rendered report version of the patient's tubes, oldest first."""
    rows = await conn.fetch(
        f"""SELECT r.id::text, r.version, r.issued_at, r.verify_url, r.content_enc, r.file_name, r.file_sha256,
                   s.id::text AS sample_id, s.barcode
            FROM reports r JOIN {_SAMPLES} s ON s.id = r.sample_id
            WHERE s.patient_id = $1 AND r.rendered_at IS NOT NULL ORDER BY r.issued_at""",
        patient_id,
    )
    return [Released(r["id"], r["version"], r["issued_at"], r["verify_url"], r["content_enc"], r["file_name"],
                     r["file_sha256"], r["sample_id"], r["barcode"]) for r in rows]  # fmt: skip


async def outgoing(conn: asyncpg.Connection, report_id: str) -> Outgoing | None:
    """The report with its tube and order, and the order's tests still ordered, in one round trip."""
    r = await conn.fetchrow(
        f"""SELECT r.id::text, r.version, r.content_enc, s.patient_id::text, s.barcode, s.collected_at,
                   o.placer_number, array(SELECT ot.test_code FROM ({orders_store.order_tests_sql()}) ot
                                         WHERE ot.order_id = o.id AND ot.status = 'ordered' ORDER BY 1) AS tests
            FROM reports r JOIN {_SAMPLES} s ON s.id = r.sample_id
            JOIN ({orders_store.orders_sql()}) o ON o.id = s.order_id WHERE r.id = $1""",
        report_id,
    )
    if r is None:
        return None
    return Outgoing(r["id"], r["version"], r["content_enc"], r["patient_id"], r["barcode"], r["collected_at"],
                    r["placer_number"], tuple(r["tests"]))  # fmt: skip


async def barcode(conn: asyncpg.Connection, report_id: str) -> str | None:
    """The barcode of the report's tube; None if the report (or its tube) is not on record."""
    found: str | None = await conn.fetchval(
        f"SELECT s.barcode FROM reports r JOIN {_SAMPLES} s ON s.id = r.sample_id WHERE r.id = $1", report_id
    )
    return found


def rendered_sql() -> str:
    """A subquery of rendered report versions (``id``, ``sample_id``, ``version``), for a patient's timeline."""
    return "SELECT id, sample_id, version FROM reports WHERE rendered_at IS NOT NULL"


def issued_sql() -> str:
    """A subquery of the tubes that have a report (``sample_id``), rendered or not."""
    return "SELECT sample_id FROM reports"


async def unrendered(conn: asyncpg.Connection, older_than_seconds: int, waits: Callable[[str], str]) -> list[str]:
    """Reports approved more than ``older_than_seconds`` ago and never rendered, except those for which
    ``waits(id_sql)`` (an SQL condition on the report's id as text) holds."""
    rows = await conn.fetch(
        f"""SELECT id::text FROM reports r WHERE rendered_at IS NULL
            AND issued_at < now() - make_interval(secs => $1) AND NOT ({waits("r.id::text")})
            ORDER BY issued_at LIMIT 1000""",
        older_than_seconds,
    )
    return [r["id"] for r in rows]


async def file_names(conn: asyncpg.Connection) -> list[str]:
    """Every report file on record, oldest first."""
    rows = await conn.fetch("SELECT file_name FROM reports WHERE file_name IS NOT NULL ORDER BY issued_at")
    return [r["file_name"] for r in rows]


# --- deliveries (notices) ---


async def queue_notices(conn: asyncpg.Connection, report_id: str, patient_id: str, purpose: str) -> list[int]:
    """One notice per channel the patient chose (once per report and channel); returns the new notices' ids."""
    rows = await conn.fetch(
        f"""INSERT INTO deliveries (report_id, patient_id, purpose, channel)
            SELECT $1, c.id, $3, c.channel FROM ({patients_store.channels_sql("$2")}) c
            ON CONFLICT (report_id, channel) DO NOTHING RETURNING id""",
        report_id,
        patient_id,
        purpose,
    )
    return [r["id"] for r in rows]


async def start_sending(conn: asyncpg.Connection, delivery_id: int) -> Notice | None:
    """Move a pending notice to 'sending' (one more attempt); None if it is not pending."""
    r = await conn.fetchrow(
        """UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = now()
           WHERE id = $1 AND status = 'pending'
           RETURNING id, report_id::text, patient_id::text, purpose, channel""",
        delivery_id,
    )
    return Notice(r["id"], r["report_id"], r["patient_id"], r["purpose"], r["channel"]) if r else None


async def back_to_pending(conn: asyncpg.Connection, delivery_id: int, error: str) -> None:
    await conn.execute(
        "UPDATE deliveries SET status = 'pending', last_error = $2, updated_at = now() WHERE id = $1",
        delivery_id,
        error,
    )


async def finish(conn: asyncpg.Connection, delivery_id: int, status: str, error: str | None) -> None:
    await conn.execute(
        """UPDATE deliveries SET status = $2, last_error = $3, updated_at = now(),
                  sent_at = CASE WHEN $2 = 'sent' THEN now() END
           WHERE id = $1""",
        delivery_id,
        status,
        error,
    )


async def notice_status(conn: asyncpg.Connection, delivery_id: int, grace_seconds: int) -> tuple[str, bool] | None:
    """The notice's status and whether it was last touched more than ``grace_seconds`` ago."""
    r = await conn.fetchrow(
        "SELECT status, updated_at < now() - make_interval(secs => $2) AS stale FROM deliveries WHERE id = $1",
        delivery_id,
        grace_seconds,
    )
    return (r["status"], bool(r["stale"])) if r else None


async def mark_uncertain(conn: asyncpg.Connection, delivery_id: int) -> None:
    await conn.execute(
        "UPDATE deliveries SET status = 'uncertain', updated_at = now() WHERE id = $1 AND status = 'sending'",
        delivery_id,
    )


async def retry_failed(conn: asyncpg.Connection, delivery_id: int) -> None:
    """A notice given up on goes back to pending, for its requeued job to try again from the start."""
    await conn.execute(
        "UPDATE deliveries SET status = 'pending', updated_at = now() WHERE id = $1 AND status = 'failed'", delivery_id
    )


async def overdue_notices(conn: asyncpg.Connection, older_than_seconds: int, waits: Callable[[str], str]) -> list[int]:
    """Notices pending or being sent for longer than ``older_than_seconds``, except those for which
    ``waits(id_sql)`` (an SQL condition on the notice's id as text) holds."""
    rows = await conn.fetch(
        f"""SELECT id FROM deliveries n WHERE status IN ('pending', 'sending')
            AND updated_at < now() - make_interval(secs => $1) AND NOT ({waits("n.id::text")})
            ORDER BY id LIMIT 1000""",
        older_than_seconds,
    )
    return [r["id"] for r in rows]


def orders_of_reports_sql() -> str:
    """A subquery of each report's order (``report_id``, ``order_id``), for the statement that says where a released
    report goes, while only this module names the table."""
    return f"SELECT r.id AS report_id, s.order_id FROM reports r JOIN {_SAMPLES} s ON s.id = r.sample_id"


async def preparing_barcodes(conn: asyncpg.Connection, barcodes: list[str]) -> set[str]:
    """Which of these tubes have a report approved and not rendered yet."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT s.barcode FROM reports r JOIN {_SAMPLES} s ON s.id = r.sample_id
            WHERE s.barcode = ANY($1::text[]) AND r.rendered_at IS NULL""",
        barcodes,
    )
    return {r["barcode"] for r in rows}


async def notices_by_channel(conn: asyncpg.Connection, since: datetime) -> dict[tuple[str, str], int]:
    """Report notices since ``since``, counted by (channel, status)."""
    rows = await conn.fetch(
        "SELECT channel, status, count(*) AS n FROM deliveries WHERE created_at >= $1 GROUP BY 1, 2", since
    )
    return {(r["channel"], r["status"]): r["n"] for r in rows}


@dataclass(frozen=True, slots=True)
class Uncertain:
    """A notice whose provider never said whether it arrived: staff decide (no PHI: ids, channel, error)."""

    id: int
    channel: str
    report_id: str
    updated_at: datetime
    last_error: str | None


async def uncertain_notices(conn: asyncpg.Connection, limit: int = 200) -> list[Uncertain]:
    rows = await conn.fetch(
        """SELECT id, channel, report_id::text, updated_at, last_error FROM deliveries WHERE status = 'uncertain'
           ORDER BY updated_at LIMIT $1""",
        limit,
    )
    return [Uncertain(**dict(r)) for r in rows]


async def reports_of_deliveries(conn: asyncpg.Connection, delivery_ids: list[int]) -> set[str]:
    """The reports these notices are about (a dead letter names its delivery; the drill matches it to a report)."""
    rows = await conn.fetch("SELECT report_id::text FROM deliveries WHERE id = ANY($1::bigint[])", delivery_ids)
    return {r["report_id"] for r in rows}


async def settle_uncertain(conn: asyncpg.Connection, delivery_id: int, *, arrived: bool) -> bool:
    """An uncertain notice, as staff found out: it arrived ('sent'), or it did not (back to 'pending' for its job)."""
    done: str = await conn.execute(
        """UPDATE deliveries SET status = CASE WHEN $2 THEN 'sent' ELSE 'pending' END,
                  sent_at = CASE WHEN $2 THEN now() END, updated_at = now()
           WHERE id = $1 AND status = 'uncertain'""",
        delivery_id,
        arrived,
    )
    return done.endswith(" 1")
