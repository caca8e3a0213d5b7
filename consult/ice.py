"""ICE servers for a teleconsult, from configuration. TURN credentials follow coturn's REST scheme
(``use-auth-secret`` + ``static-auth-secret``): the username is "<expiry unix time>:<label>" and the password is
base64(HMAC-SHA1(secret, username)), so each join gets credentials that expire and no password is stored anywhere."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from aiortc import RTCIceServer

from core.config import Settings


def turn_credentials(secret: str, label: str, ttl_seconds: int, now: float | None = None) -> tuple[str, str]:
    username = f"{int((now if now is not None else time.time()) + ttl_seconds)}:{label}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def for_browser(settings: Settings, label: str) -> list[dict[str, object]]:
    """The RTCPeerConnection ``iceServers`` for a participant's page."""
    servers: list[dict[str, object]] = []
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls and settings.turn_secret is not None:
        user, password = turn_credentials(settings.turn_secret.reveal(), label, settings.turn_ttl_seconds)
        servers.append({"urls": list(settings.turn_urls), "username": user, "credential": password})
    return servers


def for_server(settings: Settings) -> list[RTCIceServer]:
    """The relay's own ICE servers (it usually has a public address; STUN tells it, TURN is the last resort)."""
    servers = [RTCIceServer(urls=list(settings.stun_urls))] if settings.stun_urls else []
    if settings.turn_urls and settings.turn_secret is not None:
        user, password = turn_credentials(settings.turn_secret.reveal(), "relay", 24 * 3600)
        servers.append(RTCIceServer(urls=list(settings.turn_urls), username=user, credential=password))
    return servers
