"""Telegram through python-telegram-bot in webhook mode inside the Starlette app (``POST /bots/telegram``).

The application is built with ``updater(None)``: Telegram posts updates to us, and we hand each one to PTB
(``process_update``), whose handlers call the same conversation engine as WhatsApp and SMS. Every request must
carry ``X-Telegram-Bot-Api-Secret-Token`` equal to ``TELEGRAM_WEBHOOK_SECRET`` (compared in constant time), or
it gets 403 and changes nothing. An update Telegram delivers again (same ``update_id``) is processed once; if its
first delivery never finished (its process died), the person is asked to send their message again.

A Telegram chat is not a phone number. Until its owner shares their contact (a button; Telegram vouches for a
contact whose user id is the sender's own), the chat is asked to do so and nothing else happens; once linked, it
reaches the same person, consent and patients as that phone, and STOP here is STOP everywhere.
``labpulse telegram set-webhook`` registers the URL and the secret with Telegram.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from datetime import timedelta
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bots import telegram_sender, texts
from bots.engine import Engine
from bots.turn import Inbound
from core import chat_links, once
from core.errors import InvalidInput
from core.i18n import LANGS
from core.identity import RequestMeta
from core.inputs import clean, json_problem
from core.phones import normalize_phone
from core.vault import Vault

log = logging.getLogger("labpulse.bots.telegram")
MAX_BODY = 256 * 1024


App = Application[Any, Any, Any, Any, Any, Any]


def _language(code: str | None) -> str:
    """The language of a Telegram user's app ("hi", "mr-IN"), when we speak it, else English."""
    lang = (code or "").split("-")[0].lower()
    return lang if lang in LANGS else "en"


class TelegramChannel:
    def __init__(self, application: App, engine: Engine | None, pool: asyncpg.Pool, vault: Vault,
                 region: str) -> None:  # fmt: skip
        self.application = application
        self._engine = engine
        self._pool = pool
        self._vault = vault
        self._region = region
        self._ready = False
        # Private chats only: in a group, one member's shared number would open their records to everyone there.
        application.add_handler(MessageHandler(filters.ChatType.PRIVATE, self._on_message))
        application.add_error_handler(self._on_error)
        self.failed: set[int] = set()  # update ids whose handler raised: the webhook answers 500 so Telegram retries

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Only the error's type: the update holds the person's message and number.
        log.error("telegram update failed: %s", type(context.error).__name__)
        if isinstance(update, Update):
            self.failed.add(update.update_id)

    async def ensure_ready(self) -> None:
        if not self._ready:
            await self.application.initialize()
            self._ready = True

    async def close(self) -> None:
        if self._ready:
            await self.application.shutdown()

    async def _linked_phone(self, chat_id: int) -> str | None:
        async with self._pool.acquire() as conn:
            return await chat_links.linked_phone(conn, self._vault, chat_id)

    async def chat_for(self, phone: str) -> int | None:
        return await telegram_sender.chat_for(self._pool, self._vault, phone)

    async def _link(self, chat_id: int, phone: str) -> None:
        async with self._pool.acquire() as conn:
            await chat_links.link(conn, self._vault, chat_id, phone)

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, sender = update.effective_message, update.effective_user
        if message is None or sender is None or self._engine is None or message.chat_id != sender.id:
            return
        chat_id = message.chat_id
        lang = _language(sender.language_code)
        if message.contact is not None:
            if message.contact.user_id != sender.id:
                await self._ask_for_number(chat_id, lang, texts.t(lang, "tg_not_yours"))
                return
            try:
                phone = normalize_phone(message.contact.phone_number, self._region)
            except InvalidInput:
                await self._ask_for_number(chat_id, lang, texts.t(lang, "tg_not_yours"))
                return
            await self._link(chat_id, phone)
            await self.application.bot.send_message(
                chat_id, texts.t(lang, "tg_linked"), reply_markup=ReplyKeyboardRemove()
            )
            replies = await self._engine.handle(Inbound("telegram", str(chat_id), "menu", phone))
        else:
            linked = await self._linked_phone(chat_id)
            if linked is None:
                await self._ask_for_number(chat_id, lang, texts.t(lang, "tg_share"))
                return
            said = clean(message.text or "")[:1600]
            replies = await self._engine.handle(Inbound("telegram", str(chat_id), said, linked), RequestMeta())
        for text in replies:
            await self.application.bot.send_message(chat_id, text)

    async def _ask_for_number(self, chat_id: int, lang: str, text: str) -> None:
        button = KeyboardButton(texts.t(lang, "tg_share_button"), request_contact=True)
        await self.application.bot.send_message(
            chat_id, text, reply_markup=ReplyKeyboardMarkup([[button]], one_time_keyboard=True, resize_keyboard=True)
        )


