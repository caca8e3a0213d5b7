"""The only SQL for ``telegram_links`` (a Telegram chat linked to a phone number, which the person shared from
that chat) and ``provider_statuses`` (delivery reports from messaging providers)."""

from __future__ import annotations

import asyncpg

from core.vault import Vault


async def link(conn: asyncpg.Connection, vault: Vault, chat_id: int, phone: str) -> None:
    await conn.execute(
        """INSERT INTO telegram_links (chat_id, phone_lookup, phone_enc) VALUES ($1, $2, $3)
           ON CONFLICT (chat_id) DO UPDATE SET phone_lookup = $2, phone_enc = $3, linked_at = now()""",
        chat_id,
        vault.lookup.digest("phone", phone).hex(),
        vault.seal("telegram_links", "phone", str(chat_id), phone),
    )


async def linked_phone(conn: asyncpg.Connection, vault: Vault, chat_id: int) -> str | None:
    row = await conn.fetchrow("SELECT phone_enc FROM telegram_links WHERE chat_id = $1", chat_id)
    return vault.open("telegram_links", "phone", str(chat_id), row["phone_enc"]) if row else None


async def chat_for(conn: asyncpg.Connection, vault: Vault, phone: str) -> int | None:
    """The chat this phone number was most recently linked from, if any."""
    chat: int | None = await conn.fetchval(
        "SELECT chat_id FROM telegram_links WHERE phone_lookup = $1 ORDER BY linked_at DESC LIMIT 1",
        vault.lookup.digest("phone", phone).hex(),
    )
    return chat


async def record_status(
    conn: asyncpg.Connection, provider: str, message_id: str, status: str, error: str | None
) -> None:
    await conn.execute(
        """INSERT INTO provider_statuses (provider, message_id, status, error_code)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
        provider,
        message_id,
        status,
        error,
    )
