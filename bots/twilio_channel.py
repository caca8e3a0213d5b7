"""WhatsApp and SMS through Twilio: the inbound webhook (``POST /bots/twilio``) and delivery callbacks
(``POST /bots/twilio/status``).

Every request's ``X-Twilio-Signature`` is checked with the twilio library's ``RequestValidator`` against the exact
public URL Twilio called (``LABPULSE_PUBLIC_URL`` + path + query, since behind a proxy the request's own URL is not
it). Unsigned or forged requests get 403 and change nothing. ``From`` tells the channel (``whatsapp:+91…`` or
``+91…``). A webhook Twilio retries (same ``MessageSid``) is processed once and answered with the same TwiML:
the first delivery claims the id in Redis, and a retry arriving meanwhile waits for that answer. Replies go back as
TwiML (``MessagingResponse``). Message text is never logged, and numbers only masked.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bots import texts
from bots.engine import Engine
from bots.turn import Inbound
from bots.twilio_sender import window_key
from core import chat_links, once
from core.errors import InvalidInput
from core.identity import RequestMeta
from core.inputs import clean, valid_ip
from core.notify import mask_phone
from core.phones import normalize_phone

log = logging.getLogger("labpulse.bots.twilio")
MAX_BODY = 64 * 1024
REPLAY_SECONDS = 24 * 3600
WINDOW_SECONDS = 24 * 3600
_EMPTY = str(MessagingResponse())


def public_url(request: Request) -> str:
    base = request.state.settings.public_url or f"{request.url.scheme}://{request.url.netloc}"
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base.rstrip('/')}{request.url.path}{query}"


async def _signed_form(request: Request) -> dict[str, str] | Response:
    token = request.state.settings.twilio_auth_token
    if token is None:
        return PlainTextResponse("WhatsApp and SMS are not set up on this server.", status_code=503)
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return PlainTextResponse("Request too large.", status_code=413)
    form = await request.form(max_files=0, max_fields=100, max_part_size=16 * 1024)
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    signature = request.headers.get("x-twilio-signature", "")
    if not signature or not RequestValidator(token.reveal()).validate(public_url(request), params, signature):
        log.warning("twilio webhook refused: bad or missing signature")
        return PlainTextResponse("Forbidden: the request signature does not match.", status_code=403)
    return params


def _twiml(texts: list[str]) -> str:
    reply = MessagingResponse()
    for text in texts:
        reply.message(text)
    return str(reply)


async def inbound(request: Request) -> Response:
    params = await _signed_form(request)
    if isinstance(params, Response):
        return params
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    sender = params.get("From", "")
    channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
    try:
        phone = normalize_phone(sender.removeprefix("whatsapp:"), request.state.settings.phone_region)
    except InvalidInput:
        return Response(_EMPTY, media_type="application/xml")  # a short code or alphanumeric sender: nothing to say
    redis, prefix, pool = request.state.redis, request.state.settings.redis_prefix, request.state.pool
    key = f"{prefix}:bot:twilio:{sid}"
    # Once per MessageSid, durably (PostgreSQL); Redis only keeps the first answer for a retry to get it again.
    engine = request.state.bot_engine
    if sid and not await once.claim(pool, "twilio", sid, ttl=timedelta(seconds=REPLAY_SECONDS), settled=False):
        return Response(await _replayed(pool, redis, key, sid, engine, phone), media_type="application/xml")
    if sid:
        await redis.set(key, b"", ex=REPLAY_SECONDS)  # "being answered": a retry meanwhile waits for the answer
    try:
        texts = await engine.handle(
            Inbound(channel, phone, clean(params.get("Body", ""))[:1600], phone), RequestMeta(source_ip=_ip(request))
        )
    except BaseException:
        if sid:  # let Twilio's retry try again (if PostgreSQL is away, the claim stays unsettled: see _replayed)
            await once.release(pool, "twilio", sid)
            await redis.delete(key)
        raise
    if sid:
        await once.settle(pool, "twilio", sid)
    xml = _twiml(texts)
    try:
        async with redis.pipeline(transaction=False) as pipe:  # one round trip for both writes
            if channel == "whatsapp":  # their message opens WhatsApp's 24-hour window for free-form replies
                pipe.set(window_key(prefix, engine.lookup(phone)), b"1", ex=WINDOW_SECONDS)
            if sid:
                pipe.set(key, xml.encode(), ex=REPLAY_SECONDS)
            await pipe.execute()
    except RedisError:  # the message was handled: its answer still goes back on this request
        log.warning("twilio answer not kept for a retry: Redis is away")
    log.info("twilio %s message from %s answered with %d message(s)", channel, mask_phone(phone), len(texts))
    return Response(xml, media_type="application/xml")


async def _replayed(pool: Any, redis: Any, key: str, sid: str, engine: Engine, phone: str) -> str:
    """The first delivery's answer; if it is still being worked out, wait for it (Twilio allows 15 s). If Redis no
    longer has it but the claim is settled, the message was handled all the same: an empty answer, and nothing
    happens twice. If the claim never settled, the first delivery did not finish (its process died, or PostgreSQL
    went away before the claim could be let go): the sender is asked to send the message again, rather than left
    without an answer or the message run a second time."""
    for tick in range(100):
        stored = await redis.get(key)
        if stored:
            return str(stored.decode())
        if tick % 10 == 0 and await once.settled(pool, "twilio", sid):
            return _EMPTY
        await asyncio.sleep(0.1)
    return _twiml([texts.t(await engine.language(phone), "send_again")])


def _ip(request: Request) -> str | None:
    return valid_ip(request.client.host if request.client else None)


async def status_callback(request: Request) -> Response:
    params = await _signed_form(request)
    if isinstance(params, Response):
        return params
    sid, status = params.get("MessageSid", "")[:64], params.get("MessageStatus", "")[:32]
    if sid and status:
        async with request.state.pool.acquire() as conn:
            await chat_links.record_status(conn, "twilio", sid, status, params.get("ErrorCode") or None)
    return Response(status_code=204)


def routes() -> list[Route]:
    return [
        Route("/bots/twilio", inbound, methods=["POST"], name="bots.twilio"),
        Route("/bots/twilio/status", status_callback, methods=["POST"], name="bots.twilio.status"),
    ]
