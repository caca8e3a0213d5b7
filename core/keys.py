"""Field-key rotation: re-encrypt every encrypted column under the active key, in batches, while serving.

Rotation is three steps (docs/architecture.md, "PHI at rest"): add the new key to LABPULSE_FIELD_KEYS and make it
active (new writes use it from the next restart of each process), run ``labpulse keys rotate`` (this module) to
move the old rows, and remove the old key once ``keys status`` shows no row left on it.

Each batch is one transaction that locks its rows (``FOR UPDATE SKIP LOCKED``), decrypts every encrypted column
with whichever key wrote it and writes them back under the active key, row by row in one UPDATE each. A crash
rolls back only the batch in flight; running again carries on, because the work left is simply "rows with a
column under another key", found afresh each time. No row is ever half-rotated or unreadable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from core.crypto import FieldCipher
from core.reports import store as reports_store
from core.storage import FileStore
from core.vault import Vault

# Every encrypted column, by table: (vault column name, stored column). A table that gains one is listed here.
ENCRYPTED: dict[str, tuple[tuple[str, str], ...]] = {
    "patients": (("name", "name_enc"), ("phone", "phone_enc"), ("dob", "dob_enc"), ("address", "address_enc")),
    "staff": (("totp_secret", "totp_secret_enc"), ("phone", "phone_enc")),
    "hl7_messages": (("raw", "raw_enc"),),
    "escalation_chain": (("phone", "phone_enc"),),
    "reports": (("content", "content_enc"),),
    "bookings": (("address", "address_enc"), ("phone", "phone_enc")),
    "telegram_links": (("phone", "phone_enc"),),
    "triage_assessments": (("text", "text_enc"),),
}
# The column whose value binds a ciphertext to its row (the vault's context); "id" unless listed here.
ROW_KEY = {"escalation_chain": "position", "telegram_links": "chat_id"}


def _kid(column: str) -> str:
    # The envelope is: version byte, key-id length, key id (core/crypto.py).
    return f"convert_from(substring({column} from 3 for get_byte({column}, 1)), 'SQL_ASCII')"


def _stale(table: str) -> str:
    return " OR ".join(f"({c} IS NOT NULL AND {_kid(c)} <> $1)" for _, c in ENCRYPTED[table])


@dataclass(frozen=True, slots=True)
class Progress:
    table: str
    done: int  # rows moved by this run so far, in this table
    left: int  # rows still on another key, in this table


async def status(conn: asyncpg.Connection) -> dict[str, dict[str, int]]:
    """Per table, how many values sit under each key id."""
    out: dict[str, dict[str, int]] = {}
    for table, cols in ENCRYPTED.items():
        counts: dict[str, int] = {}
        for _, col in cols:
            for r in await conn.fetch(
                f"SELECT {_kid(col)} AS kid, count(*) AS n FROM {table} WHERE {col} IS NOT NULL GROUP BY 1"
            ):
                counts[r["kid"]] = counts.get(r["kid"], 0) + r["n"]
        out[table] = counts
    return out


async def rotate(
    conn: asyncpg.Connection,
    vault: Vault,
    *,
    batch_size: int = 500,
    progress: Callable[[Progress], None] | None = None,
) -> int:
    """Re-encrypt every value not under the active key. Returns how many rows were rewritten."""
    active = vault.cipher.active_key_id
    total = 0
    for table, cols in ENCRYPTED.items():
        key = ROW_KEY.get(table, "id")
        done = 0
        stored = ", ".join(c for _, c in cols)
        sets = ", ".join(f"{c} = ${i + 2}" for i, (_, c) in enumerate(cols))
        while True:
            async with conn.transaction():
                rows = await conn.fetch(
                    f"""SELECT {key}::text AS id, {stored} FROM {table} WHERE {_stale(table)}
                        ORDER BY {key} LIMIT {int(batch_size)} FOR UPDATE SKIP LOCKED""",
                    active,
                )
                for row in rows:
                    values = [
                        vault.seal(table, name, row["id"], vault.open(table, name, row["id"], row[col]))
                        for name, col in cols
                    ]
                    await conn.execute(f"UPDATE {table} SET {sets} WHERE {key}::text = $1", row["id"], *values)
            done += len(rows)
            if progress is not None:
                left = await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {_stale(table)}", active)
                progress(Progress(table, done, left))
            if len(rows) < batch_size:
                break
        total += done
    return total


async def file_status(conn: asyncpg.Connection, store: FileStore) -> dict[str, int]:
    """Report files by the key id that encrypted them ('missing' for a file on record that is not there)."""
    counts: dict[str, int] = {}
    for name in await reports_store.file_names(conn):
        blob = await store.get(name)
        kid = FieldCipher.key_id_of(blob) if blob else "missing"
        counts[kid] = counts.get(kid, 0) + 1
    return counts


async def rotate_files(conn: asyncpg.Connection, vault: Vault, store: FileStore) -> int:
    """Re-encrypt every report file not under the active key, in place (an atomic replace: a reader sees the old
    file or the new one, both the same PDF). Resumable like the rows: what is left is found afresh each run."""
    moved = 0
    for name in await reports_store.file_names(conn):
        blob = await store.get(name)
        if blob is None or FieldCipher.key_id_of(blob) == vault.cipher.active_key_id:
            continue
        await store.put(name, vault.seal_file("report", name, vault.open_file("report", name, blob)))
        moved += 1
    return moved
