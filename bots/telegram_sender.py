"""Sending on Telegram (python-telegram-bot's ``Bot``): the ``Notifier`` for people who linked a chat, and the
lookup of their most recent chat. Kept apart from the webhook (``telegram_channel``) so that the worker, which only
sends, loads neither the web stack nor the conversation engine."""

from __future__ import annotations

import asyncpg
from telegram import Bot
from telegram.error import BadRequest, Forbidden

from core import chat_links
from core.config import Settings
from core.notify import Message, SendRefused
from core.vault import Vault


async def chat_for(pool: asyncpg.Pool, vault: Vault, phone: str) -> int | None:
    """The chat this phone number was most recently linked from, if any."""
    async with pool.acquire() as conn:
        return await chat_links.chat_for(conn, vault, phone)


def bot(settings: Settings) -> Bot | None:
    """The Bot API client, pointed at ``TELEGRAM_API_BASE`` when set (a self-hosted Bot API, the tests' stand-in)."""
    if settings.telegram_bot_token is None:
        return None
    base = (
        f"{settings.telegram_api_base.rstrip('/')}/bot"
        if settings.telegram_api_base
        else "https://api.telegram.org/bot"
    )
    return Bot(settings.telegram_bot_token.reveal(), base_url=base)


class TelegramNotifier:
    """A Notifier for people who linked a Telegram chat: the message goes to their most recent chat."""

    def __init__(self, client: Bot, pool: asyncpg.Pool, vault: Vault) -> None:
        self._bot, self._pool, self._vault = client, pool, vault
        self._ready = False

    async def send(self, phone: str, message: Message, *, media_url: str | None = None) -> None:
        chat = await chat_for(self._pool, self._vault, phone)
        if chat is None:
            raise SendRefused("no-linked-chat")  # nothing to retry until they link one
        if not self._ready:
            await self._bot.initialize()
            self._ready = True
        try:
            await self._bot.send_message(chat, message.text)
        except (Forbidden, BadRequest) as exc:  # blocked the bot, chat gone: permanent
            raise SendRefused(type(exc).__name__) from None

    async def close(self) -> None:
        if self._ready:
            await self._bot.shutdown()
