"""The processes around the fan-out server: socket clients that record every frame, and a Redis listener that
timestamps each event on the bus (to split latency into relay and server parts). Used by bench/fanout.py."""

from __future__ import annotations

import asyncio
import base64
import functools
import gc
import hashlib
import json
import multiprocessing as mp
import os
import random
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from common import raise_nofile

from core.patients.sessions import PATIENT_COOKIE

ATTEMPTS = 10  # handshakes per socket before it counts as failed


class _Frames(asyncio.Protocol):
    """One status socket on a bare asyncio transport: the RFC 6455 client handshake and unmasked server frames,
    with none of a general client's machinery (the websockets client spent 0.75 ms of CPU an open, as much as
    PostgreSQL, on the same two cores as the server it measures). Answers pings; text frames go to `on_text`."""

    def __init__(self, request: bytes, accept: bytes, on_text: Any) -> None:
        self.request, self.accept, self.on_text = request, accept, on_text
        self.buf = bytearray()
        self.upgraded = False
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.upgraded and not self._handshake():
            return
        self._frames()

    def _handshake(self) -> bool:
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        head = bytes(self.buf[:head_end])
        del self.buf[: head_end + 4]
        status = head.split(b" ", 2)[1].decode() if head.count(b" ") >= 2 else "?"
        if status != "101" or self.accept not in head:
            self.end(f"HTTP {status}" if status != "101" else "bad accept")
            return False
        self.upgraded = True
        return True

    def _frames(self) -> None:
        buf = self.buf
        while len(buf) >= 2:
            opcode, length, at = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, at = int.from_bytes(buf[2:4]), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, at = int.from_bytes(buf[2:10]), 10
            if len(buf) < at + length:
                return
            payload = bytes(buf[at : at + length])
            del buf[: at + length]
            if opcode == 0x1:
                self.on_text(payload)
            elif opcode == 0x9:  # ping → pong, masked as a client must
                self._send(0xA, payload)
            elif opcode == 0x8:
                self.end(f"closed {int.from_bytes(payload[:2]) if len(payload) >= 2 else 1005}")

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.transport is not None and len(payload) < 126
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def end(self, why: str) -> None:
        if not self.ended.done():
            self.ended.set_result(why)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.end("closed without a close frame")


def _handshake(host: str, port: int, path: str, origin: str, token: str) -> tuple[bytes, bytes]:
    key = base64.b64encode(os.urandom(16))
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())  # noqa: S324
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n"
        f"Cookie: {PATIENT_COOKIE}={token}\r\n\r\n"
    ).encode()
    return request, accept