def build(settings: Any, engine: Engine | None, pool: asyncpg.Pool, vault: Vault) -> TelegramChannel | None:
    if settings.telegram_bot_token is None:
        return None
    builder = Application.builder().token(settings.telegram_bot_token.reveal()).updater(None)
    if settings.telegram_api_base:
        builder = builder.base_url(f"{settings.telegram_api_base.rstrip('/')}/bot")
    return TelegramChannel(builder.build(), engine, pool, vault, settings.phone_region)


async def webhook(request: Request) -> Response:
    channel: TelegramChannel | None = request.state.telegram
    secret = request.state.settings.telegram_webhook_secret
    if channel is None or secret is None:
        return PlainTextResponse("Telegram is not set up on this server.", status_code=503)
    given = request.headers.get("x-telegram-bot-api-secret-token", "")
    if not hmac.compare_digest(given.encode(), secret.reveal().encode()):
        log.warning("telegram webhook refused: bad or missing secret token")
        return PlainTextResponse("Forbidden: the secret token does not match.", status_code=403)
    body = await request.body()
    if len(body) > MAX_BODY:
        return PlainTextResponse("Request too large.", status_code=413)
    try:
        if json_problem(body) == "depth":
            raise ValueError("nested too deeply")
        data = json.loads(body)
        update_id = int(data["update_id"])
    except (ValueError, KeyError, TypeError):
        return PlainTextResponse("Not a Telegram update.", status_code=400)
    if not all(isinstance(part, dict) for key, part in data.items() if key != "update_id"):
        # A message that is a string or a list: no retry will make it readable. Say 200 so it is not sent again.
        log.warning("telegram update %d is not readable (a part of it is not an object); dropped", update_id)
        return Response(status_code=200)
    pool, key = request.state.pool, str(update_id)
    # Durably once per update_id; settled once handled, so a redelivery can tell "handled" from "never finished".
    if not await once.claim(pool, "telegram", key, ttl=timedelta(hours=24), settled=False):
        if not await _finished(pool, key):  # its process died, or PostgreSQL went away before the claim was let go
            await _ask_again(channel, data)
        return Response(status_code=200)  # delivered again: already handled (or the person asked to send again)
    await channel.ensure_ready()
    try:
        await channel.application.process_update(Update.de_json(data, channel.application.bot))
    except BaseException:
        await once.release(pool, "telegram", key)  # let Telegram's retry try again
        raise
    if update_id in channel.failed:  # PTB kept the handler's error to itself: ask Telegram to deliver it again
        channel.failed.discard(update_id)
        await once.release(pool, "telegram", key)
        return PlainTextResponse("The update could not be handled; please deliver it again.", status_code=500)
    await once.settle(pool, "telegram", key)
    return Response(status_code=200)


async def _finished(pool: Any, key: str) -> bool:
    """Whether the first delivery of this update was handled; while it may still be under way, wait (10 s)."""
    for _ in range(20):
        if await once.settled(pool, "telegram", key):
            return True
        await asyncio.sleep(0.5)
    return False


async def _ask_again(channel: TelegramChannel, data: dict[str, Any]) -> None:
    """Tell the person their message was not taken, rather than leave them without an answer or run it twice."""
    message = data.get("message") or {}
    chat = (message.get("chat") or {}).get("id")
    if not isinstance(chat, int) or (message.get("chat") or {}).get("type") != "private":
        return
    lang = _language(str((message.get("from") or {}).get("language_code") or ""))
    await channel.ensure_ready()
    await channel.application.bot.send_message(chat, texts.t(lang, "send_again"))


async def set_webhook(channel: TelegramChannel, url: str, secret: str) -> bool:
    await channel.ensure_ready()
    ok: bool = await channel.application.bot.set_webhook(url=url, secret_token=secret, allowed_updates=["message"])
    return ok


def routes() -> list[Route]:
    return [Route("/bots/telegram", webhook, methods=["POST"], name="bots.telegram")]