def client(
    idx: int,
    url: str,
    origin: str,
    creds: list[tuple[str, str]],
    connect_concurrency: int,
    ctl: mp.Queue,  # type: ignore[type-arg]
    stop: mp.Event,  # type: ignore[type-arg]
    received: Any,  # mp.Value('q'): events received so far, read by the driver to know when all arrived
) -> None:
    """One load-generator process holding len(creds) sockets; reports what each one received."""
    raise_nofile()
    where = urlsplit(url)
    host, port = where.hostname or "127.0.0.1", where.port or 80

    async def main() -> None:
        loop = asyncio.get_running_loop()
        records: list[tuple[str, int, int, float, str]] = []  # sample_id, version, seq, received at, frame "at"
        dupes = gaps = replays = closed = 0
        close_codes: Counter[str] = Counter()
        failures: Counter[str] = Counter()
        retries: Counter[str] = Counter()
        sem = asyncio.Semaphore(connect_concurrency)
        stopping = False

        class Reader:
            """What one socket has seen: its first frame (the snapshot), then every event in order."""

            def __init__(self) -> None:
                self.first: asyncio.Future[dict[str, Any]] = loop.create_future()
                self.last_seq = 0
                self.seen: set[str] = set()

            def __call__(self, raw: bytes) -> None:
                nonlocal dupes, gaps, replays
                now = time.time()
                msg = json.loads(raw)
                if not self.first.done():
                    self.last_seq = int(msg.get("last_event_id") or 0)
                    self.first.set_result(msg)
                    return
                if msg.get("type") != "event":
                    return
                if msg["event_id"] in self.seen or msg["last_event_id"] <= self.last_seq:
                    dupes += 1
                    return
                self.seen.add(msg["event_id"])
                if msg["last_event_id"] != self.last_seq + 1:
                    gaps += 1
                if msg["replay"]:
                    replays += 1
                self.last_seq = msg["last_event_id"]
                data = msg["data"]
                records.append((data["sample_id"], data["version"], self.last_seq, now, msg["at"]))
                received.value += 1

        def on_end(ended: asyncio.Future[str]) -> None:
            nonlocal closed
            if not stopping:  # the server closed it
                closed += 1
                close_codes[ended.result().removeprefix("closed ")] += 1

        async def open_one(patient_id: str, token: str) -> bool:
            """Open one socket and read its snapshot; on failure, reconnect as a browser would (with backoff)."""
            for attempt in range(ATTEMPTS):
                proto: _Frames | None = None
                try:
                    async with sem:
                        reader = Reader()
                        request, accept = _handshake(host, port, where.path, origin, token)
                        _, proto = await loop.create_connection(
                            functools.partial(_Frames, request, accept, reader), host, port
                        )
                        first = await first_frame(proto, reader)
                    if first.get("type") != "snapshot" or first.get("patient_id") != patient_id:
                        failures[f"first frame {first.get('type')}:{first.get('code')}"] += 1
                        proto.end("refused")
                        return False
                    proto.ended.add_done_callback(on_end)
                    return True
                except Exception as exc:  # noqa: BLE001 — counted and retried, as a client would
                    why = str(exc) if isinstance(exc, ConnectionError) and str(exc) else type(exc).__name__
                    if proto is not None:
                        proto.end(why)
                    if attempt == ATTEMPTS - 1:
                        failures[why] += 1
                        return False
                    retries[why] += 1
                    await asyncio.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + random.random()))
            return False

        async def first_frame(proto: _Frames, reader: Reader) -> dict[str, Any]:
            """The socket's first frame; a socket that ends before it raises with the reason."""
            done, _ = await asyncio.wait({proto.ended, reader.first}, timeout=120, return_when=asyncio.FIRST_COMPLETED)
            if reader.first in done:
                return reader.first.result()
            raise ConnectionError(proto.ended.result() if proto.ended.done() else "no first frame in 120 s")

        t0 = time.time()
        ok = sum(await asyncio.gather(*(open_one(p, t) for p, t in creds)))
        t1 = time.time()
        gc.collect()
        gc.freeze()
        gc.disable()
        ctl.put(("connected", idx, ok, dict(failures), dict(retries), t0, t1))
        await asyncio.to_thread(stop.wait)
        stopping = True
        ctl.put(("done", idx, records, dupes, gaps, replays, closed, dict(close_codes)))
        ctl.close()
        ctl.join_thread()
        os._exit(0)  # the kernel closes the sockets; a polite close of thousands is not what is measured

    asyncio.run(main())


def bus_listener(redis_url: str, channel: str, ready: Any, stop: Any, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """Timestamps each event as it reaches Redis, to split the latency into relay (commit → Redis) and server
    (Redis → socket) parts."""

    async def main() -> None:
        redis = aioredis.from_url(redis_url)
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)
        ready.set()
        seen: dict[tuple[str, int], float] = {}
        while not stop.is_set():
            msg = await pubsub.get_message(timeout=0.1)
            if msg is None:
                continue
            now = time.time()
            payload = json.loads(msg["data"])["payload"]
            seen.setdefault((payload["sample_id"], payload["version"]), now)
        out.put(seen)
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()

    asyncio.run(main())
